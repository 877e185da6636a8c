"""`devise walk`: a greedy nearest-neighbour tour through the (filtered) images of an index.

The tour runs in the "features" space by default (the backbone's view:
consecutive frames look alike) or in the "words" space (consecutive
frames mean alike). It starts at search's first hit for --start (text,
search.text.top_hit: the same ranking as `devise search`), at the image
most like --start-image (in feature space), else at the first image.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core import outputs
from devise.core.atomic import write_text
from devise.core.errors import DataError, option
from devise.core.results import Result
from devise.curate import animate, tour
from devise.index.selection import image_features, nearest_in, open_selection
from devise.search.text import top_hit


@dataclass
class WalkSummary(Result):
    index: str
    space: str
    images: int              # images in the (filtered) selection
    visited: int
    start: str
    tour_length: float       # sum of Euclidean steps between consecutive unit vectors
    random_length: float     # the same for a random order: the baseline
    ratio: float             # tour / random: lower is smoother
    widened: int = 0
    exact_scans: int = 0
    order: list[str] = field(default_factory=list)   # image paths in walk order
    out: str | None = None
    gif: str | None = None
    frames: str | None = None


def walk(*, index: str | None = None, start: str | None = None, start_image: str | Path | None = None,
         filter: str | None = None, limit: int | None = None, space: str = "features",
         out: str | Path | None = None, gif: str | Path | None = None, frames: str | Path | None = None,
         fps: int = 12, size: int = 256) -> WalkSummary:
    """A greedy nearest-neighbour tour: each image visited once, consecutive images alike.

    start: begin at search's first hit for this text (among the filtered images); start_image: at the
    image most like this file; else at the first image. out/gif/frames:
    also write the paths, an animated GIF, or numbered PNG frames; each must
    be new or devise's own (core.outputs), checked before any work.
    """
    if start and start_image:
        raise DataError(f"give {option('start')} or {option('start_image')}, not both.")
    if limit is not None and limit < 1:
        raise DataError(f"{option('limit')} must be at least 1.")
    for path in (out, gif):
        if path:
            outputs.claim_file(path)
    if frames:
        outputs.claim_folder(frames, "frames")
    sel = open_selection(index, filter)
    if start:
        first = top_hit(start, idx=sel.index, allowed=sel.ids)  # search's first hit, so walk and search agree
    elif start_image:
        first = nearest_in(sel, "features", image_features(sel, start_image))
    else:
        first = int(sel.ids[0])
    vectors = sel.vectors(space)
    start_row = int(np.searchsorted(sel.ids, first))
    order, stats = tour.greedy_tour(vectors, start_row, limit)
    paths = sel.paths(sel.ids[order])
    length, baseline = round(tour.tour_length(vectors, order), 4), round(tour.random_length(vectors, len(order)), 4)
    summary = WalkSummary(sel.index.name, space, len(sel.ids), len(paths), paths[0], length, baseline,
                          round(length / max(baseline, 1e-12), 4), stats["widened"], stats["exact_scans"], paths)
    if frames:  # every frame path, before anything is written
        animate.claim_frames(frames, len(paths))
    if out:
        write_text(out, "".join(p + "\n" for p in paths))
        outputs.record(out)
        summary.out = str(out)
    if gif:
        summary.gif = str(animate.write_gif(paths, gif, size, fps))
    if frames:
        summary.frames = str(animate.write_frames(paths, frames, size))
    return summary
