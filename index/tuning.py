"""Annoy settings and the exact-search thresholds, with the measurements behind them.

All figures come from `python bench/ann.py` on 2 busy CPU cores (re-run it
on new hardware and adjust here); the README's trade-offs section quotes
them. Settings are per kind of space, told apart by dimension: word
vectors (50-300-d) and backbone features (1280-d and up).

- recall@10 against exact search, 20 trees: GloVe 6B 50-d (400k words)
  0.99 at search_k = 3000 * k; 100k image features (1280-d, held-out
  queries) 0.97 at 5000 * k (only 0.955 at 3000 * k). Annoy's own default
  search_k (n_trees * k) reaches 0.56 and 0.68: it is tuned for speed.
  More trees barely help the image features; a larger search_k does.
- single-query latency: exact search costs ~n * dim, Annoy ~search_k
  * dim plus a per-node overhead that does not shrink with the dimension,
  so in the 50-d word space exact search stays faster up to ~150k items,
  in the 1280-d feature space up to ~50k. Below those sizes exact search
  is used by itself: recall 1.0 and faster.

`devise index --method annoy|exact` overrides the size rule ("auto"), e.g.
to test Annoy on a small collection or to insist on exact results.
"""

DEFAULT_TREES = 20
# Image features get Annoy trees over a PCA projection to COMPRESS_DIMS, and the
# candidates those trees find are re-ranked exactly from the float32 rows:
# cheaper trees, exact scores. `python bench/stores.py` measures it beside the
# uncompressed default (100k synthetic clustered 1280-d vectors, 2 busy cores:
# recall@10 1.000 at 200 candidates and search_k 5000, against 0.9965 at
# 100 / 2000). Collections under COMPRESS_FROM rows keep plain trees.
# The candidates grow with the collection, one per RERANK_ROWS_PER_CANDIDATE rows:
# a denser collection puts more rows that PCA cannot tell apart around each
# query. At 1M synthetic rows 200 candidates gave recall@10 0.705 whatever the
# search_k (5,000 or 20,000), 1,000 candidates 1.000 (search_k 25,000; p50 16 ms
# on 2 busy cores); 9k and 100k rows stay at 200 (1.000 there).
COMPRESS_DIMS = 256
COMPRESS_FROM = 2 * COMPRESS_DIMS
PCA_SAMPLE = 10_000
RERANK_MIN, RERANK_PER_RESULT, SEARCH_K_PER_CANDIDATE, RERANK_ROWS_PER_CANDIDATE = 200, 20, 25, 1000
LOW_DIM = 300
SEARCH_K_PER_RESULT = {"words": 3000, "features": 5000}
EXACT_BELOW = {"words": 150_000, "features": 50_000}
SEED = 0
METHODS = ("auto", "annoy", "exact")
# One build thread: Annoy's multi-threaded build hands trees to threads in a
# racy order, so the same seed would give different files (and results).
BUILD_THREADS = 1


def space_kind(dim: int) -> str:
    return "words" if dim <= LOW_DIM else "features"


def search_k(n_trees: int, k: int, dim: int) -> int:
    """Nodes Annoy inspects for k results: never below its own default (n_trees * k)."""
    return max(n_trees, SEARCH_K_PER_RESULT[space_kind(dim)]) * max(k, 1)


def rerank_candidates(k: int, count: int = 0) -> int:
    """How many candidates the compressed trees hand to the exact re-rank for k results among `count` rows."""
    return max(RERANK_MIN, RERANK_PER_RESULT * max(k, 1), count // RERANK_ROWS_PER_CANDIDATE)


def compressed_rule() -> str:
    return (f"PCA-{COMPRESS_DIMS} trees, search_k {SEARCH_K_PER_CANDIDATE} * candidates, "
            f"exact re-rank of max({RERANK_MIN}, {RERANK_PER_RESULT} * k, rows / {RERANK_ROWS_PER_CANDIDATE}) "
            f"candidates")


def search_k_rule(dim: int) -> str:
    return f"max(n_trees, {SEARCH_K_PER_RESULT[space_kind(dim)]}) * k"


def choose_mode(count: int, dim: int, method: str = "auto") -> tuple[str, str]:
    """("exact" | "annoy", why): the forced `method`, else exact search where it is the faster one."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method != "auto":
        return method, f"method {method} chosen for this index, whatever its size"
    limit = EXACT_BELOW[space_kind(dim)]
    if count < limit:
        return "exact", f"{count:,} vectors: below {limit:,}, exact NumPy search beats Annoy at {dim}-d, with recall 1.0"
    return "annoy", f"{count:,} vectors: from {limit:,} on, Annoy beats exact NumPy search at {dim}-d"
