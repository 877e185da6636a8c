"""The JSON endpoints of curation: /api/dedupe (and its edits), /api/walk, /api/map.

As in api.py, each calls the CLI's library function and answers with its
`to_dict()`. The two editing endpoints, POST /api/dedupe/delete and
/api/dedupe/move, are only routed when the server was started with
`--allow-edits` (see app.py), and need the page's token like every POST;
the library applies the CLI's safety rules (tombstones, a review folder
outside the indexed folder, files never deleted).
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

import devise
from devise.core.errors import StorageError
from devise.core.home import home
from devise.curate.duplicates import DEFAULT_THRESHOLD
from devise.index.spaces import SPACES
from devise.index.store import open_index
from devise.web import items
from devise.web.api import index_of
from devise.web.decoding import decoder
from devise.web.responses import answer, choice, fraction, json_body, text, whole
from devise.web.security import check_post

MAP_SIZE, MAP_THUMB = 400, 64  # the PNG that make_map also draws: the page draws its own from the points
KEPT_MAPS = 16
_maps: OrderedDict = OrderedDict()  # PNG path -> MapSummary dict: a layout is fixed for a version and options
_maps_lock = threading.Lock()


def _dedupe_options(request, p):
    like = p.get("like")
    if like not in (None, ""):
        if not str(like).isascii() or not str(like).isdigit():
            raise HTTPException(400, "like: give the decimal id of an indexed image.")
        like = items.item_path(int(like), index_of(request, p))
    if like and text(p, "query"):
        raise HTTPException(400, "give like or query, not both.")
    return dict(index=index_of(request, p), threshold=fraction(p, "threshold", DEFAULT_THRESHOLD), like=like or None,
                query=text(p, "query"), filter=text(p, "filter"), progress=False)


async def dedupe(request):
    """GET index, threshold, filter, query, like (an id) -> `devise dedupe --json` (a report; nothing changes)."""
    options = await run_in_threadpool(_dedupe_options, request, request.query_params)
    return answer(await decoder(request).run(devise.dedupe, collection=True, **options))


async def _edit_body(request):
    check_post(request, request.app.state.token)
    example = 'the options as a JSON object, e.g. {"index": NAME, "threshold": 0.93}'
    body = await json_body(request, example)
    if not isinstance(body, dict) or not all(isinstance(v, (str, int, float, bool)) or v is None for v in body.values()):
        raise HTTPException(400, f"send {example}, with text or number values.")
    return {k: str(v) for k, v in body.items() if v is not None}


async def dedupe_delete(request):
    """POST the options of GET /api/dedupe -> `devise dedupe --delete --json`."""
    body = await _edit_body(request)
    options = await run_in_threadpool(_dedupe_options, request, body)
    return answer(await decoder(request).run(devise.dedupe, delete=True, collection=True, **options))


async def dedupe_move(request):
    """POST the options of GET /api/dedupe and move_to -> `devise dedupe --move-to FOLDER --json`."""
    body = await _edit_body(request)
    move_to = text(body, "move_to")
    if move_to is None:
        raise HTTPException(400, "move_to: give the review folder to move the duplicates into.")
    options = await run_in_threadpool(_dedupe_options, request, body)
    return answer(await decoder(request).run(devise.dedupe, move_to=move_to, collection=True, **options))


async def walk(request):
    """GET start (text) or id (an indexed image), filter, limit, space -> `devise walk --json`."""
    p = request.query_params
    start_image = None
    if p.get("id"):
        if not p["id"].isascii() or not p["id"].isdigit():
            raise HTTPException(400, "id: give the decimal id of an indexed image.")
        start_image = await run_in_threadpool(items.item_path, int(p["id"]), index_of(request))
    options = dict(index=index_of(request), start=text(p, "start"), start_image=start_image, filter=text(p, "filter"),
                   limit=whole(p, "limit", None, 1, 10**7), space=choice(p, "space", "features", SPACES))
    return answer(await run_in_threadpool(lambda: devise.walk(**options)))


def _map(index, filter, color_by, space):
    idx = open_index(index)
    key = hashlib.sha1(json.dumps([filter, color_by, space]).encode()).hexdigest()[:16]
    out = home() / "cache" / "web" / "maps" / f"{idx.name}-{idx.version_dir.name}-{key}.png"
    with _maps_lock:
        known = _maps.get(str(out))
    if known is not None and (known["out"] is None or out.exists()):
        return known
    options = dict(index=idx.name, filter=filter, color_by=color_by, space=space, size=MAP_SIZE, thumb=MAP_THUMB)
    try:
        found = devise.make_map(out, **options).to_dict()
    except StorageError:
        # A full or read-only home: the page needs only the points, kept in memory like the others.
        found = devise.make_map(None, **options).to_dict()
    with _maps_lock:
        _maps[str(out)] = found
        while len(_maps) > KEPT_MAPS:
            evicted, _ = _maps.popitem(last=False)
            Path(evicted).unlink(missing_ok=True)  # a cache file devise wrote under its home
    return found


async def map_points(request):
    """GET filter, color_by, space -> `devise map --json` (points with id, path, x, y, value)."""
    p = request.query_params
    return answer(await decoder(request).run(_map, index_of(request), text(p, "filter"), text(p, "color_by"),
                                             choice(p, "space", "features", SPACES), collection=True))
