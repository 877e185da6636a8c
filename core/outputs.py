"""The one place that decides whether devise may write an output path, and records what it wrote.

Paths named on the command line (--out, --sheet, --gif, --frames) may hold
a user's work. devise overwrites a file only if it wrote that file, and
writes into a folder only if the folder is empty or devise made it;
anything else raises OutputError before a byte is written.

devise knows it wrote a file when
  - it is a PNG with a `Software: devise` text chunk (or generate's
    `devise` chunk) or a GIF with a `devise` comment: the mark travels
    with the file, so it holds under any devise home;
  - or the registry HOME/cache/outputs.sqlite recorded the file's real
    path, size and mtime when devise wrote it, and they still match.
A folder is devise's when its manifest.json has devise's format version
and the expected kind. A symbolic link is refused, never written through.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from devise.core import manifest
from devise.core.atomic import atomic_path
from devise.core.errors import DataError, OutputError, StorageError
from devise.core.home import subdir
from devise.core.progress import warn
from devise.core.text import path_key

MARK = "devise"
REGISTRY = "outputs.sqlite"
# PNG text chunks sit before the image data; 64 KiB reaches them without reading whole images.
HEAD_BYTES = 1 << 16
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIF_COMMENT = b"!\xfe" + bytes([len(MARK)]) + MARK.encode() + b"\x00"
MOVE_AWAY = "choose another path or move it away yourself"


def claim_file(path: str | Path) -> Path:
    """`path` if devise may write a file there (nothing there yet, or a file devise wrote); else OutputError."""
    path = Path(path)
    _refuse_link(path)
    if path.parent.exists() and not path.parent.is_dir():
        raise OutputError(f"{path}: {path.parent} is a file, not a folder; choose another path.")
    if not path.exists():
        return path
    if not path.is_file():
        raise OutputError(f"{path}: is a folder, not a file devise wrote, so devise leaves it alone; {MOVE_AWAY}.")
    if not is_devise_file(path):
        raise OutputError(f"{path}: devise did not write this file, so it will not overwrite it; {MOVE_AWAY}.")
    return path


def claim_folder(path: str | Path, kind: str, recognise: Callable[[Path], bool] | None = None) -> Path:
    """`path` if devise may write a `kind` folder there (absent, empty, or devise's own); else OutputError.

    Devise's own: a manifest.json of `kind`, or `recognise(path)` is true
    (for folders whose layout predates manifests, such as generate's).
    """
    path = Path(path)
    _refuse_link(path)
    if not path.exists():
        return path
    if not path.is_dir():
        raise OutputError(f"{path}: is a file, not a folder devise wrote, so devise leaves it alone; {MOVE_AWAY}.")
    try:
        empty = not any(path.iterdir())
    except OSError as exc:
        raise OutputError(f"{path}: cannot be listed ({exc.strerror or exc}); choose another path.") from None
    found = manifest.peek(path)
    if empty or manifest.describes(found, kind) or (recognise is not None and recognise(path)):
        return path
    other = found.get("kind") if found and found.get("format_version") == manifest.FORMAT_VERSION else None
    if isinstance(other, str):
        raise OutputError(f"{path}: devise wrote this folder as a {other}, not a {kind}, so it will not write "
                          f"into it; {MOVE_AWAY}.")
    raise OutputError(f"{path}: holds files devise did not write (it is not a devise {kind} folder), so devise "
                      f"will not write into it; {MOVE_AWAY}.")


def make_folder(path: str | Path, kind: str, **fields: Any) -> Path:
    """Claim `path` for a `kind` folder, create it and mark it with its manifest.

    The manifest goes in first, so a run killed half-way leaves a folder
    that the next run still recognises as devise's.
    """
    path = claim_folder(path, kind)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create this folder ({exc.strerror or exc}); choose another path.") from None
    if not manifest.describes(manifest.peek(path), kind):
        manifest.write(path, kind, **fields)
    return path


def is_devise_file(path: str | Path) -> bool:
    """True when `path` is a regular file that carries devise's mark or matches the registry."""
    path = Path(path)
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return False
    return marked(head) or _recorded(path)


def marked(head: bytes) -> bool:
    """Whether the first bytes of a file carry devise's PNG text chunk or GIF comment."""
    if head.startswith(b"GIF8"):
        return GIF_COMMENT in head
    if not head.startswith(PNG_SIGNATURE):
        return False
    at = len(PNG_SIGNATURE)
    while at + 8 <= len(head):
        length, kind = int.from_bytes(head[at:at + 4], "big"), head[at + 4:at + 8]
        if kind == b"IDAT":
            return False
        data = head[at + 8:at + 8 + length]
        keyword, _, value = data.partition(b"\x00")
        if kind in (b"tEXt", b"zTXt", b"iTXt") and keyword == MARK.encode():
            return True
        if kind == b"tEXt" and keyword == b"Software" and value == MARK.encode():
            return True
        at += 12 + length
    return False


def save_image(image: Any, path: str | Path, *, format: str = "PNG", remember: bool = True, **save_args: Any) -> Path:
    """Save a Pillow image atomically as PNG or GIF, marked as devise's; the caller has claimed `path`."""
    path = Path(path)
    if format == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = save_args.pop("pnginfo", None) or PngInfo()
        info.add_text("Software", MARK)
        save_args["pnginfo"] = info
    elif format == "GIF":
        save_args["comment"] = MARK.encode()
    with atomic_path(path, suffix="." + format.lower()) as tmp:
        image.save(tmp, format=format, **save_args)
    if remember:
        record(path)
    return path


def remove_stale(folder: str | Path, pattern: str, keep: Collection[str]) -> list[Path]:
    """Delete the files matching `pattern` in `folder` that devise wrote and `keep` does not name."""
    removed = []
    for path in sorted(Path(folder).glob(pattern)):
        if path.name not in keep and is_devise_file(path):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def record(*paths: str | Path) -> None:
    """Remember that devise wrote these files (real path, size, mtime), after they are complete."""
    rows = []
    for path in paths:
        real = os.path.realpath(path)
        with contextlib.suppress(OSError):
            st = os.stat(real)
            rows.append((path_key(real), st.st_size, st.st_mtime_ns))
    if rows:
        _registry("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?)", rows)


def _recorded(path) -> bool:
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError:
        return False
    return _registry("SELECT 1 FROM outputs WHERE path = ? AND size = ? AND mtime_ns = ?",
                     [(path_key(real), st.st_size, st.st_mtime_ns)]) is True


def _refuse_link(path):
    if path.is_symlink():
        raise OutputError(f"{path}: is a symbolic link, and devise never writes through one; {MOVE_AWAY}.")


def _registry(sql, rows, retry=True):
    """Run `sql` once per row; True when a SELECT found a row. A damaged registry is moved aside.

    The registry only ever makes devise trust a file; losing it makes devise
    refuse more, never overwrite more, so commits need no fsync.
    """
    try:
        db_path = subdir("cache") / REGISTRY
    except (OSError, DataError, StorageError) as exc:  # a home that cannot be created, or is read-only or full
        warn(f"the devise home cannot hold the record of written files ({exc}); going on without it.")
        return False
    db = None
    try:
        db = sqlite3.connect(str(db_path), timeout=60)
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER)")
        with db:
            if sql.startswith("SELECT"):
                return any(db.execute(sql, row).fetchone() for row in rows)
            db.executemany(sql, rows)
    except sqlite3.OperationalError as exc:  # locked or read-only: this run cannot use the registry
        warn(f"{db_path}: cannot use the record of written files ({exc}); going on without it.")
    except sqlite3.DatabaseError as exc:
        if db is not None:
            db.close()
            db = None
        if retry:
            with contextlib.suppress(OSError):
                os.replace(db_path, db_path.with_name(REGISTRY + ".corrupt"))
            warn(f"{db_path}: the record of written files is unreadable ({exc}); moved it aside, starting afresh.")
            return _registry(sql, rows, retry=False)
        warn(f"{db_path}: cannot use the record of written files ({exc}); going on without it.")
    finally:
        if db is not None:
            db.close()
    return False
