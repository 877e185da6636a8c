"""`devise label`: zero-shot label scores stored as item fields, for filters, maps and walks.

Each label phrase becomes a field (e.g. "a face" -> `a_face`) holding the
cosine similarity, in word space, between the image's projected vector
(the index's model, or ConSE) and the phrase's vector. Stored scores are
raw cosines, so a range filter means the same thing in every index.

`--assign` stores the best of this run's labels in the field `label`
(null when its raw score is below `min_score`), with that score in
`label_score`. How "best" is decided (calibrate):
  reference (default) the score `tag --labels` ranks by (search.tag.label_scores):
          the cosine less each label's mean over the ImageNet class vectors,
          so tagging one image and labelling a collection agree;
  none    the raw maximum cosine;
  center  after subtracting each label's mean score over the images being
          labelled: some phrases sit close to every image in word space
          ("hubness") and would otherwise win everywhere;
  refine  centring, then a few rounds of label prototypes in the
          backbone's feature space, where classes cluster far better than
          in the 50-d word space (see `refine`).
centre and refine are transductive: they use the other images of the same
run, which a single tagged image has not, so they can disagree with `tag
--labels` on an image. bench/label.py measures all four on Caltech-101; the
figures are in docs/curate.md.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from devise.core.errors import DataError, option
from devise.core.results import Result
from devise.core.vectors import unit_rows
from devise.data.labels import parse_labels
from devise.index.edit import edit_fields
from devise.index.selection import open_selection
from devise.models.projector import Projector
from devise.search.content_words import phrase_matrix
from devise.search.tag import label_scores

CALIBRATIONS = ("reference", "refine", "center", "none")
REFINE_ROUNDS, REFINE_KEEP = 3, 0.5
RESERVED = {"label", "label_score", "path", "class"}


def field_name(phrase, prefix=""):
    """"one hot dog" -> "one_hot_dog": letters, digits and underscores, so a filter can name it."""
    slug = re.sub(r"[^0-9a-z]+", "_", phrase.lower()).strip("_")
    name = f"{prefix}{slug}"
    if not slug or name in RESERVED:
        raise DataError(f"label {phrase!r} gives the field name {name!r}, which is empty or reserved; "
                        f"rephrase it or pass {option('field_prefix')}.")
    return name


def _zscore(x):
    return (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)


def refine(scores, features, rounds=REFINE_ROUNDS, keep=REFINE_KEEP):
    """Transductive refinement: label prototypes in feature space, seeded by the centred word scores.

    Each round, every label's prototype is the mean backbone feature of
    the `keep` share of its currently assigned images with the clearest
    margin; images are then scored by cosine to the prototypes (z-scored
    per label) plus their z-scored word-space scores, so the words keep
    anchoring what each label means. Classes cluster far better in
    feature space than in the 50-d word space, which is what this uses.
    """
    base = _zscore(scores)
    current = scores - scores.mean(axis=0)
    for _ in range(rounds):
        best = np.argmax(current, axis=1)
        ranked = np.sort(current, axis=1)
        margin = ranked[:, -1] - ranked[:, -2] if current.shape[1] > 1 else ranked[:, -1]
        protos = np.zeros((scores.shape[1], features.shape[1]), np.float32)
        for j in range(scores.shape[1]):
            members = np.flatnonzero(best == j)
            if len(members):
                confident = members[np.argsort(-margin[members])[:max(1, int(len(members) * keep))]]
                protos[j] = features[confident].mean(axis=0)
        protos = unit_rows(protos)
        current = _zscore(features @ protos.T) + base
    return current


def choose(scores, calibrate="reference", min_score=None, features=None, reference=None):
    """(best column or -1, raw score of it) per row of a [n, labels] score matrix.

    reference: the [n, labels] scores of search.tag.label_scores, which calibrate="reference" ranks by.
    """
    if calibrate not in CALIBRATIONS:
        raise DataError(f"unknown calibration {calibrate!r}; use one of {', '.join(CALIBRATIONS)}.")
    if calibrate == "reference":
        ranked = reference
    elif calibrate == "none" or len(scores) < 2:
        ranked = scores
    elif calibrate == "center" or features is None or len(scores) < 2 * scores.shape[1]:
        ranked = scores - scores.mean(axis=0, keepdims=True)
    else:
        ranked = refine(scores, features)
    best = np.argmax(ranked, axis=1)
    best_raw = scores[np.arange(len(scores)), best]
    if min_score is not None:
        best = np.where(best_raw >= min_score, best, -1)
    return best, best_raw


@dataclass
class FieldStats(Result):
    field: str
    label: str
    mean: float      # mean cosine over the labelled images
    min: float
    max: float


@dataclass
class LabelCount(Result):
    label: str | None     # None: below --min-score
    images: int


@dataclass
class LabelSummary(Result):
    index: str
    images: int                                           # images labelled (after the filter)
    count: int                                            # images in the index
    fields: list[FieldStats] = field(default_factory=list)  # highest mean first
    assigned: list[LabelCount] = field(default_factory=list)  # with assign: most images first
    dropped: list[str] = field(default_factory=list)


def _reference_scores(sel, phrases, matrix):
    """search.tag.label_scores for the selected images, through the index's own model."""
    projector = Projector(sel.index.model_dir, backbone=sel.index.manifest.backbone
                          if sel.index.model_dir is None else None)
    return label_scores(projector, np.asarray(sel.vectors("words"), np.float32), matrix, phrases)[0]


