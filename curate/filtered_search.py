"""`search --filter` and `similar --filter`: nearest neighbours among the items a filter keeps.

A filter keeping few items is answered by an exact scan over just those
rows. Otherwise the index's own k-NN search is asked for 4x more results
at a time until `top` of them pass the filter; past MAX_WIDEN it falls back
to the exact scan, so a result is never missing because Annoy stopped early.
"""
import os

import numpy as np

from devise.index import filters

EXACT_SUBSET = 20_000
MAX_WIDEN = 4096


def nearest(space, query, top, allowed, exclude=()):
    """[(id, cosine)] best first among `allowed` ids (a sorted array), never an id in `exclude`."""
    query = np.asarray(query, np.float32)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    exclude = set(exclude)
    allowed_set = None
    if len(allowed) > EXACT_SUBSET and space.mode == "annoy":
        allowed_set = set(allowed.tolist())
        k = top * 4
        while k <= MAX_WIDEN:
            hits = [(i, s) for i, s in space.nearest(query, k, exclude) if i in allowed_set]
            if len(hits) >= top or k >= space.count:
                return hits[:top]
            k *= 4
    rows = np.array([i for i in allowed if i not in exclude], np.int64) if exclude else allowed
    sims = np.asarray(space.vectors[rows], np.float32) @ query
    best = np.argsort(-sims, kind="stable")[:top]
    return [(int(rows[j]), float(np.clip(sims[j], -1, 1))) for j in best]


def search(query, index=None, top=10, sheet=None, filter_text=None):
    """Like search.text.search, among the items matching `filter_text`."""
    from devise.index.store import open_index
    from devise.search.query import query_vector
    from devise.search.results import write_sheet

    idx = open_index(index)
    allowed = filters.select(idx.items, filter_text)
    vector, _ = query_vector(query, idx.word_vectors())
    results = idx.results(nearest(idx.space("words"), vector, top, allowed))
    if sheet:
        write_sheet(results, sheet, f"{query} [{filter_text}]  (index {idx.name})")
    return results


def similar(image, index=None, top=10, sheet=None, filter_text=None):
    """Like search.image.similar, among the items matching `filter_text`."""
    from devise.index.store import open_index
    from devise.search.image import _query_vector
    from devise.search.results import write_sheet

    idx = open_index(index)
    allowed = filters.select(idx.items, filter_text)
    vector, exclude = _query_vector(idx, image)
    results = idx.results(nearest(idx.space("features"), vector, top, allowed, exclude))
    if sheet:
        write_sheet(results, sheet, f"like {os.path.basename(image)} [{filter_text}]  (index {idx.name})")
    return results
