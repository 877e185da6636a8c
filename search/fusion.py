"""Several things in one query: fuse each thing's scores into one ranking.

Each thing (search.analyser.Term) scores the same candidate ids on its own
(search.text.term_scores). Averaging the things' vectors instead lands
near one of them or on a third thing ("pizza laptop" -> laptops only).
The fused ranking should put an image that shows every thing first and
otherwise give each thing its share of the page.

The rules below are kept side by side because bench/query_dev.py measures
them (docs/query.md); FUSE names the default, "gated":
  - "rrf": reciprocal-rank fusion, sum_t w_t / (RRF_K + rank_t) with the
    weights summing to 1, so that an image ranked first by every thing
    scores 1. It interleaves the things' lists: each gets its share of
    the page. But an image that shows both things, and so ranks only
    ~15th for each, loses to each thing's own first hits;
  - "soft_and": each thing's scores min-max normalised over the candidates,
    then a weighted power mean with AND_POWER < 0 (a soft minimum): an
    image must do well on every thing. Without such an image it fills the
    page with one thing;
  - "and_rrf": the mean of the two;
  - "gated": rrf, plus soft_and where an image does well on every thing
    (soft_and >= AND_GATE), halved: such images come first, the page is
    shared otherwise;
  - "mean": the weighted mean of the raw scores (a late-fusion baseline).
"""
import numpy as np
import numpy.typing as npt

RRF_K = 1
AND_POWER = -4.0  # soft_and's power mean: 0 would be the geometric mean, -inf the minimum
FUSE = "gated"
METHODS = ("rrf", "soft_and", "and_rrf", "gated", "mean")
AND_GATE = 0.8


def _ranks(scores):
    """0-based rank of each candidate under `scores`, best first (ties keep candidate order)."""
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), np.float64)
    ranks[order] = np.arange(len(scores))
    return ranks


def _rrf(scores, weights):
    ranks = np.stack([_ranks(s) for s in scores])
    return (weights[:, None] * (RRF_K + 1) / (RRF_K + 1 + ranks)).sum(axis=0)


def _soft_and(scores, weights):
    low, high = scores.min(axis=1, keepdims=True), scores.max(axis=1, keepdims=True)
    normal = np.maximum((scores - low) / np.maximum(high - low, 1e-12), 1e-3)
    return (weights[:, None] * normal ** AND_POWER).sum(axis=0) ** (1.0 / AND_POWER)


def fuse(scores: npt.ArrayLike, weights: npt.ArrayLike, method: str | None = None) -> np.ndarray:
    """scores: [T, n] per-thing scores of the same n candidates; weights: [T]. Returns [n] fused scores."""
    method = method or FUSE
    scores = np.asarray(scores, np.float64)
    weights = np.abs(np.asarray(weights, np.float64))
    weights = weights / max(float(weights.sum()), 1e-12)
    if len(scores) == 1:
        return scores[0]
    if method == "rrf":
        return _rrf(scores, weights)
    if method == "soft_and":
        return _soft_and(scores, weights)
    if method == "and_rrf":
        return (_soft_and(scores, weights) + _rrf(scores, weights)) / 2
    if method == "gated":
        both = _soft_and(scores, weights)
        return (np.where(both >= AND_GATE, both, 0.0) + _rrf(scores, weights)) / 2
    if method == "mean":
        return (weights[:, None] * scores).sum(axis=0)
    raise ValueError(f"unknown fusion {method!r}; use one of {', '.join(METHODS)}")
