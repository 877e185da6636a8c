"""The items a curation command works on: an open index, its item dicts, and the filtered ids."""
import os
from dataclasses import dataclass

import numpy as np

from devise.core.errors import DataError, QueryError
from devise.index import filters

SPACES = ("features", "words")


@dataclass
class Selection:
    index: object        # index.store.OpenIndex
    items: list          # every item dict of the index, position = id
    ids: np.ndarray      # ids chosen by the filter, sorted

    def paths(self, ids=None):
        return [self.items[int(i)]["path"] for i in (self.ids if ids is None else ids)]

    def vectors(self, space, ids=None):
        """Unit rows of `space` ("features" or "words") for `ids` (default: the selection), in memory."""
        if space not in SPACES:
            raise QueryError(f"unknown space {space!r}; use one of {', '.join(SPACES)}.")
        rows = self.ids if ids is None else np.asarray(ids, np.int64)
        return np.asarray(self.index.vectors(space)[rows], np.float32)


def select(index=None, filter_text=None, minimum=1):
    """Open `index` (default: the default one) and apply `filter_text`; at least `minimum` items must match."""
    from devise.index.store import open_index

    idx = open_index(index)
    items = list(idx.items)
    ids = filters.select(items, filter_text)
    if len(ids) < minimum:
        what = f"filter {filter_text!r} matches" if filter_text else "the index holds"
        raise DataError(f"index {idx.name!r}: {what} {len(ids)} image(s); this needs at least {minimum}.")
    return Selection(idx, items, ids)


def item_id(selection, image):
    """The id of `image` (a path) in the index, or None."""
    found = selection.index.items.find(os.path.abspath(image))
    return None if found is None else int(found)


def text_vector(selection, text):
    from devise.search.query import query_vector

    vector, _ = query_vector(text, selection.index.word_vectors())
    return np.asarray(vector, np.float32)


def image_features(selection, image):
    """Feature vector of `image`: the stored one if indexed, else embedded through the index's backbone."""
    vector, _ = selection.index.image_features(image)
    return np.asarray(vector, np.float32)


def nearest_in(selection, space, vector, ids=None):
    """The id in `ids` (default: the selection) whose `space` vector is closest to `vector` (exact)."""
    rows = selection.ids if ids is None else np.asarray(ids, np.int64)
    sims = selection.vectors(space, rows) @ (vector / max(float(np.linalg.norm(vector)), 1e-12))
    return int(rows[int(np.argmax(sims))])
