"""Greedy nearest-neighbour tours on plain arrays: an approximate travelling-salesman path.

From the start, always step to the nearest item not yet visited. Nothing
is rebuilt or deleted per step: neighbours come from a k-NN source and a
visited mask; when all k neighbours are visited, k is widened (x4), and
only when even max_k neighbours are all visited does an exact scan run,
over a pool of unvisited rows that is compacted once half of it is used
(so the scans cost O(n d) amortised per halving, not O(n d) per step).

k-NN source: a dense similarity matrix up to DENSE_MAX items (exact);
above, an Annoy index built once over the rows, reduced to REDUCED_DIM
dimensions by PCA when wider: the tour only needs the order of near
neighbours, which 64 principal components keep (tour lengths are always
measured in the full space).
"""
import numpy as np

from devise.core.vectors import unit_rows
from devise.index.ann import annoy_index

DENSE_MAX = 4096
REDUCED_DIM = 64
TREES = 10
K0, MAX_K = 10, 640


def reduce_dim(vectors, dim=REDUCED_DIM, sample=20_000, seed=0):
    """Unit rows projected on the top `dim` principal axes (of a sample of at most `sample` rows)."""
    if vectors.shape[1] <= dim:
        return unit_rows(vectors)
    rng = np.random.default_rng(seed)
    rows = vectors if len(vectors) <= sample else vectors[rng.choice(len(vectors), sample, replace=False)]
    mean = rows.mean(axis=0)
    _, eigvecs = np.linalg.eigh(np.cov((rows - mean).T).astype(np.float64))
    axes = eigvecs[:, ::-1][:, :dim].astype(np.float32)
    return unit_rows((vectors - mean) @ axes)


class _Dense:
    def __init__(self, vectors):
        self.sims = vectors @ vectors.T

    def nearest(self, i, k, visited):
        # All neighbours at once: one masked argmax per step, no widening needed.
        row = np.where(visited, -np.inf, self.sims[i])
        return np.array([int(np.argmax(row))])


class _Annoy:
    def __init__(self, vectors, trees=TREES, seed=0):
        self.ann = annoy_index(vectors, trees, seed)

    def nearest(self, i, k, visited):
        return np.asarray(self.ann.get_nns_by_item(int(i), k + 1), np.int64)


def knn_source(vectors):
    vectors = unit_rows(vectors)
    return _Dense(vectors) if len(vectors) <= DENSE_MAX else _Annoy(reduce_dim(vectors))


def greedy_tour(vectors, start=0, limit=None, source=None, k0=K0, max_k=MAX_K):
    """(order of row numbers, stats) visiting each row once (the first `limit` steps only, if given)."""
    vectors = unit_rows(vectors)
    n = len(vectors)
    limit = n if limit is None else min(limit, n)
    source = source or knn_source(vectors)
    visited = np.zeros(n, bool)
    order = np.empty(limit, np.int64)
    order[0], visited[start] = start, True
    stats = {"widened": 0, "exact_scans": 0}
    pool, pool_vectors = np.arange(n), vectors
    current = start
    for step in range(1, limit):
        nxt, k = -1, k0
        while True:
            cand = source.nearest(current, min(k, n - 1), visited)
            fresh = cand[~visited[cand]]
            if len(fresh):
                nxt = int(fresh[0])
                break
            if k >= max_k or k >= n - 1:
                break
            k *= 4
            stats["widened"] += 1
        if nxt < 0:
            stats["exact_scans"] += 1
            if visited[pool].mean() > 0.5:
                pool = pool[~visited[pool]]
                pool_vectors = vectors[pool]
            sims = pool_vectors @ vectors[current]
            sims[visited[pool]] = -np.inf
            nxt = int(pool[int(np.argmax(sims))])
        order[step], visited[nxt], current = nxt, True, nxt
    return order, stats


def tour_length(vectors, order):
    """Sum of Euclidean steps between consecutive unit vectors (= sqrt(2 - 2 cos))."""
    v = unit_rows(vectors)[np.asarray(order)]
    cos = np.einsum("ij,ij->i", v[:-1], v[1:])
    return float(np.sqrt(np.maximum(2.0 - 2.0 * cos, 0.0)).sum())


def random_length(vectors, count, seed=0):
    """Length of a random order through `count` random rows: the baseline a tour must beat."""
    rng = np.random.default_rng(seed)
    return tour_length(vectors, rng.permutation(len(vectors))[:count])
