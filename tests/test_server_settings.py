"""The server's production settings (.streamlit/config.toml), read and tried on a real server:
XSRF protection on, the host allow-list enforced on the WebSocket, error details hidden from
viewers, usage statistics off."""

from __future__ import annotations

import base64
import os
import socket
import tomllib

import pytest
from browser_support import Server
from conftest import REPO

CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())


def test_the_settings_are_the_production_ones():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["server"]["enableCORS"] is True
    assert CONFIG["server"]["allowedHosts"] and "*" not in CONFIG["server"]["allowedHosts"]
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["browser"]["gatherUsageStats"] is False
    assert CONFIG["server"]["maxCacheDataSize"]


def _upgrade(port: int, host: str) -> str:
    """The status line the server answers a WebSocket upgrade with, sent with ``host``."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{host}\r\n"
               "Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def _upload_without_token(port: int) -> str:
    body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.json\"\r\n\r\n{}\r\n--b--\r\n"
    request = (f"PUT /_stcore/upload_file/session/file HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


@pytest.mark.browser
def test_a_foreign_host_and_a_forged_upload_are_refused(tmp_path):
    server = Server(tmp_path / "store", tmp_path / "server.log")
    try:
        assert " 101 " in _upgrade(server.port, f"127.0.0.1:{server.port}")
        assert " 101 " not in _upgrade(server.port, "attacker.example.com")  # DNS rebinding
        assert _upload_without_token(server.port).split()[1] in ("403", "400")  # no XSRF token
    finally:
        server.stop()
