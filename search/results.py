"""Ranked results shared by text and image search, and their contact sheets.

Scores start from a cosine similarity in [-1, 1] (index.ann converts Annoy's
angular distance back to it); text search may re-rank by the seen-class
margin and visual feedback (search.text). Lists are sorted by the score
they show, best first.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from devise.core.results import Listing, Result
from devise.data.sheet import contact_sheet


@dataclass
class Hit(Result):
    path: str
    score: float


@dataclass
class SearchResults(Listing):
    """`results` best first; `query` is the text, or the image path for `similar`."""

    query: str
    index: str
    results: list[Hit] = field(default_factory=list)
    filter: str | None = None
    sheet: str | None = None
    analysis: dict | None = None          # text search: the things and words used (search.analyser)
    weak: bool = False                    # text search: no thing matches (search.text.is_weak)
    weak_terms: list = field(default_factory=list)
    noise_threshold: float | None = None  # the score unrelated words reach in this index (index.noise)
    nearest_kinds: dict = field(default_factory=dict)  # thing -> the nearest kind it was ranked by ("emu": "ratite
                                                       # (ostrich)"), for things naming no ImageNet class
    absent_kinds: dict = field(default_factory=dict)   # weak thing -> the category it names, which the backbone
                                                       # sees too little of in any image ("hot dog": "hotdog")

    TEXT_ONLY = ("analysis", "weak", "weak_terms", "noise_threshold", "nearest_kinds", "absent_kinds")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        return out if self.analysis is not None else {k: v for k, v in out.items() if k not in self.TEXT_ONLY}

    @property
    def paths(self) -> list[str]:
        return [hit.path for hit in self.results]


def _short(path):
    """The file name with its folder: in a class-per-folder tree, bare names repeat."""
    parent = os.path.basename(os.path.dirname(path))
    return f"{parent}/{os.path.basename(path)}" if parent else os.path.basename(path)


def write_sheet(hits: Sequence[Hit], out: str | os.PathLike, title: str) -> str | None:
    """A contact sheet PNG: one thumbnail per result, captioned with rank, score and file name."""
    if not hits:
        return None
    items = [(h.path, [f"#{rank}  {h.score:.3f}", _short(h.path)]) for rank, h in enumerate(hits, 1)]
    return str(contact_sheet(items, out, title=title, caption_lines=2))


def lines(results: SearchResults) -> list[str]:
    """Plain-text rows for a terminal: rank, score, path."""
    return [f"{rank:>3}  {h.score:+.3f}  {h.path}" for rank, h in enumerate(results.results, 1)]
