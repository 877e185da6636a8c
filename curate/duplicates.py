"""Near-duplicate groups on plain arrays: thumbnails in, groups of row numbers out.

1. Candidates: every pair whose 8x8 luminance signatures have cosine >=
   SIGNATURE_FLOOR, found exactly by blocked matrix products (no pair above
   the floor is missed, unlike a k-NN list that a crowded class can fill).
2. Confirmation: pixel similarity >= threshold, where pixel similarity is
   1 - (99th percentile of the per-pixel colour difference between the two
   lightly smoothed 24x24 thumbnails) / 255. A re-encoded or resized copy
   differs a little everywhere; a different photo differs a lot somewhere,
   and the percentile catches that region where a mean would dilute it.
   With `mirror`, each thumbnail is also compared with the others' left-right
   mirror images (both stages), so a flipped copy counts as a copy; a pair's
   score is the better of the two comparisons.
3. Groups: confirmed pairs joined transitively (the connected components
   of the graph whose edges are the confirmed pairs). Constant
   images (every pixel one colour) form one group per colour whatever
   their thumbnails or features do.
The figures behind the constants are in bench/dedupe.py.
"""
import numpy as np

DEFAULT_THRESHOLD = 0.93
SIGNATURE_FLOOR = 0.95
QUANTILE = 0.99
BLOCK = 1024


