"""Tagging: the nearest words (or given label phrases) to each image in word space."""
from pathlib import Path

import numpy as np

from devise.core.errors import DataError

TAG_VOCABULARY_SIZE = 50_000


def parse_labels(value):
    """A file with one phrase per line, or a comma-separated list."""
    path = Path(value)
    if path.is_file():
        phrases = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    else:
        phrases = [part.strip() for part in value.split(",")]
    phrases = [p for p in phrases if p and not p.startswith("#")]
    if not phrases:
        raise DataError(f"--labels {value!r}: no label phrases given.")
    return phrases


def candidates(words, labels=None):
    """(texts, unit vectors) to rank: given label phrases, or the tag vocabulary."""
    from devise.data.words import tag_vocabulary, unit_matrix
    from devise.core.vectors import unit_rows

    if labels:
        return list(labels), unit_rows(np.stack([words.phrase_vector(p) for p in labels]))
    rows = tag_vocabulary(words, TAG_VOCABULARY_SIZE)
    return [words.words[r] for r in rows], unit_matrix(words, rows)


def rank(vectors, texts, matrix, top, penalty=None):
    """Top labels per image. `penalty` (calibrated stacking) changes the order only:
    the reported score stays the plain cosine similarity."""
    scores = vectors @ matrix.T
    order_by = scores - penalty[None, :] if penalty is not None else scores
    top = min(top, len(texts))
    best = np.argpartition(-order_by, top - 1, axis=1)[:, :top]
    out = []
    for row, keys, idx in zip(scores, order_by, best):
        idx = idx[np.argsort(-keys[idx])]
        out.append([{"word": texts[i], "score": float(row[i])} for i in idx])
    return out


def tag(paths, model_dir=None, top=10, labels=None, projector=None):
    """Return ([{"image": path, "tags": [{"word", "score"}]}], skipped files)."""
    from devise.models.projector import Projector
    from devise.models.embed import embed_paths

    projector = projector or Projector(model_dir)
    texts, matrix = candidates(projector.words, labels)
    emb = embed_paths(paths, projector.backbone, progress=len(paths) > 64)
    if not emb.paths:
        return [], emb.bad
    vectors = projector.project(emb.features, emb.logits)
    penalty = None
    if projector.gamma:
        seen = projector.seen_phrases
        penalty = np.array([projector.gamma if t in seen else 0.0 for t in texts], np.float32)
    ranked = rank(vectors, texts, matrix, top, penalty)
    return [{"image": p, "tags": t} for p, t in zip(emb.paths, ranked)], emb.bad
