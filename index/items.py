"""The sidecar map from Annoy id to image: `items.jsonl` plus a byte-offset table.

Line i is item i: {"id", "path", "class", "size", "mtime_ns", "fields"}.
`fields` is an open dict that later tools fill (label scores, captions, ...)
without a format change. A search reads only the lines of its top-k
results through the offset table, so a cold search does not parse 100k
JSON lines; `find` locates a path with one byte search over the mmap.

The file is memory-mapped at open: a reader that opened an index version
keeps a valid view of it even after a rebuild has deleted that version.
"""
from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from devise.core import atomic
from devise.core.errors import SearchIndexError

ITEMS, OFFSETS = "items.jsonl", "items.offsets.npy"


def make_item(i: int, path: str | None, cls: str | None, size: int | None, mtime_ns: int | None,
              fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": i, "path": path, "class": cls, "size": size, "mtime_ns": mtime_ns, "fields": fields or {}}


def write(directory: str | Path, items: Iterable[dict[str, Any]]) -> None:
    """items: dicts whose "id" equals their position. ASCII-only JSON keeps `find` a plain byte search."""
    lines = []
    for i, item in enumerate(items):
        if item["id"] != i:
            raise ValueError(f"item ids must be 0..n-1 in order; got {item['id']} at {i}")
        lines.append(json.dumps({**make_item(i, None, None, None, None), **item}).encode("ascii") + b"\n")
    offsets = np.zeros(len(lines) + 1, np.int64)
    np.cumsum([len(line) for line in lines], out=offsets[1:])
    atomic.write_bytes(Path(directory) / ITEMS, b"".join(lines))
    atomic.save_npy(Path(directory) / OFFSETS, offsets)


class Items:
    def __init__(self, directory: str | Path, count: int):
        directory = Path(directory)
        try:
            self.offsets = np.load(directory / OFFSETS, mmap_mode="r")
            with open(directory / ITEMS, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if count else b""
        except (OSError, ValueError, EOFError) as exc:  # np.load of an empty file: EOFError
            raise SearchIndexError(f"{directory}: the item list is unreadable ({exc or type(exc).__name__}); "
                                   f"re-index.") from None
        if self.offsets.shape != (count + 1,) or int(self.offsets[-1]) != len(self._map):
            raise SearchIndexError(f"{directory}: the item list does not match the manifest ({count} items); re-index.")
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not 0 <= i < self.count:
            raise IndexError(i)
        line = self._map[int(self.offsets[i]):int(self.offsets[i + 1])]
        try:
            return json.loads(line)
        except ValueError:
            raise SearchIndexError(f"item {i} of the index is corrupt; re-index.") from None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(self.count))

    def find(self, path: str) -> int | None:
        """Id of the item for `path` (an absolute path string), or None."""
        needle = b'"path": ' + json.dumps(str(path)).encode("ascii") + b","
        start = 0
        while True:
            at = self._map.find(needle, start)
            if at < 0:
                return None
            i = int(np.searchsorted(self.offsets, at, side="right")) - 1
            if self[i]["path"] == str(path):  # not a field value that happens to look like it
                return i
            start = at + 1
