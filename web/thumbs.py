"""GET /thumb/{id}[?size=512]: a JPEG thumbnail of one indexed image, made once and cached under the index version.

An image is named by its id in an index, never by a path from the request:
the only files ever read are the ones the index lists, and they are
decoded and re-encoded (through the guards of `data.images.open_rgb`),
never sent as they are. Anything but a plain decimal id in range is a 404.

Cache: HOME/cache/thumbs/<index>/<version>/<id>.jpg. A version never
changes, so a thumbnail made for it stays right; when an index gets a new
version, the thumbnails of versions no longer live are deleted. The
response's ETag is version and id; a request that names the version it
expects (`?v=`) may be cached by the browser for good.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil

from starlette.exceptions import HTTPException
from starlette.responses import Response

from devise.core import atomic
from devise.core.errors import BadImageError, SearchIndexError, StorageError
from devise.core.home import subdir
from devise.data.images import open_rgb
from devise.index import layout
from devise.index.store import open_index
from devise.web.decoding import decoder
from devise.web.security import SAME_ORIGIN_ONLY, check_same_origin

SIDE = 256
SIDES = (SIDE, 512)  # grid cells, and the walk player's frame
QUALITY = 85
_ID = re.compile(r"[0-9]{1,12}")
FOR_GOOD = "private, max-age=31536000, immutable"
CHECK_FIRST = "private, no-cache"


def thumbnail_bytes(path, side=SIDE) -> bytes:
    """A JPEG of the image fitted into side x side, from the decoder `devise index` uses."""
    from PIL import Image

    if not os.path.isfile(path):  # a folder or a FIFO where the image was: nothing to decode
        raise BadImageError(f"{path}: not a file any more.")
    img = open_rgb(path, target_size=side)
    img.thumbnail((side, side), Image.BICUBIC)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def _folder(idx):
    """This version's thumbnail folder; the first time, the folders of versions no longer live are removed."""
    base = subdir("cache", "thumbs", idx.name)
    folder = base / idx.version_dir.name
    if not folder.is_dir():
        live = {idx.version_dir.name}
        current = layout.current_version(idx.name)
        if current is not None:
            live.add(current.name)
        for old in base.iterdir():
            if old.is_dir() and old.name not in live:
                shutil.rmtree(old, ignore_errors=True)
        subdir("cache", "thumbs", idx.name, folder.name)  # created as the home's folders are: full is a StorageError
    return folder


def cached_thumbnail(index, raw_id, side=SIDE):
    """(jpeg bytes, version name) for item `raw_id` of `index`; 404 for anything that is not one."""
    if not _ID.fullmatch(raw_id):
        raise HTTPException(404, "no such image: thumbnails are named by a decimal image id.")
    if side not in SIDES:
        raise HTTPException(404, f"no thumbnails of that size: sizes are {', '.join(map(str, SIDES))}.")
    try:
        idx = open_index(index)
    except SearchIndexError as exc:
        raise HTTPException(404, str(exc)) from None
    image_id = int(raw_id)
    if image_id >= len(idx):
        raise HTTPException(404, f"index {idx.name!r} has no image {image_id}.")
    version = idx.version_dir.name
    name = f"{image_id}.jpg" if side == SIDE else f"{image_id}-{side}.jpg"
    try:
        cached = _folder(idx) / name
    except StorageError:
        cached = None  # a full or read-only home: thumbnails are made for each request, not kept
    if cached is not None:
        try:
            return cached.read_bytes(), version
        except FileNotFoundError:
            pass
    try:
        data = thumbnail_bytes(idx.items[image_id]["path"], side)
    except BadImageError as exc:
        raise HTTPException(404, str(exc)) from None
    if cached is not None:
        with contextlib.suppress(StorageError):
            atomic.write_bytes(cached, data)
    return data, version


async def thumb(request):
    # Which index names and ids exist is the collection's business: no other site may probe it.
    check_same_origin(request)
    raw_id = request.path_params["id"]
    index = request.query_params.get("index") or request.app.state.index
    size = request.query_params.get("size", str(SIDE))
    side = int(size) if size in map(str, SIDES) else 0
    data, version = await decoder(request).run(cached_thumbnail, index, raw_id, side)
    asked = request.query_params.get("v")
    if asked and asked != version:
        # Ids are renumbered by edits: the image now at this id may not be the one the page listed.
        return Response(f"index {index!r} changed since this page listed it; search again.", status_code=409,
                        headers={"Cache-Control": "no-store", **SAME_ORIGIN_ONLY})
    etag = f'"{version}-{raw_id}-{side}"'
    headers = {"ETag": etag, "Cache-Control": FOR_GOOD if request.query_params.get("v") == version else CHECK_FIRST,
               **SAME_ORIGIN_ONLY}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)
