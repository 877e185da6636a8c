"""Several things in one query: fuse each thing's scores into one ranking.

Each thing (search.analyser.Term) scores the same candidate ids on its own
(search.text.term_scores). Averaging the things' vectors instead lands
near one of them or on a third thing ("pizza laptop" -> laptops only).
The fused ranking should put an image that shows every thing first and
otherwise give each thing its share of the page.

Three rules are kept here because bench/query_dev.py measures them side by
side (its table is in docs/query.md); FUSE names the default:
  - "rrf": reciprocal-rank fusion, sum_t w_t / (RRF_K + rank_t), scaled so
    that an image ranked first by every thing scores 1;
  - "soft_and": each thing's scores min-max normalised over the candidates,
    then their weighted geometric mean (an image must do well on all);
  - "mean": the weighted mean of the raw scores (a late-fusion baseline).
"""
import numpy as np

RRF_K = 10
FUSE = "rrf"
METHODS = ("rrf", "soft_and", "mean")


def _ranks(scores):
    """0-based rank of each candidate under `scores`, best first (ties keep candidate order)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), np.float64)
    ranks[order] = np.arange(len(scores))
    return ranks


def fuse(scores, weights, method=None):
    """scores: [T, n] per-thing scores of the same n candidates; weights: [T]. Returns [n] fused scores."""
    method = method or FUSE
    scores = np.asarray(scores, np.float64)
    weights = np.abs(np.asarray(weights, np.float64))
    weights = weights / max(weights.sum(), 1e-12)
    if len(scores) == 1:
        return scores[0]
    if method == "rrf":
        ranks = np.stack([_ranks(s) for s in scores])
        return (weights[:, None] * (RRF_K + 1) / (RRF_K + 1 + ranks)).sum(axis=0)
    if method == "soft_and":
        low, high = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
        normal = (scores - low) / np.maximum(high - low, 1e-12)
        return np.exp((weights[:, None] * np.log(np.maximum(normal, 1e-3))).sum(axis=0))
    if method == "mean":
        return (weights[:, None] * scores).sum(axis=0)
    raise ValueError(f"unknown fusion {method!r}; use one of {', '.join(METHODS)}")
