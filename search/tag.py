"""Tagging: the nearest words (or given label phrases) to each image in word space.

With a trained model, labels are scored as the model's evaluation scores
them (anchored on ImageNet classes when calibrated so), and seen-class
labels carry the model's calibrated-stacking penalty `gamma`: `score`
(cosine minus that penalty) orders the list and is what is shown; the
plain `cosine` is kept beside it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core.results import Listing, Result, Skipped, skipped

TAG_VOCABULARY_SIZE = 50_000


@dataclass
class Tag(Result):
    word: str
    score: float     # what orders the list: cosine, less the seen-label penalty of a calibrated model
    cosine: float    # the plain cosine similarity in word space


@dataclass
class ImageTags(Result):
    image: str
    tags: list[Tag]


@dataclass
class TagResults(Listing):
    ITEMS = "images"

    model: str                     # a model directory, or "conse"
    images: list[ImageTags] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def candidates(words, labels=None):
    """(texts, unit vectors) to rank: given label phrases, or the tag vocabulary."""
    from devise.data.words import tag_vocabulary, unit_matrix

    if labels:
        return list(labels), words.phrase_matrix(list(labels))
    rows = tag_vocabulary(words, TAG_VOCABULARY_SIZE)
    return [words.words[r] for r in rows], unit_matrix(words, rows)


def rank(vectors, texts, matrix, top, penalty=None) -> list[list[Tag]]:
    """Top labels per image by cosine less `penalty` (calibrated stacking), best first."""
    cosines = vectors @ matrix.T
    scores = cosines - penalty[None, :] if penalty is not None else cosines
    top = min(top, len(texts))
    best = np.argpartition(-scores, top - 1, axis=1)[:, :top]
    out = []
    for cos, score, idx in zip(cosines, scores, best):
        idx = idx[np.argsort(-score[idx], kind="stable")]
        out.append([Tag(texts[i], round(float(score[i]), 6), round(float(cos[i]), 6)) for i in idx])
    return out


def tag(images: Sequence[str | Path], *, model: str | Path | None = None, index: str | None = None, top: int = 10,
        labels: Sequence[str] | str | None = None, backbone: str | None = None, words: str | None = None,
        projector=None) -> TagResults:
    """The `top` nearest words to each image, or its best `labels` (zero-shot classification).

    model: a trained model directory (default: ConSE, no training); index:
    use that index's model instead. labels: phrases, a comma list, or a
    file with one phrase per line. backbone, words: ConSE's (backbone None:
    the index's, else the default; words None: GloVe 6B 50-d); a trained
    model brings its own.
    """
    from devise.data.labels import parse_labels
    from devise.models.embed import embed_paths
    from devise.models.projector import Projector

    if projector is None:
        from devise.models.backbones import canonical_name

        backbone = canonical_name(backbone) if backbone else None
        if index is not None:
            from devise.index.store import open_index

            opened = open_index(index, model=model)
            model = opened.model_dir
            if model is None and backbone is None:
                backbone = opened.manifest["backbone"]
            if model is None and words is None:
                words = opened.manifest["words"]
        projector = Projector(model, backbone=backbone, words=words)
    phrases = parse_labels(labels) if labels is not None else None
    texts, matrix = candidates(projector.words, phrases)
    matrix = projector.labels(matrix)
    emb = embed_paths([str(p) for p in images], projector.backbone, progress=len(images) > 64)
    result = TagResults(projector.name, skipped=skipped(emb.bad))
    if not emb.paths:
        return result
    vectors = projector.project(emb.features, emb.logits)
    penalty = None
    if projector.gamma:
        seen = projector.seen_phrases
        penalty = np.array([projector.gamma if t in seen else 0.0 for t in texts], np.float32)
    result.images = [ImageTags(p, t) for p, t in zip(emb.paths, rank(vectors, texts, matrix, top, penalty))]
    return result
