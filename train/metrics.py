"""Zero-shot metrics: hit@k for ZSL and GZSL, the harmonic mean H, calibrated stacking."""
import numpy as np

from devise.models.feedback import feedback_scores
from devise.models.seen_margin import best_seen_cos, margin_scores, pool_size

KS = (1, 2, 5, 10)


def hits_at_k(image_vectors, label_vectors, true_index, ks=KS, label_bias=None):
    """Fraction of images whose true label is among the k highest-scoring labels.

    `label_bias` is added to every image's score for each label; calibrated
    stacking passes -gamma for seen labels so they stop swamping unseen ones.
    """
    if len(true_index) == 0:
        return {f"hit@{k}": float("nan") for k in ks}
    scores = np.asarray(image_vectors, np.float32) @ np.asarray(label_vectors, np.float32).T
    if label_bias is not None:
        scores = scores + label_bias[None, :]
    true_index = np.asarray(true_index)
    true_scores = scores[np.arange(len(true_index)), true_index]
    # Rank = number of labels that score strictly higher than the true one.
    rank = (scores > true_scores[:, None]).sum(axis=1)
    return {f"hit@{k}": float((rank < k).mean()) for k in ks}


def harmonic(a, b):
    return 0.0 if a + b == 0 or np.isnan(a) or np.isnan(b) else float(2 * a * b / (a + b))


def zsl_gzsl(vec_unseen, y_unseen, vec_seen, y_seen, label_vectors, seen_mask, gamma=0.0):
    """All the numbers of one evaluation.

    y_unseen / y_seen index rows of `label_vectors` (all classes); seen_mask
    marks which rows are seen classes.
    """
    unseen_rows = np.flatnonzero(~seen_mask)
    remap = {row: i for i, row in enumerate(unseen_rows)}
    zsl = hits_at_k(vec_unseen, label_vectors[unseen_rows], [remap[y] for y in y_unseen])
    bias = np.where(seen_mask, -gamma, 0.0).astype(np.float32)
    g_unseen = hits_at_k(vec_unseen, label_vectors, y_unseen, label_bias=bias)
    g_seen = hits_at_k(vec_seen, label_vectors, y_seen, label_bias=bias)
    return {"zsl": zsl, "gzsl_unseen": g_unseen, "gzsl_seen": g_seen,
            "gzsl_h": harmonic(g_unseen["hit@1"], g_seen["hit@1"])}


def novelty_rate(seen_vectors, label_vectors, seen_mask, gamma=0.0):
    """Share of seen-class images whose top label, after the seen-label penalty, is an unseen one."""
    if len(seen_vectors) == 0:
        return float("nan")
    scores = np.asarray(seen_vectors, np.float32) @ np.asarray(label_vectors, np.float32).T
    scores = scores - np.where(seen_mask, gamma, 0.0).astype(np.float32)[None, :]
    return float((~np.asarray(seen_mask)[scores.argmax(axis=1)]).mean())


def search_precision(vectors, y, query_rows, label_vectors, seen_mask, gammas, k=10, features=None):
    """[len(gammas)] mean precision@k of searching each `query_rows` label over `vectors` as search
    ranks: each query's candidates are its cosine top seen_margin.pool_size(k, N), re-ranked by the
    seen-class margin score (models.seen_margin) with each gamma, then, where the images' unit
    `features` are given, by visual feedback (models.feedback); y indexes rows of `label_vectors`."""
    vectors, y = np.asarray(vectors, np.float32), np.asarray(y)
    k = min(k, len(y))
    best = best_seen_cos(vectors, label_vectors[np.asarray(seen_mask)])
    cos = vectors @ np.asarray(label_vectors, np.float32)[list(query_rows)].T          # [N, Q]
    pool = pool_size(k, len(y))
    in_pool = np.zeros(cos.shape, bool)
    np.put_along_axis(in_pool, np.argpartition(-cos, pool - 1, axis=0)[:pool], True, axis=0)
    # Feedback only moves candidates, so it runs on the rows some query's pool holds (CIFAR-10's
    # folds: about 1,000 of 16,000), which keeps calibration's cost close to that of no feedback.
    rows = np.flatnonzero(in_pool.any(axis=1))
    pooled_features = None if features is None else np.asarray(features, np.float32)[rows]
    out = np.zeros(len(gammas))
    for g, gamma in enumerate(gammas):
        scores = np.where(in_pool, margin_scores(cos, best[:, None], gamma), np.float32(-np.inf))
        if pooled_features is not None:
            refined = feedback_scores(np.where(in_pool[rows], scores[rows], np.float32(-1e9)), pooled_features)
            scores[rows] = np.where(in_pool[rows], refined, -np.inf)
        top = np.argpartition(-scores, k - 1, axis=0)[:k]                          # [k, Q]
        out[g] = np.mean(y[top] == np.asarray(list(query_rows))[None, :])
    return out


def chance(n_unseen, n_all, n_seen_test, n_unseen_test, ks=KS):
    """Expected hit@k of a uniformly random ranking."""
    zsl = {f"hit@{k}": min(1.0, k / n_unseen) for k in ks}
    g = {f"hit@{k}": min(1.0, k / n_all) for k in ks}
    return {"zsl": zsl, "gzsl_unseen": dict(g), "gzsl_seen": dict(g), "gzsl_h": harmonic(g["hit@1"], g["hit@1"])}
