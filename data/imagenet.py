"""The 1000 ImageNet-1k class names, in the standard class-index order.

Backbones return logits over these classes; ``class_names()[i]`` names
logit ``i``.  The table ships as ``imagenet_classes.tsv`` next to this module
(``wnid<TAB>comma-separated lemmas``) so no network access or heavy import is
needed to label a prediction.
"""

from __future__ import annotations

import functools
from pathlib import Path

from devise.core.errors import DataError

_TABLE = Path(__file__).with_name("imagenet_classes.tsv")
NUM_CLASSES = 1000


@functools.lru_cache(maxsize=1)
def _rows() -> tuple[tuple[str, tuple[str, ...]], ...]:
    try:
        lines = _TABLE.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"cannot read the ImageNet class table {_TABLE}: {exc.strerror}.") from exc
    rows = []
    for number, line in enumerate(lines, 1):
        wnid, sep, lemmas = line.partition("\t")
        names = tuple(s.strip() for s in lemmas.split(",") if s.strip())
        if not sep or not names:
            raise DataError(f"{_TABLE} line {number} is not 'wnid<TAB>lemmas'.")
        rows.append((wnid, names))
    if len(rows) != NUM_CLASSES:
        raise DataError(f"{_TABLE} has {len(rows)} classes, expected {NUM_CLASSES}.")
    return tuple(rows)


def class_names() -> list[str]:
    """First lemma of each class, e.g. ``class_names()[967] == "espresso"``."""
    return [names[0] for _, names in _rows()]


def class_wnids() -> list[str]:
    """WordNet id of each class, in logit order, e.g. ``class_wnids()[0] == "n01440764"`` (tench)."""
    return [wnid for wnid, _ in _rows()]


def class_lemmas() -> list[list[str]]:
    """All lemmas (synonyms) of each class, most common first."""
    return [list(names) for _, names in _rows()]
