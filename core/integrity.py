"""Whole-file checksums for the files devise writes, and a memo of the files already verified.

Annoy and NumPy trust their files: one damaged byte in an `.ann` file can
segfault the process on its first query, one in a `.npy` silently changes
every score. So each file devise builds is recorded in a manifest with
its size and the SHA-1 of all its bytes (`seal`), and `check` compares
the two before the file is used.

Hashing reads the whole file: SHA-1 runs at ~700 MB/s here, ahead of
BLAKE2b (~570 MB/s), so a 100k-image index (1.1 GB) takes ~2.5 s, far
over a cold search's 0.5 s budget. A file is therefore hashed once and the
result remembered in HOME/cache/verified.json, keyed by the file's
device, inode, size, mtime and ctime: any write to the file changes its
mtime, and its next use hashes it again in full. A write whose mtime is
then set back (os.utime, a restore that keeps mtimes) still moves the
ctime, which no user call can set.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from devise.core import atomic, home
from devise.core.errors import DeviseError, StorageError

BLOCK = 1 << 20
MEMO, MAX_MEMO = "verified.json", 1024
# A write lands in the same tick of the file system's clock as the one
# before it keeps the mtime, so a file is vouched for by the memo only
# when its mtime is at least this far behind the clock (freshly written
# files are stamped that far in the past on purpose, see `seal`).
SETTLE_NS = 2_000_000_000
# Older devise hashed files up to 8 MB whole and larger ones in samples;
# only the whole-file records of those can be checked.
LEGACY_WHOLE_BYTES = 8 << 20

_memo = {}  # memo file path -> {"dev:ino": [size, mtime_ns, ctime_ns, sha1, checked_at_ns]}, loaded once per process
MEMO_FIELDS = 5  # entries of another length come from an older devise: those files are hashed again


def sha1_of(path: str | Path) -> str:
    digest, buf = hashlib.sha1(), bytearray(BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def seal(directory: str | Path, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{name: record} for files devise has just written in `directory`, remembered as verified.

    Each file's mtime is set SETTLE_NS into the past first, so that any
    later write, however soon, gives it a new mtime and voids the memo.
    """
    records, settled, now = {}, [], time.time_ns()
    for name in names:
        path = os.path.join(directory, name)
        with contextlib.suppress(OSError):  # a file system that refuses it: the file is just hashed on first use
            os.utime(path, ns=(os.stat(path).st_atime_ns, now - SETTLE_NS))
        st = os.stat(path)
        records[name] = {"bytes": st.st_size, "sha1": sha1_of(path), "whole": True}
        if now - st.st_mtime_ns >= SETTLE_NS:
            settled.append((st, records[name]["sha1"]))
    _remember(settled)
    return records


def check(path: str | Path, record: Any, *, error: type[DeviseError], fix: str) -> None:
    """Raise `error` unless `path` still holds the bytes `record` was made from; `fix` says what to do."""
    path = str(path)
    sha1, size = _usable(path, record, error, fix)
    try:
        st = os.stat(path)
    except OSError as exc:
        raise error(f"{path}: unreadable ({exc.strerror or exc}); {fix}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file any more; {fix}.")
    if st.st_size != size:
        raise error(f"{path}: {st.st_size} bytes where {size} were written (truncated or overwritten); {fix}.")
    entry = _load().get(f"{st.st_dev}:{st.st_ino}")
    if entry is not None and entry[:4] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha1]:
        return
    try:
        actual = sha1_of(path)
    except OSError as exc:
        raise error(f"{path}: unreadable ({exc.strerror or exc}); {fix}.") from None
    if actual != sha1:
        raise error(f"{path}: its contents changed after it was written (corrupt); {fix}.")
    if time.time_ns() - st.st_mtime_ns >= SETTLE_NS:
        _remember([(st, sha1)])


def _usable(path, record, error, fix):
    """(sha1, size) of a manifest record, refusing damaged records and the sampled ones of older versions."""
    ok = isinstance(record, dict) and isinstance(record.get("sha1"), str) and len(record["sha1"]) == 40 \
        and isinstance(record.get("bytes"), int) and not isinstance(record["bytes"], bool) and record["bytes"] >= 0
    if not ok:
        raise error(f"{path}: its manifest has no usable checksum for it (damaged manifest); {fix}.")
    if record.get("whole") is not True and record["bytes"] > LEGACY_WHOLE_BYTES:
        raise error(f"{path}: written by an older devise that checked large files only in samples, "
                    f"so it cannot be verified; {fix}.")
    return record["sha1"], record["bytes"]


def _memo_path():
    return os.path.join(home.home(), "cache", MEMO)


def _read_memo(path):
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read())
    except (OSError, ValueError):
        return {}  # missing or damaged: the memo only saves time, so start it afresh
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == MEMO_FIELDS}


def _load():
    path = _memo_path()
    if path not in _memo:
        _memo[path] = _read_memo(path)
    return _memo[path]


def _remember(entries):
    """Add (stat, sha1) pairs to the memo, merged with what other processes wrote meanwhile."""
    if not entries:
        return
    path, now = _memo_path(), time.time_ns()
    memo = {**_load(), **_read_memo(path)}
    for st, sha1 in entries:
        memo[f"{st.st_dev}:{st.st_ino}"] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, sha1, now]
    if len(memo) > MAX_MEMO:
        memo = dict(sorted(memo.items(), key=lambda kv: kv[1][-1] if isinstance(kv[1][-1], int) else 0)[-MAX_MEMO:])
    _memo[path] = memo
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic.write_text(path, json.dumps(memo, separators=(",", ":")))
    except (OSError, StorageError):
        pass  # a read-only or full home: files are simply hashed again next time


def forget() -> None:
    """Drop the in-process copy of the memo (tests switch homes; the file itself stays)."""
    _memo.clear()
