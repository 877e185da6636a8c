"""Where indexes live, and the atomic swap between versions.

    <home>/indexes/DEFAULT                      name of the last index built
    <home>/indexes/<name>/CURRENT               name of the live version
    <home>/indexes/<name>/v-<time>-<rand>/      one complete, immutable build

A build writes a fresh version directory and then replaces CURRENT with
os.replace, so a reader sees the old version or the new one, never a mix.
Readers resolve CURRENT once and read only that version. The previous
version is kept (a reader may have resolved it a moment before the swap);
older ones are deleted. Open files and mmaps stay valid on POSIX even
after their directory is deleted.
"""
from __future__ import annotations

import contextlib
import fcntl
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devise.core import atomic
from devise.core.errors import SearchIndexError, option
from devise.core.home import storage_error, subdir

CURRENT, DEFAULT, LOCK = "CURRENT", "DEFAULT", ".lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_VERSION = re.compile(r"v-\d{8}T\d{6}-[0-9a-f]{8}")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name == DEFAULT:
        raise SearchIndexError(
            f"{name!r} is not a usable index name: use letters, digits, '.', '_' and '-' (pass {option('name')}).")
    return name


def root() -> Path:
    return subdir("indexes")


def index_dir(name: str) -> Path:
    return root() / check_name(name)


def names() -> list[str]:
    base = root()
    return sorted(p.name for p in base.iterdir() if p.is_dir() and (p / CURRENT).is_file())


def default_name() -> str | None:
    """The last index built; else the only one there is; else None."""
    pointer = root() / DEFAULT
    try:
        name = pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else ""
    except (UnicodeDecodeError, OSError):
        name = ""  # a damaged pointer is no pointer: fall back to the only index, if there is one
    if name and _NAME.fullmatch(name) and (root() / name / CURRENT).is_file():
        return name
    found = names()
    return found[0] if len(found) == 1 else None


def current_version(name: str) -> Path | None:
    """Path of the live version of `name`, or None if it was never built."""
    pointer = index_dir(name) / CURRENT
    try:
        version = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, OSError) as exc:
        raise SearchIndexError(f"{pointer}: damaged ({exc.__class__.__name__}); re-index.") from None
    if not _VERSION.fullmatch(version):
        raise SearchIndexError(f"{pointer}: does not name an index version ({version[:40]!r}); re-index.")
    return pointer.parent / version


def new_version(name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = index_dir(name) / f"v-{stamp}-{secrets.token_hex(4)}"
    path.mkdir(parents=True)
    return path


def publish(name: str, version_dir: Path, make_default: bool = True) -> Path | None:
    """Make `version_dir` live, then delete every version but it and the one it replaced (which it returns)."""
    base = index_dir(name)
    previous = current_version(name)
    atomic.write_text(base / CURRENT, Path(version_dir).name + "\n")
    if make_default:
        atomic.write_text(root() / DEFAULT, name + "\n")
    keep = {Path(version_dir).name, previous.name if previous else None}
    for path in base.iterdir():
        # Also sweeps the leftovers of builds that crashed before publishing.
        if path.is_dir() and _VERSION.fullmatch(path.name) and path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    return previous


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive flock held for the block; released by the OS if the process dies."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a+")  # noqa: SIM115 (closed by the with below; opening is what may fail)
    except OSError as exc:
        error = storage_error(exc, path)
        if error is not None:
            raise error from None
        raise
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_lock(name: str) -> contextlib.AbstractContextManager[None]:
    """One writer per index: a second `devise index` on it waits for the first."""
    return file_lock(index_dir(name) / LOCK)


def discard(version_dir: str | Path) -> None:
    """Remove a version that failed half-way; it was never published."""
    with contextlib.suppress(OSError):
        shutil.rmtree(version_dir)