def signatures(thumbs):
    """[n, 64] unit vectors: 8x8 block means of the luminance, mean-centred (zero for a flat image)."""
    t = np.asarray(thumbs, np.float32)
    lum = t @ np.array([0.299, 0.587, 0.114], np.float32)
    n, side = lum.shape[0], lum.shape[1]
    cells = lum.reshape(n, 8, side // 8, 8, side // 8).mean(axis=(2, 4)).reshape(n, 64)
    cells -= cells.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(cells, axis=1, keepdims=True)
    return np.where(norms > 1e-3, cells / np.maximum(norms, 1e-3), 0.0).astype(np.float32)


def smooth(thumbs):
    """Binomial 3x3 blur in float32: forgives the one-pixel shifts that resampling a copy causes."""
    t = np.asarray(thumbs, np.float32)
    p = np.pad(t, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    t = 0.25 * p[:, :-2] + 0.5 * p[:, 1:-1] + 0.25 * p[:, 2:]
    return 0.25 * t[:, :, :-2] + 0.5 * t[:, :, 1:-1] + 0.25 * t[:, :, 2:]


def candidate_pairs(sigs, floor=SIGNATURE_FLOOR, rows=None, block=BLOCK):
    """(a, b) int arrays, a < b, of every pair of rows with signature cosine >= floor.

    Exact, with pruning: two unit vectors with cosine >= floor are at most
    h = sqrt(2 - 2 floor) apart, so their projections on any unit axis
    differ by at most h. Rows sorted by their projection on the first
    principal axis are compared only with rows less than h further on,
    which skips most pairs without missing one.
    rows: restrict the search to these row numbers (e.g. a filter's result).
    """
    rows = np.arange(len(sigs)) if rows is None else np.asarray(rows, np.int64)
    live = rows[np.abs(sigs[rows]).sum(axis=1) > 0]  # flat images have no structure to compare
    if len(live) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s = np.ascontiguousarray(sigs[live])
    proj = s @ _first_axis(s)
    order = np.argsort(proj, kind="stable")
    s, proj, live = s[order], proj[order], live[order]
    reach = np.sqrt(max(2.0 - 2.0 * floor, 0.0)) + 1e-6
    found_a, found_b = [], []
    for start in range(0, len(live), block):
        stop = min(start + block, len(live))
        end = int(np.searchsorted(proj, proj[stop - 1] + reach, side="right"))
        sims = s[start:stop] @ s[start:end].T
        r, c = np.nonzero(sims >= floor)
        keep = c > r
        a, b = live[start + r[keep]], live[start + c[keep]]
        found_a.append(np.minimum(a, b))
        found_b.append(np.maximum(a, b))
    return np.concatenate(found_a), np.concatenate(found_b)


def _first_axis(s, sample=20_000):
    """Unit first principal axis of the rows (from an evenly spaced sample: deterministic)."""
    rows = s[:: max(1, len(s) // sample)]
    centred = rows - rows.mean(axis=0)
    _, vecs = np.linalg.eigh(centred.T @ centred)
    return vecs[:, -1].astype(np.float32)


def mirrored_signatures(sigs):
    """The signatures of the thumbnails' left-right mirror images: the 8x8 cells in mirrored order
    (a 24 px thumbnail splits into whole 3 px cells, so this is exact)."""
    return np.ascontiguousarray(sigs.reshape(len(sigs), 8, 8)[:, :, ::-1].reshape(len(sigs), 64))


def pixel_similarity(smoothed, a, b, chunk=8192, flip=None):
    """1 - q99(max-channel |A - B|) / 255 for each pair of rows (a[i], b[i]) of `smoothed` thumbnails;
    where flip[i], B is mirrored left-right first."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    out = np.empty(len(a), np.float32)
    pixels = smoothed.shape[1] * smoothed.shape[2]
    kth = int(np.ceil(QUANTILE * (pixels - 1)))
    for start in range(0, len(a), chunk):
        sa, sb = a[start:start + chunk], b[start:start + chunk]
        other = smoothed[sb]
        if flip is not None:
            turn = np.asarray(flip[start:start + chunk], bool)
            other[turn] = other[turn][:, :, ::-1]
        diff = np.abs(smoothed[sa] - other).max(axis=3).reshape(len(sa), pixels)
        out[start:start + chunk] = 1.0 - np.partition(diff, kth, axis=1)[:, kth] / 255.0
    return out


def group_pairs(n, pairs):
    """Groups joined transitively by `pairs` ((a, b) ids below n): sorted lists of two or more ids,
    ordered by their smallest member."""
    # Imported here: scipy.sparse takes ~0.3 s to load.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.asarray(pairs if isinstance(pairs, np.ndarray) else list(pairs), np.int64).reshape(-1, 2)
    if not len(edges):
        return []
    graph = coo_matrix((np.ones(len(edges), bool), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    grouped = np.flatnonzero(np.bincount(component)[component] > 1)  # ascending ids
    if not len(grouped):
        return []
    grouped = grouped[np.argsort(component[grouped], kind="stable")]  # stable: ids stay ascending per group
    groups = np.split(grouped, np.flatnonzero(np.diff(component[grouped])) + 1)
    return sorted((g.tolist() for g in groups), key=lambda g: g[0])


def constant_groups(constant, rgb, rows=None):
    """Lists of rows holding constant images of one colour (two or more each)."""
    rows = np.arange(len(constant)) if rows is None else np.asarray(rows, np.int64)
    by_colour = {}
    for r in rows[constant[rows]]:
        by_colour.setdefault(int(rgb[r]), []).append(int(r))
    return [sorted(g) for g in by_colour.values() if len(g) > 1]


def mirror_candidates(sigs, floor=SIGNATURE_FLOOR, rows=None):
    """(a, b, flip): candidate_pairs, plus the pairs whose b is a candidate once mirrored (flip True).

    One search over the signatures and their mirrors: a row against another's
    mirror is a mirrored pair, two mirrors repeat a plain pair, and a row
    against its own mirror (a symmetric picture) is no pair.
    """
    n = len(sigs)
    rows = np.arange(n) if rows is None else np.asarray(rows, np.int64)
    a, b = candidate_pairs(np.concatenate([sigs, mirrored_signatures(sigs)]), floor, np.concatenate([rows, rows + n]))
    keep = (b < n) | ((a < n) & (b - n != a))
    a, b = a[keep], b[keep]
    flip = b >= n
    b = np.where(flip, b - n, b)
    return np.minimum(a, b), np.maximum(a, b), flip


def best_per_pair(a, b, scores):
    """{(a, b): score}, keeping each pair's better comparison (plain or mirrored)."""
    best = {}
    for x, y, score in zip(a.tolist(), b.tolist(), scores.tolist()):
        best[(x, y)] = max(score, best.get((x, y), score))
    return best


def find_groups(thumbs, constant, rgb, threshold=DEFAULT_THRESHOLD, rows=None, floor=SIGNATURE_FLOOR, mirror=False):
    """Duplicate groups (sorted lists of rows) among `rows` (default all), constant ones included.

    Returns (groups, confirmed) where confirmed maps (a, b) -> pixel similarity.
    """
    rows = np.arange(len(thumbs)) if rows is None else np.asarray(rows, np.int64)
    varied = rows[~constant[rows]]  # a constant image groups only by colour, never with a dark photo
    sigs = signatures(thumbs)
    if mirror:
        a, b, flip = mirror_candidates(sigs, floor, varied)
    else:
        a, b = candidate_pairs(sigs, floor, varied)
        flip = np.zeros(len(a), bool)
    scores = pixel_similarity(smooth(thumbs), a, b, flip=flip)
    hit = scores >= threshold
    confirmed = best_per_pair(a[hit], b[hit], scores[hit])
    groups = group_pairs(len(thumbs), list(confirmed))
    groups += constant_groups(constant, rgb, rows)
    return sorted(groups, key=lambda g: g[0]), confirmed


def compare_to(thumb, thumbs, mirror=False):
    """(similarity, mirrored) of one thumbnail against each of `thumbs`, the better of plain and
    mirrored with `mirror`."""
    both = smooth(np.concatenate([thumb[None], thumbs]))
    first, others = np.zeros(len(thumbs), np.int64), np.arange(1, len(thumbs) + 1)
    plain = pixel_similarity(both, first, others)
    if not mirror:
        return plain, np.zeros(len(thumbs), bool)
    flipped = pixel_similarity(both, first, others, flip=np.ones(len(thumbs), bool))
    return np.maximum(plain, flipped), flipped > plain


def matches_of(query_thumb, thumbs, threshold=DEFAULT_THRESHOLD, rows=None, floor=SIGNATURE_FLOOR, mirror=False):
    """(rows, similarities) of the thumbnails that duplicate one query thumbnail (for --like)."""
    rows = np.arange(len(thumbs)) if rows is None else np.asarray(rows, np.int64)
    sig = signatures(query_thumb[None])
    if not sig.any():
        return rows[:0], np.zeros(0, np.float32)
    sigs = signatures(thumbs[rows])
    cosines = sigs @ sig[0]
    if mirror:
        cosines = np.maximum(cosines, sigs @ mirrored_signatures(sig)[0])
    near = rows[cosines >= floor]
    scores, _ = compare_to(query_thumb, thumbs[near], mirror)
    hit = scores >= threshold
    return near[hit], scores[hit]
