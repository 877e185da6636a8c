"""Text search over a trained model's index: each image's score loses the lead of its best seen class.

A trained head maps images of its seen classes firmly onto their class
vectors, so a query for a word near a seen class ("windsor chair" beside
"chair", "emu" beside "pigeon") brings that seen class's images first.
Calibrated stacking fixes the same bias in tagging by lowering every seen
label's score by gamma. Search takes the rule from the query's side: an
image whose best seen label, lowered by gamma, still beats the query loses
that lead from its score,

    score = cos(q, v) - max(0, max_s cos(s, v) - gamma - cos(q, v)),

so the images ranked first are those the query would also win as a tag.
Seen labels the query itself names (cosine above SAME_LABEL) are left out:
searching a seen class ranks it as before. gamma is chosen for search on
the seen-class folds (train.trainer.calibrate), like the tagging gamma.
"""
import numpy as np

SAME_LABEL = 0.999
# Candidates re-ranked per query: this many, or `top` where more are asked for. A pool that does not
# grow with `top` keeps pages consistent: the first 10 of `--top 100` are `--top 10`'s, for any top up
# to MIN_POOL. Growing it with top (20 x top) re-ranked deeper (Caltech-101 split 0, held-out phrases:
# precision@100 0.420 against 0.387) but changed the first page of 1 query in 20 at top 100.
MIN_POOL = 500


def margin_scores(query_cos, best_seen_cos, gamma):
    """Scores from cos(query, image) and each image's best seen-label cosine (arrays of one shape)."""
    return query_cos - np.maximum(0.0, best_seen_cos - gamma - query_cos)


def best_seen_cos(vectors, seen_labels, query=None):
    """Each image's highest cosine to a seen label, leaving out labels the (unit) `query` coincides with."""
    seen = np.asarray(seen_labels, np.float32)
    if query is not None:
        seen = seen[seen @ np.asarray(query, np.float32) <= SAME_LABEL]
    if len(seen) == 0:
        return np.full(len(vectors), -np.inf, np.float32)
    return (np.asarray(vectors, np.float32) @ seen.T).max(axis=1)


def pool_size(top, count):
    """How many of the `count` items' nearest candidates a query with `top` results re-ranks."""
    return min(count, max(MIN_POOL, top))


def pool_arrays(pairs):
    """[(id, cosine)] candidates -> (ids, cosines), two arrays in candidate order."""
    return np.array([i for i, _ in pairs], np.int64), np.array([s for _, s in pairs], np.float32)


def candidate_scores(pairs, vectors, query, seen_labels, gamma):
    """[(id, cosine)] candidates -> (ids, margin scores), two arrays in candidate order."""
    ids, cos = pool_arrays(pairs)
    if not len(ids):
        return ids, cos
    return ids, margin_scores(cos, best_seen_cos(vectors[ids], seen_labels, query), gamma)


def best_first(ids, scores, top):
    """The `top` best [(id, score)], sorted by the score (ties keep candidate order)."""
    order = np.argsort(-np.asarray(scores), kind="stable")[:top]
    return [(int(ids[j]), float(scores[j])) for j in order]
