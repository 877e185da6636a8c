"""The JSON endpoints of search: /api/search, /api/similar, /api/tag, /api/indexes, /api/items.

Each calls the library function its CLI command calls and answers with
that result's `to_dict()`, the CLI's `--json`. Parameters are named after
the CLI's options (`q` is the query); `index` defaults to the server's
`--index`, else the default index. `similar` and `tag` take an indexed
image by `id` (GET), or an uploaded one (POST multipart, field `image`).
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import devise
from devise.core.lists import comma_list
from devise.web import items, uploads
from devise.web.decoding import decoder
from devise.web.responses import answer, json_body, switch, text, whole
from devise.web.security import check_post

MAX_TOP = 10000
MAX_TAGS = 1000
MAX_PATHS = 5000


def index_of(request, params=None):
    return text(params if params is not None else request.query_params, "index") or request.app.state.index


def _image_id(params):
    raw = params.get("id", "")
    if not raw.isascii() or not raw.isdigit():
        raise HTTPException(400, "id: give the decimal id of an indexed image (or POST an image).")
    return int(raw)


def _labels(params):
    """Always a list: given a string, the library would read a file of that name on the server."""
    return comma_list(params.get("labels")) or None


async def search(request):
    """GET q, index, top, filter, feedback (1 or 0) -> `devise search Q --json [--no-feedback]`."""
    p = request.query_params
    query = p.get("q", "")
    result = await run_in_threadpool(devise.search, query, index=index_of(request), top=whole(p, "top", 10, 1, MAX_TOP),
                                     filter=text(p, "filter"), feedback=switch(p, "feedback", True))
    return answer(result)


async def similar(request):
    """GET id (an indexed image) or POST an image; index, top, filter -> `devise similar IMAGE --json`."""
    if request.method == "GET":
        p = request.query_params
        path = await run_in_threadpool(items.item_path, _image_id(p), index_of(request))
        result = await decoder(request).run(devise.similar, path, index=index_of(request),
                                            top=whole(p, "top", 10, 1, MAX_TOP), filter=text(p, "filter"))
        return answer(result)
    check_post(request, request.app.state.token)
    async with uploads.received(request, request.app.state.max_upload) as up:
        p = up.fields
        result = await up.run(devise.similar, up.path, index=index_of(request, p), top=whole(p, "top", 10, 1, MAX_TOP),
                              filter=text(p, "filter"))
        result.query = up.name
    return answer(result)


async def tag(request):
    """GET id or POST an image; index, top, labels -> `devise tag IMAGE --index NAME --json`."""
    if request.method == "GET":
        p = request.query_params
        result = await decoder(request).run(items.tag_indexed, _image_id(p), index=index_of(request),
                                            top=whole(p, "top", 10, 1, MAX_TAGS), labels=_labels(p))
        return answer(result)
    check_post(request, request.app.state.token)
    async with uploads.received(request, request.app.state.max_upload) as up:
        p = up.fields
        result = await up.run(devise.tag, [up.path], index=index_of(request, p), top=whole(p, "top", 10, 1, MAX_TAGS),
                              labels=_labels(p))
        for image in result.images:
            image.image = up.name
        for skipped in result.skipped:
            skipped.path, skipped.reason = up.name, skipped.reason.replace(up.path, up.name)
    return answer(result)


async def indexes(request):
    """GET -> `devise indexes --json` (a list)."""
    found = await run_in_threadpool(devise.indexes)
    return answer(found.to_dict()["indexes"])


async def describe(request):
    """POST {"index", "paths"} -> {"index", "version", "items": [{"path", "id", "class", "label"}]}.

    Not a CLI command: the page's way from the paths in results to the ids
    that thumbnails are served by.
    """
    check_post(request, request.app.state.token)
    body = await json_body(request, '{"index": NAME, "paths": [PATH, ...]}')
    paths = body.get("paths") if isinstance(body, dict) else None
    if not isinstance(paths, list) or not all(isinstance(x, str) for x in paths) or len(paths) > MAX_PATHS:
        raise HTTPException(400, f'"paths" must be a list of at most {MAX_PATHS} path strings.')
    if any("\0" in x for x in paths):
        raise HTTPException(400, '"paths": a path holds a NUL character, which no file name can contain.')
    index = text(body, "index") or request.app.state.index
    return answer(await run_in_threadpool(items.describe, paths, index))
