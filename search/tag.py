"""Tagging: the nearest words (or given label phrases) to each image in word space.

With a trained model, labels are scored as the model's evaluation scores
them (anchored on ImageNet classes when calibrated so), and seen-class
labels carry the model's calibrated-stacking penalty `gamma`.

Given labels are ranked by `label_scores`, the one function `label --assign`
ranks by too (so the two agree): the cosine less the label's mean cosine
over the ImageNet class vectors, the points every image vector is mixed
from. A phrase such as "chair" sits close to much of that manifold and
would otherwise win on every photo (hubness); centring on a fixed
reference, not on the other images of the run, scores a single image the
same way as a collection. `score` orders the list and is shown; the plain
`cosine` is kept beside it. Open-vocabulary tags are ranked by cosine less
the seen-label penalty, blended with what the backbone's ImageNet
classifier says (`open_scores`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from devise.core.results import Listing, Result, Skipped, skipped
from devise.data import wordnet
from devise.data.folders import image_files
from devise.data.imagenet import NUM_CLASSES
from devise.data.labels import parse_labels
from devise.data.vocabulary import tag_vocabulary
from devise.data.words import unit_matrix
from devise.index.store import open_index
from devise.models.backbones import canonical_name
from devise.models.conse import softmax
from devise.models.embed import embed_paths
from devise.models.projector import Projector
from devise.search.content_words import phrase_matrix

if TYPE_CHECKING:
    from devise.data.words import WordVectors
    from devise.models.projector import Projector

TAG_VOCABULARY_SIZE = 50_000
# Share of an open tag's score taken by the informative ImageNet mass under the word (open_scores). Chosen on
# CIFAR-10 by bench/tag_dev.py (top-5 hit, ConSE / trained dev index): 0.240 / 0.167 at 0 (word space alone),
# 0.460 / 0.590 at 0.5, 0.703 / 0.763 at 0.75, 0.783 / 0.800 at 0.9. Above 0.75 the list fills with hypernyms
# ("placental", "vertebrate", "conveyance") that count as hits but read worse. Never tuned on Caltech-101.
OPEN_MASS_WEIGHT = 0.75
# A word naming more than this share of ImageNet's classes ("artifact", "object", "whole") is too broad for
# its mass to say anything of one photo: it keeps its word-space score alone.
OPEN_MAX_SHARE = 0.5


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


def candidates(words: WordVectors, labels: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(texts, unit vectors) to rank: given label phrases, or the tag vocabulary."""
    if labels:
        return list(labels), phrase_matrix(words, list(labels))  # as `label` reads them: "a face" is "face"
    rows = tag_vocabulary(words, TAG_VOCABULARY_SIZE)
    return [words.words[r] for r in rows], unit_matrix(words, rows)


def seen_penalty(projector: Projector, texts: Sequence[str]) -> np.ndarray:
    """Each text's calibrated-stacking penalty: the model's gamma for the labels it trained on, else 0."""
    seen = projector.seen_phrases
    return np.array([projector.gamma if t in seen else 0.0 for t in texts], np.float32)


