"""Per-file pixel facts for duplicate detection, cached like the feature cache.

For each image: a 24x24 RGB thumbnail (box-filtered from the full decode)
and whether every pixel is identical (all black, all white, ...), with that
colour. Backbone features cannot confirm duplicates on their own: the
backbone sees a half-size copy of a 300x200 photo upscaled and blurred, and
its cosine with the original drops to 0.67 (bench/dedupe.py), below the
cosine of two different photos of one class. Thumbnails compare pictures
at a resolution every copy still has.

Keyed by (path, size, mtime) in SQLite, so a re-run decodes only new or
changed files; bad files are cached with their error.
"""
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PIL import Image

from devise.core.errors import BadImageError
from devise.core.home import subdir
from devise.core.progress import Progress

SIDE = 24
BIG_PIXELS = 4_000_000   # above this, JPEGs are decoded at reduced scale (DCT scaling) for speed
DRAFT_SIDE = 512
SCHEMA = """CREATE TABLE IF NOT EXISTS pixels (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, error TEXT,
    thumb BLOB, constant INTEGER, rgb INTEGER)"""


@dataclass
class Pixels:
    thumbs: np.ndarray     # [n, SIDE, SIDE, 3] uint8 (zeros where unreadable)
    constant: np.ndarray   # [n] bool: every pixel of the full image is the same colour
    rgb: np.ndarray        # [n] int64: that colour as 0xRRGGBB (-1 where not constant)
    ok: np.ndarray         # [n] bool: the file could be read


def measure(path):
    """(thumbnail uint8 [SIDE, SIDE, 3], constant, rgb) of one image file; raises BadImageError."""
    from devise.data.images import open_rgb

    try:
        with Image.open(path) as probe:
            big = probe.width * probe.height > BIG_PIXELS
    except (OSError, ValueError, Image.DecompressionBombError):
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


def _key(path):
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def load(paths, workers=None, progress=True, cache_path=None):
    """Pixels for `paths` (absolute), decoding only files the cache does not know in their current state."""
    paths = list(paths)
    n = len(paths)
    out = Pixels(np.zeros((n, SIDE, SIDE, 3), np.uint8), np.zeros(n, bool), np.full(n, -1, np.int64), np.zeros(n, bool))
    db = sqlite3.connect(str(cache_path or subdir("cache") / "pixels.sqlite"), timeout=60)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(SCHEMA)
        todo = []
        position = {p: i for i, p in enumerate(paths)}
        for start in range(0, n, 500):
            chunk = paths[start:start + 500]
            rows = db.execute(f"SELECT path, size, mtime_ns, error, thumb, constant, rgb FROM pixels "
                              f"WHERE path IN ({','.join('?' * len(chunk))})", chunk)
            known = {row[0]: row for row in rows}
            for p in chunk:
                row = known.get(p)
                try:
                    fresh = row is not None and (row[1], row[2]) == _key(p)
                except OSError:
                    continue  # vanished: stays unreadable
                if not fresh:
                    todo.append(p)
                elif row[3] is None:
                    _fill(out, position[p], np.frombuffer(row[4], np.uint8).reshape(SIDE, SIDE, 3), bool(row[5]), row[6])
        if todo:
            _compute(db, todo, position, out, workers or min(4, os.cpu_count() or 2), progress)
    finally:
        db.close()
    return out


def _fill(out, i, thumb, constant, rgb):
    out.thumbs[i], out.constant[i], out.rgb[i], out.ok[i] = thumb, constant, rgb, True


def _compute(db, todo, position, out, workers, progress):
    rows = []
    with ThreadPoolExecutor(workers) as pool, Progress(len(todo), "thumbnails", enabled=progress) as bar:
        for path, result in zip(todo, pool.map(_measure_or_error, todo)):
            try:
                size, mtime = _key(path)
            except OSError:
                continue
            if isinstance(result, str):
                rows.append((path, size, mtime, result, None, None, None))
            else:
                _fill(out, position[path], *result)
                rows.append((path, size, mtime, None, result[0].tobytes(), int(result[1]), result[2]))
            bar.update()
            if len(rows) >= 500:  # commit as we go: an interrupted run keeps what it decoded
                _store(db, rows)
                rows = []
    _store(db, rows)


def _store(db, rows):
    with db:
        db.executemany("INSERT OR REPLACE INTO pixels VALUES (?,?,?,?,?,?,?)", rows)
