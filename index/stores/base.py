"""What an index store must do, whatever holds the vectors: the seam between devise and Annoy or Milvus.

A store holds one index version: items (id, path, class, size, mtime_ns,
fields) with a vector in each space ("words", "features"), ids 0..n-1.
Readers get the items, rows of vectors by id, counts and nearest
neighbours with an optional filter; writers add a complete version and
switch to it atomically. Edits (removing items, setting fields) are new
versions built from the stored rows, so a reader sees one version or the
next, never a mix, on either store.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from devise.index.spaces import SPACES

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SPACES", "ItemTable", "StoreWriter", "VectorSpace", "VersionStore"]


class ItemTable(Protocol):
    """The items of one version, item i at id i (index.items.Items, or a store's own table)."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def __getitem__(self, i: int) -> dict: ...

    @abstractmethod
    def __iter__(self) -> Iterator[dict]: ...

    @abstractmethod
    def find(self, path: str) -> int | None:
        """Id of the item for `path` (an absolute path string), or None."""


class VectorSpace(ABC):
    """One searchable space of a version: `vectors` are its rows by id, `count` x `dim`."""

    mode: str          # "exact", "annoy", or the Milvus index type ("flat", "hnsw")
    count: int
    dim: int
    vectors: Any       # rows by id: rows[ids] -> float32 [len(ids), dim]; np.asarray(rows) -> all of them

    @abstractmethod
    def nearest(self, query: np.ndarray, k: int, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """[(id, cosine)] best first, at most k, never an id in `exclude`."""

    @abstractmethod
    def nearest_among(self, query: np.ndarray, k: int, allowed: Any,
                      exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """As nearest, among the ids `allowed` (a sorted int array) only."""

    def nearest_where(self, query: np.ndarray, k: int, flt: Any,
                      exclude: Iterable[int] = ()) -> list[tuple[int, float]] | None:
        """As nearest, among the items that filter `flt` (index.filters.Filter) keeps, where the store
        evaluates filters itself; None where it does not (the caller then passes the kept ids to nearest_among)."""
        return None

    def vector(self, i: int) -> np.ndarray:
        """Row `i` as a float32 vector."""
        import numpy as np

        return np.asarray(self.vectors[np.array([i])], np.float32)[0]


class VersionStore(ABC):
    """Read access to one stored version (what OpenIndex delegates to)."""

    items: ItemTable

    @abstractmethod
    def vectors(self, kind: str) -> Any:
        """Rows of space `kind` by id (see VectorSpace.vectors), with no search structure opened."""

    @abstractmethod
    def space(self, kind: str) -> VectorSpace: ...

    def field_names(self) -> set[str] | None:
        """The names of the fields the items carry, where the store knows them without reading every item; else None."""
        return None


class StoreWriter(ABC):
    """Writes versions of one index into one store, and switches the live one."""

    kind: str

    @abstractmethod
    def write(self, version_dir: Path, vectors: Any, features: Any,  # arrays, or None with `source`
              items: list[dict[str, Any]], *, source: Path | None = None, trees: int, seed: int, progress: bool,
              modes: dict[str, tuple[str, str]]) -> dict[str, Any]:
        """Store a complete version; returns {"files": {name: record}, "store": {...}} for its manifest.

        vectors/features: unit float32 rows, or None with `source`, an open
        index whose rows are carried over in the order of the items' "source" ids.
        modes: {"words": mode, "features": mode} chosen for this store.
        """

    @abstractmethod
    def modes(self, count: int, dims: dict[str, int], method: str) -> dict[str, tuple[str, str]]:
        """{"words": (mode, reason), "features": (mode, reason)} for a version of `count` items."""

    @abstractmethod
    def switch(self, name: str, version_dir: Path, store_record: dict[str, Any]) -> None:
        """Make the stored version live in the store itself (before devise's own pointer swaps)."""

    @abstractmethod
    def sweep(self, name: str, keep_records: Iterable[dict[str, Any] | None]) -> None:
        """Drop what older versions left in the store, except the versions in `keep_records`."""

    @abstractmethod
    def discard(self, store_record: dict[str, Any]) -> None:
        """Drop what a version that failed half-way left in the store."""
