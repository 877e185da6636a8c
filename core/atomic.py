"""Atomic file writes: write to a temp file beside the target, then rename.

A reader (or a crash) never sees a half-written model, index or cache file.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devise.core.home import storage_error


def _process_umask():
    """The umask, read without changing it where Linux allows (os.umask alone must set one to read it,
    which would race with other threads writing files)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def public_mode() -> int:
    """The mode a new file gets from open() or cp: 0o666 less the umask. mkstemp makes its files 0o600,
    which would hide every output from the other users of a machine."""
    return 0o666 & ~_process_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it over `target` on success.

    `suffix` matters for writers that pick a format from the extension
    (e.g. Keras wants `.keras`, Pillow wants `.png`).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    except OSError as exc:
        _raise_storage_error(exc, target)
        raise
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, public_mode())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _raise_storage_error(exc, target)
        raise


def _raise_storage_error(exc, target):
    """A read-only or full disk is the user's to fix: one line naming the home or the file, not a traceback."""
    error = storage_error(exc, target)
    if error is not None:
        raise error from None


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text(target: str | os.PathLike, text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npy(target: str | os.PathLike, array: Any) -> None:
    import numpy as np

    with atomic_path(target, suffix=".npy") as tmp:
        np.save(tmp, array)
