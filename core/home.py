"""The one home for artifacts: `--home`, else `$DEVISE_HOME`, else `~/.devise`.

Layout:
    cache/features/<backbone>.sqlite   per-file feature cache
    cache/outputs.sqlite               files devise wrote outside its home (core.outputs)
    cache/verified.json                files already checked against their checksums
    words/<name>/                      memory-mapped word vectors + word index
    models/<name>/                     trained heads
    indexes/<name>/                    searchable collections (CURRENT -> version)
"""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from devise.core.errors import DataError, StorageError

# Kernel views, not storage: a write there is refused at best, and under
# /sys/fs/cgroup a mkdir creates a control group.
VIRTUAL = (Path("/proc"), Path("/sys"))
HOME_ENV = "DEVISE_HOME"
HINT = f"set --home or {HOME_ENV} to a folder devise can write to"

_override = None


def set_home(path: str | Path | None) -> None:
    """Used by the CLI's `--home`; wins over the environment."""
    global _override
    _override = Path(path) if path else None


def _refuse_virtual(root):
    real = Path(os.path.realpath(root))
    for base in VIRTUAL:
        if real == base or base in real.parents:
            raise DataError(f"{root}: {base} is a view of the kernel, not storage, so it cannot hold the devise home; "
                            f"{HINT}.")


def _make(path, root):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataError(f"{path}: is a file, where the devise home needs a folder; {HINT}.") from None
    except NotADirectoryError:
        raise DataError(f"{root}: a part of this path is a file, not a folder, so it cannot be the devise home; "
                        f"{HINT}.") from None
    except OSError as exc:
        full_or_read_only = storage_error(exc, path)
        if full_or_read_only is not None:
            raise full_or_read_only from None
        raise DataError(f"{path}: cannot be created ({exc.strerror or exc}); {HINT}.") from None


def _given() -> Path:
    given = _override if _override is not None else Path(os.environ.get(HOME_ENV) or "~/.devise")
    try:
        return given.expanduser()
    except RuntimeError as exc:  # "~user" for a user that does not exist
        raise DataError(f"{given}: {exc}; {HINT}.") from None


def home() -> Path:
    root = _given()
    _refuse_virtual(root)
    _make(root, root)
    return root


def subdir(*parts: str) -> Path:
    root = home()
    path = root.joinpath(*parts)
    _make(path, root)
    return path


def datasets_root() -> Path:
    """Where Caltech-101 / CIFAR-10 live: `$DEVISE_DATASETS`, else ../shared/datasets."""
    env = os.environ.get("DEVISE_DATASETS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


# What a failed write says about the file system under it. SQLite reports through its own
# result codes (low byte): READONLY, FULL, and IOERR or CANTOPEN, which a full or read-only
# disk also gives (SQLite cannot create its journal or shared-memory file there).
READ_ONLY, FULL, DENIED = "read-only", "full", "not writable (permission denied)"
ERRNO_STATES = {errno.EROFS: READ_ONLY, errno.ENOSPC: FULL, errno.EDQUOT: FULL}
SQLITE_STATES = {8: READ_ONLY, 13: FULL}
SQLITE_DISK_CODES = (10, 14)
# A disk I/O error with less than this free is a full disk, not a failing one.
LOW_SPACE_BYTES = 16 << 20


def _file_system_state(folder):
    """READ_ONLY, FULL, DENIED or None for the file system that holds `folder` (or its nearest existing parent)."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return READ_ONLY
    if st.f_bavail * st.f_frsize < LOW_SPACE_BYTES:
        return FULL
    return None if os.access(folder, os.W_OK) else DENIED


def _in_home(path):
    try:
        root = os.path.realpath(_given())
    except DataError:
        return None
    real = os.path.realpath(path)
    return root if real == root or real.startswith(root.rstrip(os.sep) + os.sep) else None


def _path_of(exc, path):
    path = path if path is not None else getattr(exc, "filename", None)
    if path is None and getattr(exc, "sqlite_errorcode", None) is not None:
        with contextlib.suppress(DataError):
            path = _given()  # every database devise keeps lives in its home
    return path


def storage_state(exc: BaseException, path: str | Path | None = None) -> str | None:
    """READ_ONLY, FULL or DENIED when `exc`, raised writing `path`, comes from the disk under it; else None.

    `exc` may be any exception: an OSError (EROFS, ENOSPC, EDQUOT, or EACCES in the home)
    or an sqlite3 error; anything else gives None, and is left to the caller.
    """
    path = _path_of(exc, path)
    code = getattr(exc, "sqlite_errorcode", None)
    if path is None:
        return None
    if isinstance(exc, OSError):
        state = None if exc.errno is None else ERRNO_STATES.get(exc.errno)
        if state is None and exc.errno is None and "free space" in str(exc):
            state = FULL  # numpy's tofile checks the space first: "Not enough free space to write N bytes", no errno
        if state is None and exc.errno in (errno.EACCES, errno.EPERM) and _in_home(path):
            state = DENIED
        return state
    if code is None:
        return None
    state = SQLITE_STATES.get(code & 0xFF)
    if state is None and code & 0xFF in SQLITE_DISK_CODES:
        state = _file_system_state(path if os.path.isdir(path) else os.path.dirname(path))
    return state


def storage_error(exc: BaseException, path: str | Path | None = None) -> StorageError | None:
    """The one-line StorageError when `exc`, raised writing `path`, means its disk is read-only or full; else None."""
    state = storage_state(exc, path)
    if state is None:
        return None
    path = _path_of(exc, path)
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    root = _in_home(path)
    if root is not None:
        fix = ("free some space, or pass --home (or set DEVISE_HOME) to a folder on another disk" if state == FULL
               else "pass --home (or set DEVISE_HOME) to a writable folder")
        return StorageError(f"the devise home {root} is {state} ({detail}); {fix}.")
    fix = "free some space or choose another path" if state == FULL else "choose another path"
    return StorageError(f"{path}: cannot be written: its disk is {state} ({detail}); {fix}.")
