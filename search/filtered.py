"""Nearest neighbours among the items a `--filter` keeps.

A filter keeping few items is answered by an exact scan over just those
rows. Otherwise the index's own k-NN search is asked for 4x more results
at a time until `top` of them pass the filter; past MAX_WIDEN it falls back
to the exact scan, so a result is never missing because Annoy stopped early.
"""
from __future__ import annotations

import numpy as np

from devise.core.vectors import unit_rows

EXACT_SUBSET = 20_000
MAX_WIDEN = 4096


def nearest(space, query, top, allowed=None, exclude=()):
    """[(id, cosine)] best first among `allowed` ids (a sorted array; None: all), never an id in `exclude`."""
    if allowed is None:
        return space.nearest(query, top, exclude=exclude)
    query = unit_rows(query)
    exclude = set(exclude)
    if len(allowed) > EXACT_SUBSET and space.mode == "annoy":
        allowed_set = set(allowed.tolist())
        k = top * 4
        while k <= MAX_WIDEN:
            hits = [(i, s) for i, s in space.nearest(query, k, exclude) if i in allowed_set]
            if len(hits) >= top or k >= space.count:
                return hits[:top]
            k *= 4
    rows = np.array([i for i in allowed if i not in exclude], np.int64) if exclude else np.asarray(allowed, np.int64)
    sims = np.asarray(space.vectors[rows], np.float32) @ query
    best = np.argsort(-sims, kind="stable")[:top]
    return [(int(rows[j]), float(np.clip(sims[j], -1, 1))) for j in best]
