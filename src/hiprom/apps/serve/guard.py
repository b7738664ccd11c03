"""What every request to ``hiprom serve`` passes: host, origin and token checks, and the
security headers of every response (a strict Content Security Policy).

* **Host.** Bound to the loopback address, only ``127.0.0.1``, ``localhost`` and ``[::1]``
  are answered: a web page elsewhere cannot reach the server by pointing a name of its own at
  127.0.0.1 (DNS rebinding).
* **Origin.** A ``POST`` whose ``Origin`` is not this server's is refused: another site open in
  the same browser cannot upload through it.
* **Token** (``--token`` or ``HIPROM_SERVE_TOKEN``). When set, every request must carry it:
  ``Authorization: Bearer TOKEN`` (scripts), or the ``hiprom_token`` cookie that opening
  ``/?token=TOKEN`` once sets (browsers). Compared with :func:`hmac.compare_digest`.
* **Headers.** ``Content-Security-Policy: default-src 'self'`` and no inline script (pages),
  ``default-src 'none'`` with inline style and ``data:`` images only (the self-contained report),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, no caching.
"""

from __future__ import annotations

import hmac
import json
from typing import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

__all__ = ["Guard", "PAGE_CSP", "REPORT_CSP", "LOOPBACK_HOSTS", "COOKIE"]

PAGE_CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
            "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")
#: The report is one self-contained file with inline CSS and data: images; it is shown in a frame.
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
COOKIE = "hiprom_token"

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


def _host_name(host: str) -> str:
    """``127.0.0.1:8765`` → ``127.0.0.1``; ``[::1]:8765`` → ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Pure ASGI middleware (request bodies stream through untouched).

    Parameters
    ----------
    app
        The application.
    token
        The access token, or None for none.
    allowed_hosts
        Host names answered (None: any, for a server bound to a non-loopback address).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, allowed_hosts: tuple[str, ...] | None):
        self.app, self.token, self.allowed_hosts = app, token or None, allowed_hosts

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "")
        path = scope.get("path", "")
        if self.allowed_hosts is not None and _host_name(host).lower() not in self.allowed_hosts:
            await _refuse(send, 400, path, "this server only answers requests addressed to this computer "
                                             f"(127.0.0.1 or localhost), not to {host!r}",
                          "open http://127.0.0.1:PORT/ as hiprom serve printed it.")
            return
        origin = headers.get("origin")
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and origin and origin.split("://", 1)[-1] != host:
            await _refuse(send, 403, path, f"a request from another site ({origin}) was refused",
                          "use the hiprom page itself to send clips.")
            return
        if self.token is not None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            if _same(query.get("token"), self.token):
                rest = urlencode([(k, v) for k, v in query.items() if k != "token"])
                await _redirect_with_cookie(send, path + (f"?{rest}" if rest else ""), self.token)
                return
            if not self._authorised(headers):
                await _refuse(send, 401, path, "this hiprom server needs its access token",
                              "open the address hiprom serve printed (it ends in ?token=...), or send the header "
                              "'Authorization: Bearer TOKEN'.")
                return
        await self.app(scope, receive, _with_headers(send, path))

    def _authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and _same(auth[7:].strip(), self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and _same(value, self.token):
                return True
        return False


def _same(given: str | None, token: str | None) -> bool:
    if not given or not token:
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"), (b"cross-origin-resource-policy", b"same-origin")] + (
        [] if path.startswith("/static/") else [(b"cache-control", b"no-store")])


def _with_headers(send: Callable, path: str) -> Callable:
    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            if b"content-security-policy" not in names:
                headers.append((b"content-security-policy", PAGE_CSP.encode()))
            if b"x-frame-options" not in names:
                headers.append((b"x-frame-options", b"DENY"))
            headers += [h for h in security_headers(path) if h[0] not in names]
            message = {**message, "headers": headers}
        await send(message)
    return wrapped


async def _refuse(send: Callable, status: int, path: str, what: str, fix: str) -> None:
    if path.startswith("/api/"):
        body = json.dumps({"error": f"{what}\n  How to fix: {fix}",
                           "error_detail": {"what": what, "fix": fix, "exit_code": 2}}).encode()
        ctype = b"application/json"
    else:
        from html import escape

        body = (f"<!DOCTYPE html><html lang='en'><meta charset='utf-8'><title>hiprom</title><h1>hiprom</h1>"
                f"<p>{escape(what)}.</p><p><b>How to fix:</b> {escape(fix)}</p></html>").encode()
        ctype = b"text/html; charset=utf-8"
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()),
               (b"content-security-policy", b"default-src 'none'")] + security_headers(path)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect_with_cookie(send: Callable, location: str, token: str) -> None:
    cookie = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"
    headers = [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode("latin-1")),
               (b"content-length", b"0")] + security_headers(location)
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
