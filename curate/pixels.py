"""Per-file pixel facts for duplicate detection, cached like the feature cache.

For each image: a 24x24 RGB thumbnail (box-filtered from the full decode)
and whether every pixel is identical (all black, all white, ...), with that
colour. Backbone features cannot confirm duplicates on their own: the
backbone sees a half-size copy of a 300x200 photo upscaled and blurred, and
its cosine with the original drops to 0.67 (bench/dedupe.py), below the
cosine of two different photos of one class. Thumbnails compare pictures
at a resolution every copy still has.

Cached per file by data.file_cache (keyed by path, size and mtime), so a
re-run decodes only new or changed files; bad files are cached with their
error.
"""
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from devise.core.errors import BadImageError
from devise.core.home import subdir
from devise.core.progress import progress_bar
from devise.data.file_cache import FileCache
from devise.data.images import open_rgb, pixel_count

SIDE = 24
BIG_PIXELS = 4_000_000   # above this, JPEGs are decoded at reduced scale (DCT scaling) for speed
DRAFT_SIDE = 512
TABLE = "pixels"
COLUMNS = (("thumb", "BLOB"), ("constant", "INTEGER"), ("rgb", "INTEGER"))
STORE_BATCH = 500


@dataclass
class Pixels:
    thumbs: np.ndarray     # [n, SIDE, SIDE, 3] uint8 (zeros where unreadable)
    constant: np.ndarray   # [n] bool: every pixel of the full image is the same colour
    rgb: np.ndarray        # [n] int64: that colour as 0xRRGGBB (-1 where not constant)
    ok: np.ndarray         # [n] bool: the file could be read


def measure(path):
    """(thumbnail uint8 [SIDE, SIDE, 3], constant, rgb) of one image file; raises BadImageError."""
    try:
        big = pixel_count(path) > BIG_PIXELS
    except BadImageError:
        big = False  # open_rgb reports the real problem
    img = open_rgb(path, DRAFT_SIDE if big else None)
    arr = np.asarray(img)
    first = arr[0, 0]
    constant = bool((arr == first).all())
    if constant and big:  # reduced-scale decoding averages; only the full image can prove it constant
        arr = np.asarray(open_rgb(path))
        first = arr[0, 0]
        constant = bool((arr == first).all())
    rgb = int(first[0]) << 16 | int(first[1]) << 8 | int(first[2]) if constant else -1
    thumb = np.asarray(img.resize((SIDE, SIDE), Image.BOX), np.uint8)
    return thumb, constant, rgb


def _measure_or_error(path):
    try:
        return measure(path)
    except BadImageError as exc:
        return str(exc)


def load(paths, workers=None, progress=True, cache_path=None):
    """Pixels for `paths` (absolute), decoding only files the cache does not know in their current state."""
    paths = list(paths)
    n = len(paths)
    out = Pixels(np.zeros((n, SIDE, SIDE, 3), np.uint8), np.zeros(n, bool), np.full(n, -1, np.int64), np.zeros(n, bool))
    position = {p: i for i, p in enumerate(paths)}
    with FileCache(cache_path or subdir("cache") / "pixels.sqlite", TABLE, COLUMNS) as cache:
        known = cache.lookup(paths)
        for path, entry in list(known.items()):
            if isinstance(entry, str):
                continue
            thumb, constant, rgb = entry
            if not isinstance(thumb, bytes) or len(thumb) != SIDE * SIDE * 3:
                del known[path]  # a damaged row: decode the file again
                continue
            _fill(out, position[path], np.frombuffer(thumb, np.uint8).reshape(SIDE, SIDE, 3), bool(constant), rgb)
        todo = [p for p in paths if p not in known]
        if todo:
            _compute(cache, todo, position, out, workers or min(4, os.cpu_count() or 2), progress)
    return out


def _fill(out, i, thumb, constant, rgb):
    out.thumbs[i], out.constant[i], out.rgb[i], out.ok[i] = thumb, constant, rgb, True


def _compute(cache, todo, position, out, workers, progress):
    entries = []
    with ThreadPoolExecutor(workers) as pool, progress_bar(len(todo), "thumbnails", enabled=progress) as bar:
        for path, result in zip(todo, pool.map(_measure_or_error, todo)):
            if isinstance(result, str):
                entries.append((path, result))
            else:
                thumb, constant, rgb = result
                _fill(out, position[path], thumb, constant, rgb)
                entries.append((path, (thumb.tobytes(), int(constant), rgb)))
            bar.update()
            if len(entries) >= STORE_BATCH:  # commit as we go: an interrupted run keeps what it decoded
                cache.store(entries)
                entries = []
    cache.store(entries)
