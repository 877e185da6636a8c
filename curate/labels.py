"""`devise label`: zero-shot label scores stored as item fields, for filters, maps and walks.

Each label phrase becomes a field (e.g. "a face" -> `a_face`) holding the
cosine similarity, in word space, between the image's projected vector
(the index's model, or ConSE) and the phrase's vector. Stored scores are
raw cosines, so a range filter means the same thing in every index.

`--assign` stores the best of this run's labels in the field `label`
(null below `min_score`), with its score in `label_score`. The best label
is picked after subtracting each label's mean score over the images being
labelled (calibrate="center"): some phrases sit close to every image in
word space ("hubness"), and without this they win everywhere. On the
Caltech-101 sets of bench/label.py centring raises agreement with the true
class by 5 to 14 points; "none" picks the raw maximum.
"""
import re

import numpy as np

from core.errors import DataError, VocabularyError
from curate.selection import select

CALIBRATIONS = ("center", "none")
RESERVED = {"label", "label_score", "path", "class"}


def field_name(phrase, prefix=""):
    """"one hot dog" -> "one_hot_dog": letters, digits and underscores, so a filter can name it."""
    slug = re.sub(r"[^0-9a-z]+", "_", phrase.lower()).strip("_")
    name = f"{prefix}{slug}"
    if not slug or name in RESERVED:
        raise DataError(f"label {phrase!r} gives the field name {name!r}, which is empty or reserved; "
                        f"rephrase it or pass --field-prefix.")
    return name


def label_vectors(words, phrases):
    rows, unknown = [], []
    for phrase in phrases:
        used, _ = words.phrase_words(phrase)
        if not used:
            unknown.append(phrase)
            continue
        rows.append(words.phrase_vector(phrase))
    if unknown:
        raise VocabularyError(f"no word of label(s) {', '.join(map(repr, unknown))} is in the {words.name} vocabulary.")
    m = np.stack(rows).astype(np.float32)
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def assign(scores, calibrate="center", min_score=None):
    """(best column or -1, raw score of it) per row of a [n, labels] score matrix."""
    if calibrate not in CALIBRATIONS:
        raise DataError(f"unknown calibration {calibrate!r}; use one of {', '.join(CALIBRATIONS)}.")
    ranked = scores - scores.mean(axis=0, keepdims=True) if calibrate == "center" and len(scores) > 1 else scores
    best = np.argmax(ranked, axis=1)
    best_raw = scores[np.arange(len(scores)), best]
    if min_score is not None:
        best = np.where(best_raw >= min_score, best, -1)
    return best, best_raw


def label(phrases=(), index=None, field_prefix="", do_assign=False, min_score=None, calibrate="center",
          drop=(), filter_text=None):
    """Score the (filtered) images of `index` against `phrases`; store fields; drop `drop`. Returns a summary."""
    from index import edit

    if not phrases and not drop:
        raise DataError("nothing to do: give --labels, --drop, or both.")
    sel = select(index, filter_text)
    names = [field_name(p, field_prefix) for p in phrases]
    if len(set(names)) != len(names):
        raise DataError(f"labels {', '.join(phrases)} give repeated field names {', '.join(names)}.")
    summary = {"index": sel.index.name, "images": int(len(sel.ids)), "fields": {}, "dropped": []}
    updates = {}
    if phrases:
        matrix = label_vectors(sel.index.word_vectors(), phrases)
        # Rounded once, so what is stored and what --min-score compared are the same numbers.
        scores = np.round(sel.vectors("words") @ matrix.T, 4)
        for j, name in enumerate(names):
            col = scores[:, j]
            summary["fields"][name] = {"label": phrases[j], "mean": round(float(col.mean()), 4),
                                       "min": round(float(col.min()), 4), "max": round(float(col.max()), 4)}
        best, best_raw = assign(scores, calibrate, min_score) if do_assign else (None, None)
        for r, i in enumerate(sel.ids):
            fields = {name: round(float(scores[r, j]), 4) for j, name in enumerate(names)}
            if do_assign:
                fields["label"] = phrases[best[r]] if best[r] >= 0 else None
                fields["label_score"] = round(float(best_raw[r]), 4)
            updates[int(i)] = fields
        if do_assign:
            summary["assigned"] = {p: int((best == j).sum()) for j, p in enumerate(phrases)}
            summary["assigned"]["(none)"] = int((best < 0).sum())
    if drop:
        present = set().union(*(it.get("fields", {}).keys() for it in sel.items))
        missing = [f for f in drop if f not in present]
        if missing:
            raise DataError(f"index {sel.index.name!r} has no field {', '.join(missing)} "
                            f"(fields: {', '.join(sorted(present)) or 'none'}).")
        summary["dropped"] = list(drop)
    edit_fields(sel, updates, drop)
    summary["count"] = len(sel.items)
    return summary


def edit_fields(sel, updates, drop=()):
    """Write {id: {field: value}} (merged) and remove `drop` fields from every item, as one new version."""
    from index import layout, writer
    from index.edit import _carry

    name = sel.index.name
    with layout.build_lock(name):
        from index.store import open_index

        live = open_index(name)
        if live.version_dir != sel.index.version_dir:
            raise DataError(f"index {name!r} changed while labelling; run the command again.")
        items = []
        for item in sel.items:
            fields = {k: v for k, v in item.get("fields", {}).items() if k not in drop}
            fields.update(updates.get(item["id"], {}))
            items.append({**item, "fields": fields})
        writer.write_version(name, None, None, items, live.tombstones(), link_arrays_from=live.version_dir,
                             **_carry(live, **{**live.manifest["counts"], "embedded": 0}))
