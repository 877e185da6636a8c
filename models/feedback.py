"""Text search, second pass: pseudo-relevance feedback in the backbone's feature space.

A query's word vector finds images only through their projection into word
space, where a new word can sit between classes ("mayfly" near several
insects, "windsor chair" near "chair"). But the first few hits are usually
right, and images of one object look alike far more reliably than their
word vectors agree. So the ranking is done twice more: the backbone
features of the best FEEDBACK_TOP images, weighted 1/sqrt(rank), become a
visual query, and every candidate's score becomes

    score = (1 - FEEDBACK_WEIGHT) * first_pass + FEEDBACK_WEIGHT * cos(features, visual query),

the visual query being rebuilt from the new ranking in the next round
(Rocchio's relevance feedback, with the top hits taken as relevant). The
rank weights keep the first hits in charge where few images match: with
equal weights, a collection holding one cat photo would average ten
unrelated photos into the visual query and push the cat down. The first
pass is the cosine, or the seen-class margin score (models.seen_margin)
for a trained model's index. The constants were chosen on the seen-class
calibration folds of the five Caltech-101 splits (README, text search);
held-out classes chose nothing.
"""
import numpy as np

FEEDBACK_TOP = 10      # images whose rank-weighted features make the visual query
FEEDBACK_WEIGHT = 0.8  # share of the score that is visual similarity
FEEDBACK_ROUNDS = 2    # rankings refined; each rebuilds the visual query from the last


def feedback_params():
    """The feedback recipe, as recorded in a model's calibration."""
    return {"top": FEEDBACK_TOP, "weight": FEEDBACK_WEIGHT, "rounds": FEEDBACK_ROUNDS}


def feedback_scores(first_pass, features, top=FEEDBACK_TOP, weight=FEEDBACK_WEIGHT, rounds=FEEDBACK_ROUNDS):
    """Scores after feedback. first_pass: [n] (one query) or [n, q] (q queries) over the same n images;
    features: [n, d] unit rows of those images. Returns an array shaped like `first_pass`."""
    first = np.asarray(first_pass, np.float32)
    single = first.ndim == 1
    first = first[:, None] if single else first
    features = np.asarray(features, np.float32)
    top = min(int(top), len(first))
    scores = first
    rank_weights = 1.0 / np.sqrt(np.arange(1, top + 1, dtype=np.float32))[:, None, None]
    for _ in range(rounds if top > 0 and weight > 0 else 0):
        best = np.argpartition(-scores, top - 1, axis=0)[:top]                       # [top, q], unordered
        best = np.take_along_axis(best, np.argsort(-np.take_along_axis(scores, best, axis=0), axis=0), axis=0)
        visual = (rank_weights * features[best]).sum(axis=0)                          # [q, d]
        visual /= np.maximum(np.linalg.norm(visual, axis=1, keepdims=True), 1e-12)
        scores = (1.0 - weight) * first + weight * (features @ visual.T)
    return scores[:, 0] if single else scores
