"""The ASGI app of `devise serve`: the page, its static files, thumbnails and the JSON API.

`create_app` takes the command's options and returns a Starlette app;
uvicorn serves it (commands/web.py), and tests drive it with Starlette's
TestClient. Starting it loads no model, no word vectors and no
TensorFlow: each endpoint loads what it needs on first use, through the
library, and TensorFlow only ever loads to embed an uploaded image.
"""
from __future__ import annotations

import contextlib
import errno
import html
import json
import socket
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from devise.core.errors import DeviseError
from devise.web import api, curation, thumbs
from devise.web.decoding import COLLECTION_SECONDS, DEFAULT_SECONDS, DEFAULT_SLOTS, Decoder
from devise.web.responses import HANDLERS
from devise.web.security import DEFAULT_MAX_UPLOAD_MB, GuardMiddleware, new_token

STATIC = Path(__file__).resolve().parent / "static"
CONFIG_SLOT = '<meta name="devise-config" content="">'


def _page(config):
    """index.html with the page's settings (the token among them) in a meta tag; never cached."""
    template = (STATIC / "index.html").read_text(encoding="utf-8")
    filled = template.replace(CONFIG_SLOT, f'<meta name="devise-config" content="{html.escape(json.dumps(config))}">')

    async def page(request):
        return HTMLResponse(filled, headers={"Cache-Control": "no-store"})

    return page


def create_app(index: str | None = None, *, allow_edits: bool = False, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
               loopback_only: bool = True, token: str | None = None, decode_slots: int = DEFAULT_SLOTS,
               decode_seconds: float = DEFAULT_SECONDS, collection_seconds: float = COLLECTION_SECONDS) -> Starlette:
    """The app for `devise serve`.

    index: the index to show (default: the default index; the page can pick
    another). allow_edits: route the dedupe endpoints that change the index
    and move files. max_upload_mb: the upload cap. loopback_only: answer only
    requests addressed to localhost (a server bound to loopback; this stops
    DNS rebinding). token: the per-start secret every POST must carry
    (default: a new random one). decode_slots, decode_seconds,
    collection_seconds: how many requests may decode images at once, and
    how long one that decodes an image, or every image of an index (dedupe,
    map), waits before a 503 (web/decoding.py).
    """
    token = token or new_token()
    config = {"token": token, "edits": allow_edits, "index": index, "maxUploadMb": max_upload_mb}
    routes = [
        Route("/", _page(config)),
        Route("/thumb/{id}", thumbs.thumb),
        Route("/api/search", api.search),
        Route("/api/similar", api.similar, methods=["GET", "POST"]),
        Route("/api/tag", api.tag, methods=["GET", "POST"]),
        Route("/api/indexes", api.indexes),
        Route("/api/items", api.describe, methods=["POST"]),
        Route("/api/dedupe", curation.dedupe),
        Route("/api/walk", curation.walk),
        Route("/api/map", curation.map_points),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if allow_edits:
        routes += [Route("/api/dedupe/delete", curation.dedupe_delete, methods=["POST"]),
                   Route("/api/dedupe/move", curation.dedupe_move, methods=["POST"])]
    app = Starlette(routes=routes, exception_handlers=HANDLERS,
                    middleware=[Middleware(GuardMiddleware, loopback_only=loopback_only)])
    app.state.index, app.state.token = index, token
    app.state.allow_edits, app.state.max_upload = allow_edits, int(max_upload_mb * (1 << 20))
    app.state.decoder = Decoder(decode_slots, decode_seconds, collection_seconds)
    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening, or one DeviseError line: checked before the server says it is
    serving, and a browser that follows the announcement at once waits in the backlog instead of being refused."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise DeviseError(f"--host {host!r}: cannot resolve this name ({getattr(exc, 'strerror', None) or exc}); "
                          f"give an address of this machine, e.g. 127.0.0.1.") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)  # uvicorn's own backlog; it listens on the socket again when it starts
    except OSError as exc:
        sock.close()
        where = f"{host}:{port}"
        reason = {errno.EADDRINUSE: f"port {port} is already in use on {host}; stop what uses it or pick another "
                                    f"--port",
                  errno.EADDRNOTAVAIL: f"{host} is not an address of this machine; give one of its addresses, "
                                       f"e.g. 127.0.0.1, as --host",
                  errno.EACCES: "permission denied (ports below 1024 need root); pick a --port from 1024 up"}
        raise DeviseError(f"cannot listen on {where}: " + reason.get(exc.errno, f"{exc.strerror or exc}") + ".") from None
    return sock


def serve_forever(app, sock: socket.socket):
    """uvicorn on a socket that listening_socket bound: no second bind, so nothing can fail after the announcement."""
    import uvicorn

    host, port = sock.getsockname()[:2]
    # Ctrl-C is how the page is stopped: uvicorn shuts down cleanly, then raises the signal again, which
    # would reach click as "Aborted!" and exit 1, the code for bad input.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")).run(sockets=[sock])


class BackgroundServer:
    """uvicorn serving `app` on a free loopback port in a daemon thread: for tests, benchmarks and screenshots.

        with BackgroundServer(create_app()) as server:
            httpx.get(server.url + "/api/indexes")
    """

    def __init__(self, app, host="127.0.0.1", port=0):
        import socket

        import uvicorn

        if not port:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.url = f"http://{host}:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))

    def __enter__(self):
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, name="devise-web", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the web server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
