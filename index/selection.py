"""The one query surface over an index: open it, filter its items, find the nearest in a space.

Search (text, similar), curation (walk, dedupe, label, map) and the web
page all go through here, on any store (index.stores). Which filtered ids
and which nearest rows a command gets is decided here and nowhere else.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from devise.core.errors import DataError, QueryError
from devise.index import filters
from devise.index.spaces import SPACES
from devise.index.store import OpenIndex, open_index
from devise.index.stores.base import VectorSpace

__all__ = [
    "SPACES",
    "Kept",
    "Selection",
    "filtered_ids",
    "image_features",
    "item_id",
    "nearest",
    "nearest_in",
    "open_selection",
]


def check_space(space: str) -> str:
    if space not in SPACES:
        raise QueryError(f"unknown space {space!r}; use one of {', '.join(SPACES)}.")
    return space


class Kept:
    """The ids a filter keeps, found only when asked for: a store that filters by itself (Milvus) gets the
    filter instead. Used as an array of sorted ids (np.asarray, len) wherever ids are needed."""

    def __init__(self, index: OpenIndex, flt: filters.Filter):
        self.index, self.filter, self._ids = index, flt, None

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = filters.select(self.index.items, self.filter)
        return self._ids

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        return self.ids if dtype is None else self.ids.astype(dtype)

    def __len__(self) -> int:
        return len(self.ids)


def nearest(space: VectorSpace, query: np.ndarray, top: int, allowed: npt.ArrayLike | Kept | None = None,
            exclude: Sequence[int] | set[int] = ()) -> list[tuple[int, float]]:
    """[(id, cosine)] best first among `allowed` (sorted ids, or Kept; None: all), never an id in `exclude`.

    `space`: an index's space (OpenIndex.space(kind)); each store answers a
    filtered query its own way (Annoy: widening, then an exact scan of the
    allowed rows; Milvus: the filter as its own boolean expression).
    """
    if allowed is None:
        return space.nearest(query, top, exclude=exclude)
    if isinstance(allowed, Kept):
        hits = space.nearest_where(query, top, allowed.filter, exclude=exclude)
        if hits is not None:
            return hits
    return space.nearest_among(query, top, np.asarray(allowed, np.int64), exclude=exclude)


def filtered_ids(idx: OpenIndex, filter_text: str | None) -> np.ndarray | Kept | None:
    """The items of `idx` that `filter_text` keeps (sorted ids, or Kept where the store filters by itself);
    None when there is no filter. A field no item carries is an error here, before any search."""
    if not filter_text or not filter_text.strip():
        return None
    known = idx.store.field_names()
    if known is None:
        return filters.select(idx.items, filter_text)
    flt = filters.parse(filter_text)
    filters.check_fields(flt, known)
    return Kept(idx, flt)


@dataclass
class Selection:
    index: OpenIndex
    items: list          # every item dict of the index, position = id
    ids: np.ndarray      # ids chosen by the filter, sorted

    def paths(self, ids: np.ndarray | Sequence[int] | None = None) -> list[str]:
        return [self.items[int(i)]["path"] for i in (self.ids if ids is None else ids)]

    def vectors(self, space: str, ids: np.ndarray | Sequence[int] | None = None) -> np.ndarray:
        """Unit rows of `space` ("features" or "words") for `ids` (default: the selection), in memory."""
        rows = self.ids if ids is None else np.asarray(ids, np.int64)
        return np.asarray(self.index.vectors(check_space(space))[rows], np.float32)


def open_selection(index: str | None = None, filter_text: str | None = None, minimum: int = 1) -> Selection:
    """Open `index` (default: the default one) and apply `filter_text`; at least `minimum` items must match."""
    idx = open_index(index)
    items = list(idx.items)
    ids = filters.select(items, filter_text)
    if len(ids) < minimum:
        what = f"filter {filter_text!r} matches" if filter_text else "the index holds"
        raise DataError(f"index {idx.name!r}: {what} {len(ids)} image(s); this needs at least {minimum}.")
    return Selection(idx, items, ids)


def item_id(selection: Selection, image: str | Path) -> int | None:
    """The id of `image` (a path) in the index, or None."""
    found = selection.index.items.find(os.path.abspath(image))
    return None if found is None else int(found)


def image_features(selection: Selection, image: str | Path) -> np.ndarray:
    """Feature vector of `image`: the stored one if indexed, else embedded through the index's backbone."""
    vector, _ = selection.index.image_features(image)
    return np.asarray(vector, np.float32)


def nearest_in(selection: Selection, space: str, vector: np.ndarray, ids: np.ndarray | Sequence[int] | None = None) -> int:
    """The id in `ids` (default: the selection) whose `space` vector is closest to `vector` (exact)."""
    rows = selection.ids if ids is None else np.asarray(ids, np.int64)
    sims = selection.vectors(space, rows) @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
    return int(rows[int(np.argmax(sims))])
