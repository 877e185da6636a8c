"""Move files that dedupe removed from an index into a review folder, without ever losing one.

Three rules keep every photo on disk exactly once:
- the review folder must lie outside every folder that `devise index` scans,
  or the moved files would come back as new images on the next run;
- a path is moved only if no path that stays in the index shows the same
  file (same device and inode: a symlinked folder, a hard link), and of
  several removed paths to one file only one is moved;
- a move never replaces a file at the target: it hard-links (or, across
  filesystems, copies to a temporary name and links) the file to a free
  name and only then unlinks the source, so a crash leaves the photo in
  one place or in both, never in neither.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass

from devise.core.errors import DataError, option
from devise.core.results import Result, Skipped
from devise.data.folders import scanned_folders

# Errors of os.link that mean "no hard link here", not "this file cannot be moved".
NO_HARD_LINK = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


@dataclass
class Moved(Result):
    source: str
    target: str


def check_target(target, root) -> str:
    """`target` as an absolute path; refused (DataError) when it is inside a folder that indexing `root` scans."""
    target = os.path.abspath(os.path.expanduser(str(target)))
    if os.path.lexists(target) and not os.path.isdir(target):
        raise DataError(f"{target}: not a folder; pass a new or existing folder to {option('move_to')}.")
    real = os.path.realpath(target)
    for folder in scanned_folders(root):
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            where = "" if folder == os.path.realpath(root) else f" (through {folder}, which it links to)"
            raise DataError(f"{target}: inside the indexed folder {root}{where}, so the moved files would come back "
                            f"on the next `devise index`; pass a --move-to folder outside {root}.")
    return target


def _identity(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def plan_moves(paths, remaining) -> tuple[list[str], list[Skipped]]:
    """(paths to move, [Skipped] paths to leave where they are) for `paths` leaving an index that keeps `remaining`."""
    shown = {}
    for path in remaining:
        key = _identity(path)
        if key is not None:
            shown.setdefault(key, path)
    left, same_file = [], {}
    for path in paths:
        key = _identity(path)
        if os.path.islink(path):
            left.append(Skipped(path, "a symbolic link; it leaves the index, the file it points to stays"))
        elif key is None:
            left.append(Skipped(path, "no longer exists"))
        elif key in shown:
            left.append(Skipped(path, f"same file as {shown[key]}, which stays in the index"))
        else:
            same_file.setdefault(key, []).append(path)
    movers = []
    for aliases in same_file.values():
        # Move the file by its own path, not through a symlinked folder, so the review folder mirrors the real one.
        aliases.sort(key=lambda p: (os.path.realpath(p) != p, p))
        movers.append(aliases[0])
        left.extend(Skipped(p, f"same file as {aliases[0]}, which is moved") for p in aliases[1:])
    return movers, left


def review_path(path, root, target) -> str:
    """Where `path` goes: its path relative to the index root, under `target` (its bare name if outside the root)."""
    rel = os.path.relpath(path, root)
    outside = rel == os.pardir or rel.startswith(os.pardir + os.sep)
    return os.path.join(target, os.path.basename(path) if outside else rel)


def move_file(source, dest) -> str:
    """Move `source` to `dest`, or to `dest` with .1, .2 ... before the extension if taken; returns where it went."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    stem, ext = os.path.splitext(dest)
    for n in itertools.count():
        candidate = dest if n == 0 else f"{stem}.{n}{ext}"
        try:
            _link_or_copy(source, candidate)
        except FileExistsError:
            continue
        try:
            os.unlink(source)
        except OSError:
            os.unlink(candidate)  # the source could not leave: keep one copy, where it was
            raise
        return candidate


def _link_or_copy(source, dest):
    """Give `source` the second name `dest`; FileExistsError, never a replaced file, when `dest` is taken."""
    try:
        os.link(source, dest)
        return
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno not in NO_HARD_LINK:
            raise
    fd, partial = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".partial", dir=os.path.dirname(dest))
    os.close(fd)
    try:
        shutil.copy2(source, partial)
        with open(partial, "rb") as copied:
            os.fsync(copied.fileno())
        try:
            os.link(partial, dest)
        except OSError as exc:
            if isinstance(exc, FileExistsError) or exc.errno not in NO_HARD_LINK:
                raise
            if os.path.lexists(dest):  # no hard links on this filesystem: check, then rename
                raise FileExistsError(errno.EEXIST, "file exists", dest) from None
            os.rename(partial, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
