"""What every fake remote service of the tests shares: an HTTP server on 127.0.0.1 (a free
port), served from a daemon thread, started and stopped as a context manager.

A subclass says how requests are answered (``handler``: a request handler class bound to the
fake) and its thread's ``name``. ``stop`` also ends kept-alive connections, so a client's
pooled connection cannot outlive the fake it was talking to.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """Start with ``start()`` or ``with``; the address is ``url`` (``http://127.0.0.1:PORT``)."""

    name = "loopback"
    url = ""
    _server: _Server | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        self._server = _Server(("127.0.0.1", 0), self.handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """Keeps its open connections, so that stop() also ends the kept-alive ones."""

    daemon_threads = True

    def __init__(self, *args, **kwargs) -> None:
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
