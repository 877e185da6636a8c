"""`devise serve`: the local web page (devise.web) behind the optional extra `web`."""
from __future__ import annotations

import click

from devise.commands.support import NAME, FiniteFloat
from devise.index.store import open_index

INSTALL = "pip install 'devise[web]'"
WEB_MODULES = ("starlette", "uvicorn", "multipart")


def _check_extra():
    """One line naming the install command when the extra is missing: exit 1, no traceback."""
    import importlib

    for name in WEB_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            raise click.ClickException(f"`devise serve` needs the web extra ({name} is missing): {INSTALL}") from None


@click.command()
@click.option("--index", "index_name", type=NAME, help="Index to show first (default: the last one built; the page can switch).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback shows the collection to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default web browser.")
@click.option("--allow-edits", is_flag=True,
              help="Let the dedupe view remove duplicates from the index and move files to a review folder.")
@click.option("--max-upload-mb", type=FiniteFloat(0.1, 1024), default=20, show_default=True,
              help="Largest image the page may upload.")
def serve(index_name, host, port, open_browser, allow_edits, max_upload_mb):
    """A local web page to search, tag, curate and walk the indexes (needs the extra: pip install 'devise[web]').

    Search with the query language of `devise search` and --filter, upload an
    image or click "similar", review duplicates, play a walk, explore the map.
    The page's URL holds its state, so a view can be shared.
    """
    _check_extra()
    # devise.web imports Starlette, the optional [web] extra: only after _check_extra said how to install it.
    from devise.web.app import create_app, listening_socket, serve_forever
    from devise.web.security import is_loopback

    if index_name is not None:
        open_index(index_name)  # a wrong name fails here, in one line, not on the page
    loopback = is_loopback(host)
    if allow_edits and not loopback:
        raise click.UsageError(f"--allow-edits needs a loopback --host (127.0.0.1, ::1): on {host}, anyone on the "
                               f"network could load the page, take its token and move your files.")
    sock = listening_socket(host, port)  # a busy port or an unknown host fails here, before anything is said
    if not loopback:
        click.echo(f"warning: serving on {host}: the collection becomes visible on the network to anyone "
                   f"who can reach this machine.", err=True)
    app = create_app(index_name, allow_edits=allow_edits, max_upload_mb=max_upload_mb, loopback_only=loopback)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    click.echo(f"devise: serving {'index ' + repr(index_name) if index_name else 'the default index'} at {url}"
               f"{' (edits allowed)' if allow_edits else ''}; Ctrl-C stops it.", err=True)
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    serve_forever(app, sock)
