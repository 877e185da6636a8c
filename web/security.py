"""What keeps the page's server safe to run: the per-start token, host checks, upload caps and headers.

Threats, for a server on a laptop: another web site in the same browser
(cross-site POSTs, DNS rebinding), and a hostile or broken upload. Every
POST must carry the token the page read when it loaded, in a header that a
cross-site form cannot set and a cross-site script cannot learn; a server
bound to loopback answers only requests addressed to a loopback name.
"""
from __future__ import annotations

import ipaddress
import secrets
import time

from starlette.exceptions import HTTPException

DEFAULT_MAX_UPLOAD_MB = 20
TOKEN_HEADER = "x-devise-token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
# Headers on every answer: nothing from other origins runs in the page, and it is never framed.
PAGE_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
                                 b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True for names and addresses that only this machine can reach."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_post(request, token: str):
    """403 unless the request carries the page's token and, if it says where it comes from, comes from here."""
    given = request.headers.get(TOKEN_HEADER, "")
    if not secrets.compare_digest(given.encode(), token.encode()):
        raise HTTPException(403, "this request needs the page's token (header X-Devise-Token); reload the page.")
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise HTTPException(403, f"requests from {origin} are refused: only the page itself may send them.")


class GuardMiddleware:
    """Pure ASGI: refuses unexpected Host names (DNS rebinding) and adds PAGE_HEADERS and Server-Timing."""

    def __init__(self, app, loopback_only: bool):
        self.app, self.loopback_only = app, loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.loopback_only and not is_loopback(_host_name(scope)):
            return await _refuse_host(send)
        started = time.perf_counter()

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                message["headers"] = [*message.get("headers", []), *PAGE_HEADERS,
                                      (b"server-timing", f"app;dur={took:.2f}".encode())]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _host_name(scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = value.decode("latin-1")
            return host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return ""


async def _refuse_host(send):
    body = b'{"error": "this server answers only requests addressed to localhost."}'
    await send({"type": "http.response.start", "status": 421,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# Sec-Fetch-Site values of requests the page itself makes (or the user typing the address).
OWN_FETCH_SITES = ("same-origin", "none")
# On answers that reveal what an index holds (thumbnails): another origin may not embed or read them.
SAME_ORIGIN_ONLY = {"Cross-Origin-Resource-Policy": "same-origin"}


def check_same_origin(request):
    """403 for a request a browser marks as sent by another site (an <img> or fetch on someone else's page).

    Browsers send Sec-Fetch-Site on every request; a client that sends none (curl, a script) is let through.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in OWN_FETCH_SITES:
        raise HTTPException(403, f"refused: a {site} request; only the page itself may load this.")
