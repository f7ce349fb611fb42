"""A small OpenID Connect provider on 127.0.0.1 for the login tests.

It speaks the authorization-code flow as Streamlit's ``st.login`` (Authlib) uses it: a
discovery document, an authorize endpoint, a token endpoint that returns an ID token signed
RS256 with a key made at start, the key set, and userinfo. It has no login screen: the test
chooses the account the next authorization picks (``next_user``), or a ``login_hint`` in the
authorize request does. It checks what a real provider checks (client id and secret, the
redirect URI, a one-time code, PKCE S256 when the client sends a challenge) and echoes the
request's nonce into the ID token. It never talks to anything but its own clients.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from loopback import LoopbackServer

TOKEN_LIFETIME_SECONDS = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_b64url(number: int) -> str:
    return _b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


@dataclass
class Grant:
    """What an authorization code stands for, until the token endpoint redeems it."""

    client_id: str
    redirect_uri: str
    email: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class FakeIdentityProvider(LoopbackServer):
    """The provider; ``with FakeIdentityProvider(...) as idp:`` serves it on a free port."""

    client_id: str = "vsm-dashboard-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    next_user: str | None = None  # the account the next authorization picks (used once)
    url: str = ""
    issued: list[dict] = field(default_factory=list)  # the claims of every ID token issued
    authorizations: list[dict] = field(default_factory=list)  # the query of every authorize request

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = secrets.token_hex(8)
        self._codes: dict[str, Grant] = {}
        self._access_tokens: dict[str, dict] = {}
        self._lock = threading.Lock()

    # -- running -----------------------------------------------------------------------------
    name = "fake-idp"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(_Handler):
            idp = provider

        return Handler

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    # -- documents ---------------------------------------------------------------------------
    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict:
        public = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self._kid,
                          "n": _int_b64url(public.n), "e": _int_b64url(public.e)}]}

    @staticmethod
    def subject(email: str) -> str:
        """A stable subject per account, as a provider's ``sub`` is."""
        return hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]

    def user_claims(self, email: str) -> dict:
        return {"sub": self.subject(email), "email": email, "email_verified": True,
                "name": email.split("@", 1)[0].title()}

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": grant.client_id, "iat": now, "auth_time": now,
                  "exp": now + TOKEN_LIFETIME_SECONDS, **self.user_claims(grant.email)}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        with self._lock:
            self.issued.append(claims)
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    # -- flow steps (called by the handler) ---------------------------------------------------
    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The redirect back to the client with a code (or an error, as OAuth says)."""
        with self._lock:
            self.authorizations.append(dict(query))
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri.startswith(("http://127.0.0.1:", "http://localhost:")):
            return 400, {"Content-Type": "text/plain"}, b"unknown client or redirect_uri"
        back = {"state": query["state"]} if "state" in query else {}
        with self._lock:
            email, self.next_user = query.get("login_hint") or self.next_user, None
        if query.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        elif "openid" not in query.get("scope", "").split():
            back["error"] = "invalid_scope"
        elif not email:
            back.update(error="access_denied", error_description="no account was chosen")
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = Grant(self.client_id, redirect_uri, email, query.get("nonce"),
                                          query.get("code_challenge"), query.get("code_challenge_method"))
            back["code"] = code
        parts = urlsplit(redirect_uri)
        location = urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, urlencode(back)]))))
        return 302, {"Location": location}, b""

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode("utf-8")
            client_id, _, client_secret = (unquote(part) for part in decoded.partition(":"))
        if client_id != self.client_id or not secrets.compare_digest(client_secret or "", self.client_secret):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            if grant.code_challenge_method != "S256" or _b64url(hashlib.sha256(verifier.encode()).digest()) != grant.code_challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._access_tokens[access_token] = self.user_claims(grant.email)
        return 200, {"access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS,
                     "scope": "openid email profile", "id_token": self.id_token(grant)}

    def userinfo(self, authorization: str | None) -> tuple[int, dict]:
        token = (authorization or "")[len("Bearer "):] if (authorization or "").startswith("Bearer ") else ""
        with self._lock:
            claims = self._access_tokens.get(token)
        return (200, claims) if claims else (401, {"error": "invalid_token"})


class _Handler(BaseHTTPRequestHandler):
    idp: FakeIdentityProvider

    def log_message(self, *_args) -> None:  # quiet: the tests read ``issued`` instead
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/.well-known/openid-configuration":
            self._json(200, self.idp.discovery())
        elif parts.path == "/jwks":
            self._json(200, self.idp.jwks())
        elif parts.path == "/userinfo":
            self._json(*self.idp.userinfo(self.headers.get("Authorization")))
        elif parts.path == "/authorize":
            status, headers, body = self.idp.authorize(query)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}
        if urlsplit(self.path).path == "/token":
            self._json(*self.idp.token(form, self.headers.get("Authorization")))
        else:
            self._json(404, {"error": "not_found"})


def secrets_toml(idp: FakeIdentityProvider, cookie_secret: str | None = None) -> str:
    """An ``[auth]`` table that points a dashboard at ``idp`` (``{port}`` is the server's port)."""
    return "\n".join([
        "[auth]",
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"',
        f'cookie_secret = "{cookie_secret or secrets.token_urlsafe(32)}"',
        f'client_id = "{idp.client_id}"',
        f'client_secret = "{idp.client_secret}"',
        f'server_metadata_url = "{idp.metadata_url}"',
        "",
    ])
