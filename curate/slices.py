"""Slice discovery: clusters of similar images whose mean score sits far from the collection's.

In the spirit of sliceguard: cluster on what the images look like (unit
backbone features), then ask, per cluster, whether a per-image score (the
`alignment` field by default) is unusually high or low there. Pure NumPy
and scikit-learn on arrays; reading an index and writing the report live
in `curate.slice_report`.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from devise.core.errors import DataError, option
from devise.core.vectors import unit_rows
from devise.search.tag import rank

K_MIN, K_MAX = 2, 100
MINIBATCH_ABOVE = 30_000  # full k-means on more images takes minutes


@dataclass
class Slice:
    cluster: int
    members: np.ndarray      # row numbers in the arrays given to find_slices, nearest the centre first
    mean: float
    diff: float              # mean - overall mean
    z: float                 # diff in standard errors of a mean of this size
    direction: str           # "above" or "below"
    extra: dict = field(default_factory=dict)

    @property
    def size(self):
        return len(self.members)


def default_k(n):
    # sqrt(n/2) is the old rule of thumb; the bounds keep tiny folders and huge ones sensible.
    return int(min(K_MAX, max(K_MIN, round(math.sqrt(n / 2)))))


def cluster(features, k=None, method="kmeans", seed=0, min_support=5):
    """Labels per row (-1: noise, HDBSCAN only) and the number of clusters."""
    features = np.asarray(features, np.float32)
    n = len(features)
    if method == "hdbscan":
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=max(2, min_support), copy=True).fit_predict(features)
        return labels, int(labels.max()) + 1
    if method != "kmeans":
        raise DataError(f"unknown clustering method {method!r}; use kmeans or hdbscan.")
    k = min(int(k or default_k(n)), n)
    if k < 1:
        raise DataError("nothing to cluster.")
    from sklearn.cluster import KMeans, MiniBatchKMeans

    # Features are unit rows, so Euclidean k-means is spherical k-means up to the centroid norm.
    # float64: scikit-learn's float32 path upcasts chunk by chunk, 5x slower in k-means++ seeding.
    # One k-means++ start: on Caltech-101 (8k x 1280-d) three starts cost 40 s instead of 8 s, and
    # two seeds agree no better (ARI ~0.7) than one seed with another dimension reduction does.
    if n > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=seed)
    else:
        model = KMeans(n_clusters=k, n_init=1, random_state=seed)
    return model.fit_predict(features.astype(np.float64)), k


def rank_clusters(features, scores, labels, min_support=5, min_drop=None):
    """Clusters of at least `min_support` scored images whose mean differs from the overall by `min_drop`.

    `min_drop` None means half the standard deviation of the scores. Images
    without a score (NaN) count towards nothing. Returns (slices above the
    mean, best first; slices below, worst first; stats dict).
    """
    scores = np.asarray(scores, np.float64)
    scored = ~np.isnan(scores)
    if scored.sum() < 2:
        raise DataError(f"fewer than two images have a score; run `devise score` first (or pick {option('field')}).")
    overall, std = float(scores[scored].mean()), float(scores[scored].std())
    threshold = 0.5 * std if min_drop is None else float(min_drop)
    above, below, considered = [], [], 0
    features = np.asarray(features, np.float32)
    for c in sorted(set(labels.tolist()) - {-1}):
        rows = np.flatnonzero((labels == c) & scored)
        if len(rows) < min_support:
            continue
        considered += 1
        mean = float(scores[rows].mean())
        diff = mean - overall
        if abs(diff) < threshold or diff == 0:
            continue
        z = diff / (std / math.sqrt(len(rows))) if std > 0 else 0.0
        centre = features[rows].mean(axis=0)
        rows = rows[np.argsort(-(features[rows] @ centre), kind="stable")]
        s = Slice(int(c), rows, mean, diff, float(z), "above" if diff > 0 else "below")
        (above if diff > 0 else below).append(s)
    above.sort(key=lambda s: -s.diff)
    below.sort(key=lambda s: s.diff)
    stats = {"overall_mean": overall, "overall_std": std, "scored": int(scored.sum()), "min_drop": threshold,
             "clusters": len(set(labels.tolist()) - {-1}), "clusters_considered": considered,
             "noise": int((labels == -1).sum())}
    return above, below, stats


def centroid_words(word_vectors, candidates, top=5):
    """Nearest tag words to each slice's mean projected vector: what the slice 'is about'."""
    texts, matrix = candidates
    centres = unit_rows(np.stack([v.mean(axis=0) for v in word_vectors]))
    return [[t.word for t in ranked] for ranked in rank(centres, texts, matrix, top)]


def class_mix(classes, rows, top=3):
    """The most common classes among `rows`, as [(class, share)]: a quick read of a slice."""
    counts = {}
    for r in rows:
        counts[classes[r]] = counts.get(classes[r], 0) + 1
    best = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:top]
    return [(name, round(n / len(rows), 3)) for name, n in best]
