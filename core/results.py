"""The base of every public result: a dataclass whose `to_dict()` is what `--json` prints.

NumPy scalars and arrays, paths and nested results become plain JSON values,
so callers never meet a `float32` that `json.dumps` refuses.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    """A JSON-ready copy of `value`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    tolist = getattr(value, "tolist", None)
    if tolist is not None and hasattr(value, "dtype"):  # NumPy scalars and arrays
        return tolist()
    return value


@dataclass
class Result:
    def to_dict(self) -> dict:
        return plain(self)


class Listing(Result):
    """A result that is mostly one list: iteration, len() and [i] reach the field named by ITEMS."""

    ITEMS = "results"

    def __iter__(self) -> Iterator[Any]:
        return iter(getattr(self, self.ITEMS))

    def __len__(self) -> int:
        return len(getattr(self, self.ITEMS))

    def __getitem__(self, i: int) -> Any:
        return getattr(self, self.ITEMS)[i]


@dataclass
class Skipped(Result):
    """A file that was left out, and why (one complete sentence naming the file)."""

    path: str
    reason: str


def skipped(pairs: Iterable[tuple[str, str]]) -> list[Skipped]:
    """[(path, message)] -> [Skipped]."""
    return [Skipped(str(path), str(message)) for path, message in pairs]
