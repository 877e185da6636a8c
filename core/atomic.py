"""Atomic file writes: write to a temp file beside the target, then rename.

A reader (or a crash) never sees a half-written model, index or cache file.
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

from devise.core.home import storage_error


@contextlib.contextmanager
def atomic_path(target, suffix=""):
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


def write_bytes(target, data: bytes):
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_text(target, text: str):
    write_bytes(target, text.encode("utf-8"))


def write_json(target, obj):
    write_text(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npy(target, array):
    import numpy as np

    with atomic_path(target, suffix=".npy") as tmp:
        np.save(tmp, array)
