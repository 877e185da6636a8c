"""Searchable rows of one space: exact NumPy, or through a checked Annoy file (index.ann), one interface."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from devise.core.errors import SearchIndexError
from devise.core.vectors import unit_rows
from devise.index import ann, tuning
from devise.index.stores.base import VectorSpace

# A filter keeping few items is answered by an exact scan over just those
# rows. Otherwise Annoy is asked for 4x more results at a time until `top`
# of them pass the filter; past MAX_WIDEN it falls back to the exact scan,
# so a result is never missing because Annoy stopped early.
EXACT_SUBSET = 20_000
MAX_WIDEN = 4096


class AnnoySpace(VectorSpace):
    """Searchable rows: `vectors` [n, dim] (unit rows unless `norms` is given) and an optional Annoy file."""

    def __init__(self, vectors: np.ndarray, mode: str, ann_path: str | Path | None = None,
                 n_trees: int = tuning.DEFAULT_TREES, norms: np.ndarray | None = None, label: str = "index",
                 projection: np.ndarray | None = None):
        """projection: [dim, d] (pca_projection): the Annoy file indexes the projected rows, and
        each query's candidates are re-ranked exactly against `vectors`."""
        self.vectors, self.mode, self.n_trees, self.label = vectors, mode, n_trees, label
        self.norms, self.projection = norms, projection
        self.count, self.dim = int(vectors.shape[0]), int(vectors.shape[1])
        self._ann = None
        if mode == "annoy":
            self._ann = self._load_annoy(ann_path)

    def _load_annoy(self, path):
        from annoy import AnnoyIndex

        dim = self.dim if self.projection is None else int(self.projection.shape[1])
        ann.check_nodes(path, dim, self.count)
        index = AnnoyIndex(dim, ann.METRIC)
        try:
            index.load(str(path))
        except OSError as exc:
            raise SearchIndexError(f"{path}: not a {dim}-d angular Annoy index ({exc}); re-index.") from None
        if index.get_n_items() != self.count:
            raise SearchIndexError(f"{path}: holds {index.get_n_items()} items but the {self.label} has {self.count}; re-index.")
        return index

    def vector(self, i: int) -> np.ndarray:
        row = np.array(self.vectors[i], np.float32)
        return row if self.norms is None else row / max(float(self.norms[i]), 1e-12)

    def nearest(self, query: np.ndarray, k: int, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """[(id, cosine)] best first, at most k, never an id in `exclude`."""
        query = unit_rows(query)
        exclude = set(exclude)
        want = min(self.count, k + len(exclude))
        if want <= 0:
            return []
        if self._ann is not None and self.projection is not None:
            ids, scores = self._reranked(query, want)
        elif self._ann is not None:
            ids, dist = self._ann.get_nns_by_vector(
                query, want, search_k=tuning.search_k(self.n_trees, want, self.dim), include_distances=True)
            scores = ann.cosine_from_angular(dist)
        else:
            # einsum, not BLAS: one query is memory-bound, and OpenBLAS's thread
            # pool stalls for ~16 ms whenever the machine is busy (measured).
            sims = np.einsum("ij,j->i", self.vectors, query).astype(np.float64)
            if self.norms is not None:
                sims = sims / np.maximum(np.asarray(self.norms, np.float64), 1e-12)
            ids = np.argpartition(-sims, want - 1)[:want] if want < self.count else np.arange(self.count)
            ids = ids[np.argsort(-sims[ids], kind="stable")]
            scores = np.clip(sims[ids], -1.0, 1.0)
        out = [(int(i), float(s)) for i, s in zip(ids, scores) if int(i) not in exclude]
        return out[:k]

    def _reranked(self, query, want):
        """(ids, cosines) of the best `want`: candidates from the compressed trees, scored on the full rows."""
        short = unit_rows(query @ self.projection)
        n = min(self.count, max(want, tuning.rerank_candidates(want, self.count)))
        assert self._ann is not None  # nearest calls this only with a loaded Annoy file
        found = np.asarray(self._ann.get_nns_by_vector(short, n, search_k=tuning.SEARCH_K_PER_CANDIDATE * n), np.int64)
        if not len(found):
            return found, np.zeros(0)
        found.sort()  # in row order: the memory map is read front to back
        sims = np.asarray(self.vectors[found], np.float32) @ query
        best = np.argsort(-sims, kind="stable")[:want]
        return found[best], np.clip(sims[best].astype(np.float64), -1.0, 1.0)

    def nearest_among(self, query: np.ndarray, k: int, allowed: np.ndarray,
                      exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        """As nearest, among the ids `allowed` (a sorted int array) only."""
        query = unit_rows(query)
        exclude = set(exclude)
        if len(allowed) > EXACT_SUBSET and self._ann is not None:
            allowed_set = set(allowed.tolist())
            want = k * 4
            while want <= MAX_WIDEN:
                hits = [(i, s) for i, s in self.nearest(query, want, exclude) if i in allowed_set]
                if len(hits) >= k or want >= self.count:
                    return hits[:k]
                want *= 4
        rows = np.array([i for i in allowed if i not in exclude], np.int64) if exclude else np.asarray(allowed, np.int64)
        sims = np.asarray(self.vectors[rows], np.float32) @ query
        if self.norms is not None:
            sims = sims / np.maximum(np.asarray(self.norms, np.float32)[rows], 1e-12)
        best = np.argsort(-sims, kind="stable")[:k]
        return [(int(rows[j]), float(np.clip(sims[j], -1, 1))) for j in best]
