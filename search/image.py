"""Image -> images: `devise similar IMAGE`, by cosine similarity of raw backbone features.

An image already in the index (same path, size and mtime) is looked up by
its stored feature vector, with no model loaded; any other file is
embedded on the fly through the index's backbone (which loads TensorFlow).
"""
from __future__ import annotations

import os
from pathlib import Path

from devise.index.selection import filtered_ids, nearest
from devise.index.store import open_index
from devise.search.results import SearchResults, write_sheet
from devise.search.text import hits_of


def similar(image: str | Path, *, index: str | None = None, top: int = 10, filter: str | None = None,
            sheet: str | Path | None = None) -> SearchResults:
    """Images that look like `image` (indexed or not), best first, never `image` itself."""
    idx = open_index(index)
    allowed = filtered_ids(idx, filter)
    vector, exclude = idx.image_features(image)
    hits = hits_of(idx, nearest(idx.space("features"), vector, top, allowed, exclude))
    title = f"like {os.path.basename(image)}" + (f" [{filter}]" if filter else "") + f"  (index {idx.name})"
    written = write_sheet(hits, sheet, title) if sheet else None
    return SearchResults(str(image), idx.name, hits, filter, written)