def label_scores(projector: Projector, vectors: np.ndarray, matrix: np.ndarray,
                 texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(scores, cosines) [images, labels] for label phrases' unit vectors `matrix`: the cosine with the
    labels as the model scores them, less each label's mean cosine over the ImageNet class vectors and
    less its seen-label penalty. What `tag --labels` and `label --assign` both rank by."""
    matrix = projector.labels(matrix)
    cosines = np.asarray(vectors, np.float32) @ matrix.T
    reference = projector.conse.label_vectors[projector.conse.known]
    hub = (reference @ matrix.T).mean(axis=0)
    return cosines - hub[None, :] - seen_penalty(projector, texts)[None, :], cosines


def informative_mass(logits: npt.ArrayLike, texts: Sequence[str]) -> np.ndarray:
    """[images, texts]: how much, and how specifically, the backbone's ImageNet classifier names each text.

    A word that names a WordNet synset with ImageNet classes under it
    (data.wordnet.class_matrix) gets the image's probability mass m on those
    classes, weighed by how far m lies above the word's share of the classes,
    p = classes / 1000: m * log(m / p) / log(1000), clipped to [0, 1]. So
    "airliner" and "airplane" outrank "vehicle" and "object", whose mass is
    high for every image, and a word naming no class scores 0.
    """
    matrix = wordnet.class_matrix(tuple(texts))
    probs = softmax(np.asarray(logits, np.float32))
    mass = np.asarray((matrix @ probs.T).T, np.float32)
    share = np.asarray(matrix.sum(axis=1), np.float32).ravel() / NUM_CLASSES
    named = (share > 0) & (share <= OPEN_MAX_SHARE)
    info = np.zeros_like(mass)
    with np.errstate(divide="ignore", invalid="ignore"):
        info[:, named] = mass[:, named] * np.log(np.maximum(mass[:, named], 1e-12) / share[named])
    return np.clip(info / np.log(NUM_CLASSES), 0.0, 1.0)


def open_scores(cosines: np.ndarray, logits: npt.ArrayLike | None, texts: Sequence[str],
                penalty: np.ndarray | None = None, weight: float | None = None) -> np.ndarray:
    """Open tags' scores: the word-space cosine (less the seen-label penalty), blended with the informative
    ImageNet mass under the word (informative_mass). In word space alone a tag drifts to the words beside
    the image's classes ("airliner" gives "hijacked", "jetliner"); the classifier's hierarchy says which
    words name the thing shown, at which level."""
    weight = OPEN_MASS_WEIGHT if weight is None else weight
    scores = cosines - penalty[None, :] if penalty is not None else cosines
    if weight <= 0 or logits is None:
        return scores
    return (1.0 - weight) * scores + weight * informative_mass(logits, texts)


def rank(vectors: np.ndarray, texts: Sequence[str], matrix: np.ndarray, top: int, penalty: np.ndarray | None = None,
         scores: np.ndarray | None = None) -> list[list[Tag]]:
    """Top labels per image by cosine less `penalty` (calibrated stacking), or by `scores`, best first."""
    cosines = np.asarray(vectors @ matrix.T)
    if scores is not None:
        by = scores
    else:
        by = cosines - penalty[None, :] if penalty is not None else cosines
    top = min(top, len(texts))
    best = np.argpartition(-by, top - 1, axis=1)[:, :top]
    out = []
    for cos, score, idx in zip(cosines, by, best):
        idx = idx[np.argsort(-score[idx], kind="stable")]
        out.append([Tag(texts[int(i)], round(float(score[i]), 6), round(float(cos[i]), 6)) for i in idx])
    return out


def tag(images: Sequence[str | Path], *, model: str | Path | None = None, index: str | None = None, top: int = 10,
        labels: Sequence[str] | str | None = None, backbone: str | None = None, words: str | None = None,
        projector: Projector | None = None) -> TagResults:
    """The `top` nearest words to each image, or its best `labels` (zero-shot classification).

    images: image files, or folders standing for the images under them.
    model: a trained model directory (default: ConSE, no training); index:
    use that index's model instead. labels: phrases, a comma list, or a
    file with one phrase per line. backbone, words: ConSE's (backbone None:
    the index's, else the default; words None: GloVe 6B 50-d); a trained
    model brings its own.
    """
    if projector is None:
        backbone = canonical_name(backbone) if backbone else None
        if index is not None:
            opened = open_index(index, model=model)
            model = opened.model_dir
            if model is None and backbone is None:
                backbone = opened.manifest.backbone
            if model is None and words is None:
                words = opened.manifest.words
        projector = Projector(model, backbone=backbone, words=words)
    phrases = parse_labels(labels) if labels is not None else None
    texts, matrix = candidates(projector.words, phrases)
    images = image_files(images)
    emb = embed_paths(images, projector.backbone, progress=len(images) > 64)
    result = TagResults(projector.name, skipped=skipped(emb.bad))
    if not emb.paths:
        return result
    vectors = projector.project(emb.features, emb.logits)
    if phrases:
        scores, _ = label_scores(projector, vectors, matrix, texts)
        ranked = rank(vectors, texts, projector.labels(matrix), top, scores=scores)
    else:
        penalty = seen_penalty(projector, texts) if projector.gamma else None
        label_rows = projector.labels(matrix)
        scores = open_scores(np.asarray(vectors, np.float32) @ label_rows.T, emb.logits, texts, penalty)
        ranked = rank(vectors, texts, label_rows, top, scores=scores)
    result.images = [ImageTags(p, t) for p, t in zip(emb.paths, ranked)]
    return result
