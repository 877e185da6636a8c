"""`devise score`: the alignment of every indexed image with its prompt, stored as an item field.

Stored as `fields.alignment` on each item (index.edit.set_fields writes a
new version; vectors are hard-linked, not rebuilt), so `--filter
"alignment < 0.3"`, `map --color-by alignment` and `slices` can use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core.errors import DataError
from devise.core.progress import warn
from devise.core.results import Result
from devise.curate import alignment
from devise.data.labels import read_label_map
from devise.index.edit import set_fields
from devise.index.store import open_index
from devise.models import model_store


def _model_classes(model_dir):
    """The model's own folder -> phrase map (it trained on those phrases), if the index has a model."""
    if model_dir is None:
        return {}

    return dict(model_store.load(model_dir).manifest.classes)


def _stats(values):
    v = np.asarray(values, np.float64)
    return {"count": len(v), "mean": round(float(v.mean()), 4), "std": round(float(v.std()), 4),
            "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}


@dataclass
class ScoreSummary(Result):
    index: str
    field: str
    stored: bool
    count: int
    mean: float
    std: float
    min: float
    max: float
    sources: dict             # "prompt" / "class" / "unscored" -> number of images
    per_text: list = field(default_factory=list)   # {"text", "count", "mean", ...}, lowest mean first
    lowest: list = field(default_factory=list)     # the five worst-aligned images
    highest: list = field(default_factory=list)    # the five best-aligned images, best first


def score(*, index: str | None = None, label_map: str | Path | dict | None = None,
          field: str = alignment.FIELD, store: bool = True) -> ScoreSummary:
    """Score every item of `index` against its prompt (metadata.jsonl) or class phrase; store it as `field`.

    label_map: a file or {class folder: phrase}, used where a generated
    folder's metadata gives no prompt (it wins over the model's own phrases).
    """
    name, store_field = index, store

    idx = open_index(name)
    items = list(idx.items)
    if isinstance(label_map, (str, Path)):
        label_map = read_label_map(label_map)
    phrase_of = alignment.class_phrase_source(_model_classes(idx.model_dir), label_map)
    texts = alignment.texts_for(items, idx.root, phrase_of)
    words = idx.word_vectors()
    scores, unknown = alignment.alignment_scores(words, idx.vectors("words"), [t for t, _ in texts])
    for _text, reason in sorted(unknown.items()):
        warn(f"{reason} Images with this text get no {field} score.")
    ok = ~np.isnan(scores)
    if not ok.any():
        raise DataError(f"index {idx.name!r}: no image has a prompt (metadata.jsonl) or a class folder with a "
                        f"known phrase; nothing to score.")
    if store_field:
        # Unscorable items get null, so a stale score from an earlier run cannot survive.
        set_fields({item["path"]: {field: round(float(s), 6) if k else None}
                    for item, s, k in zip(items, scores, ok)}, index=idx.name)
    by_text = {}
    for (text, _source), s, k in zip(texts, scores, ok):
        if k:
            by_text.setdefault(text, []).append(s)
    per_text = sorted(({"text": t, **_stats(v)} for t, v in by_text.items()), key=lambda r: r["mean"])
    order = np.flatnonzero(ok)[np.argsort(scores[ok], kind="stable")]

    def image(i):
        return {"path": items[i]["path"], "text": texts[i][0], field: round(float(scores[i]), 4)}

    sources = {}
    for (_, source), k in zip(texts, ok):
        key = source if k else "unscored"
        sources[key] = sources.get(key, 0) + 1
    return ScoreSummary(idx.name, field, bool(store_field), **_stats(scores[ok]), sources=sources, per_text=per_text,
                        lowest=[image(i) for i in order[:5]], highest=[image(i) for i in order[::-1][:5]])


def summary_text(summary: ScoreSummary, show=8):
    """Plain-text rendering for the CLI: totals, then the worst and best prompts."""
    f = summary.field
    src = ", ".join(f"{n} by {k}" for k, n in sorted(summary.sources.items()))
    lines = [f"index {summary.index}: {summary.count} images scored ({src}); {f} mean {summary.mean:.3f} "
             f"std {summary.std:.3f} range {summary.min:.3f}..{summary.max:.3f}"]
    rows = summary.per_text
    if len(rows) > 1:
        picks = rows if len(rows) <= 2 * show else rows[:show] + [None] + rows[-show:]
        lines.append(f"{'mean':>7} {'n':>5}  prompt / class phrase (lowest first)")
        for r in picks:
            lines.append("    ..." if r is None else f"{r['mean']:7.3f} {r['count']:5d}  {r['text']}")
    return "\n".join(lines)
