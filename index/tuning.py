"""Annoy settings and the exact-search threshold, with the measurements behind them.

All figures come from `python bench/ann.py` (2 CPU cores; re-run it on new
hardware and adjust here). The numbers below are quoted in the README's
trade-offs section.

- recall@10 against exact search, 20 trees, search_k = 1000 * k:
  GloVe 6B 50-d (400k words) 0.96; 100k image features (1280-d) 0.98.
  Annoy's own default search_k (n_trees * k) reaches only 0.54 on GloVe:
  word vectors are much harder to partition than image features.
- single-query latency: exact NumPy is faster than Annoy at these settings
  up to about EXACT_BELOW items, in both the 50-d word space and the
  1280-d feature space (both costs grow with the dimension, so the
  crossover is nearly dimension-free). Below it, exact search is used by
  itself: recall 1.0 and faster.
"""

DEFAULT_TREES = 20
SEARCH_K_PER_RESULT = 1000
EXACT_BELOW = 20_000
SEED = 0
# One build thread: Annoy's multi-threaded build hands trees to threads in a
# racy order, so the same seed would give different files (and results).
BUILD_THREADS = 1


def search_k(n_trees, k):
    """Nodes Annoy inspects for k results: never below its own default (n_trees * k)."""
    return max(n_trees, SEARCH_K_PER_RESULT) * max(k, 1)


def choose_mode(count):
    """("exact" | "annoy", why): exact search by itself where it is the faster one."""
    if count < EXACT_BELOW:
        return "exact", f"n={count} is below {EXACT_BELOW}, where exact NumPy search is faster than Annoy (recall 1.0)"
    return "annoy", f"n={count} is at or above {EXACT_BELOW}, where Annoy is faster than exact NumPy search"