def label(labels: Sequence[str] | str = (), *, index: str | None = None, field_prefix: str = "",
          assign: bool = False, min_score: float | None = None, calibrate: str = "reference",
          drop: Sequence[str] = (), filter: str | None = None) -> LabelSummary:
    """Store each label's cosine with every (filtered) image as a field; with `assign`, the best label too.

    labels: phrases, a comma list or a file (one per line); each becomes a
    field named like the phrase ("a face" -> a_face). drop: fields to
    remove from every image.
    """
    phrases = parse_labels(labels) if labels else []
    if not phrases and not drop:
        raise DataError(f"nothing to do: give {option('labels')}, {option('drop')}, or both.")
    sel = open_selection(index, filter)
    names = [field_name(p, field_prefix) for p in phrases]
    if len(set(names)) != len(names):
        raise DataError(f"labels {', '.join(phrases)} give repeated field names {', '.join(names)}.")
    summary = LabelSummary(sel.index.name, len(sel.ids), len(sel.items))
    updates = {}
    if phrases:
        matrix = phrase_matrix(sel.index.word_vectors(), phrases)  # the query analyser: "a face" is "face"
        # Rounded once, so what is stored and what --min-score compared are the same numbers.
        scores = np.round(sel.vectors("words") @ matrix.T, 4)
        summary.fields = sorted((FieldStats(name, phrases[j], round(float(scores[:, j].mean()), 4),
                                            round(float(scores[:, j].min()), 4), round(float(scores[:, j].max()), 4))
                                 for j, name in enumerate(names)), key=lambda f: -f.mean)
        features = sel.vectors("features") if assign and calibrate == "refine" else None
        reference = _reference_scores(sel, phrases, matrix) if assign and calibrate == "reference" else None
        best, best_raw = choose(scores, calibrate, min_score, features, reference) if assign else (None, None)
        for r, i in enumerate(sel.ids):
            fields = {name: round(float(scores[r, j]), 4) for j, name in enumerate(names)}
            if assign:
                fields["label"] = phrases[best[r]] if best[r] >= 0 else None
                fields["label_score"] = round(float(best_raw[r]), 4)
            updates[int(i)] = fields
        if assign:
            counts = [LabelCount(p, int((best == j).sum())) for j, p in enumerate(phrases)]
            counts.append(LabelCount(None, int((best < 0).sum())))
            summary.assigned = sorted(counts, key=lambda c: -c.images)
    if drop:
        present = set().union(*(it.get("fields", {}).keys() for it in sel.items))
        missing = [f for f in drop if f not in present]
        if missing:
            raise DataError(f"index {sel.index.name!r} has no field {', '.join(missing)} "
                            f"(fields: {', '.join(sorted(present)) or 'none'}).")
        summary.dropped = list(drop)
    edit_fields(sel.index.name, updates, drop, expect_version=sel.index.version_dir)
    return summary
