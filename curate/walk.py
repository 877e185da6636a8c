"""`devise walk`: a greedy nearest-neighbour tour through the (filtered) images of an index.

The tour runs in the "features" space by default (the backbone's view:
consecutive frames look alike) or in the "words" space (consecutive
frames mean alike). It starts at the image nearest to --start (text, in
word space) or --start-image (in feature space), else at the first image.
"""
import numpy as np

from devise.core.atomic import write_text
from devise.core.errors import DataError
from devise.curate import tour
from devise.curate.selection import image_features, nearest_in, select, text_vector


def walk(index=None, start=None, start_image=None, filter_text=None, limit=None, space="features",
         out=None, gif=None, frames=None, fps=12, size=256):
    """Run the walk, write the requested outputs; returns a summary dict (paths in walk order included)."""
    if start and start_image:
        raise DataError("give --start or --start-image, not both.")
    if limit is not None and limit < 1:
        raise DataError("--limit must be at least 1.")
    sel = select(index, filter_text)
    if start:
        first = nearest_in(sel, "words", text_vector(sel, start))
    elif start_image:
        first = nearest_in(sel, "features", image_features(sel, start_image))
    else:
        first = int(sel.ids[0])
    vectors = sel.vectors(space)
    start_row = int(np.searchsorted(sel.ids, first))
    order, stats = tour.greedy_tour(vectors, start_row, limit)
    paths = sel.paths(sel.ids[order])
    summary = {"index": sel.index.name, "space": space, "images": int(len(sel.ids)), "visited": len(paths),
               "start": paths[0], "tour_length": round(tour.tour_length(vectors, order), 4),
               "random_length": round(tour.random_length(vectors, len(order)), 4), **stats}
    summary["ratio"] = round(summary["tour_length"] / max(summary["random_length"], 1e-12), 4)
    if out:
        write_text(out, "".join(p + "\n" for p in paths))
        summary["out"] = str(out)
    if gif or frames:
        from devise.curate import animate

        if gif:
            summary["gif"] = str(animate.write_gif(paths, gif, size, fps))
        if frames:
            summary["frames"] = str(animate.write_frames(paths, frames, size))
    summary["order"] = paths
    return summary
