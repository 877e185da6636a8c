"""`devise serve`: a local web page over the library (search, similar, tag, dedupe, walk, map).

Needs the `web` extra (starlette, uvicorn, python-multipart). Nothing here
holds search or curation logic: every endpoint calls the library function
the command line calls and returns its `to_dict()`, so the JSON API has
the shapes of the CLI's `--json`. `devise.web.app.create_app` builds the
ASGI app; importing this package imports nothing else.
"""
