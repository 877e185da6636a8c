"""`devise map`: a 2-D picture of an index, drawn with Pillow.

Layout: UMAP when `umap-learn` is installed (extra `umap`), else t-SNE
from scikit-learn up to TSNE_MAX images, else PCA (t-SNE's cost grows
too fast beyond that). Drawing: thumbnails on a grid of cells, one per
cell (the image nearest the cell's centre wins, so dense regions stay
readable), or, with colour_by, one dot per image coloured by a numeric
field (a blue-to-yellow ramp with its scale) or by a label (a legend).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from devise.core import outputs
from devise.core.errors import DataError, option
from devise.core.results import Result
from devise.data.sheet import font, thumbnail
from devise.index.selection import open_selection

TSNE_MAX = 1000
RAMP = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]  # viridis anchors
# Matplotlib's tab20 without its two greys, strong shades first: grey is kept for "(others)" and "(none)",
# so that no class can be mistaken for them.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (188, 189, 34), (23, 190, 207),
           (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148),
           (247, 182, 210), (219, 219, 141), (158, 218, 229)]
GREY = (170, 170, 170)


def layout_2d(vectors, seed=0):
    """([n, 2] coordinates scaled to [0, 1], method name)."""
    n = len(vectors)
    if n < 3:
        xy, method = np.array([[0.0, 0.5], [1.0, 0.5]])[:n], "none"
    else:
        try:
            import umap

            xy, method = umap.UMAP(n_components=2, random_state=seed).fit_transform(vectors), "umap"
        except ImportError:
            if n <= TSNE_MAX:
                from sklearn.decomposition import PCA
                from sklearn.manifold import TSNE

                # Rows are unit vectors, so Euclidean t-SNE on them ranks neighbours as cosine does;
                # 50 principal components first is the usual speed-up and loses little.
                reduced = PCA(min(50, n, vectors.shape[1]), random_state=seed).fit_transform(vectors)
                perplexity = float(min(30, max(2, (n - 1) // 3)))
                xy = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
                method = "t-sne"
            else:
                from sklearn.decomposition import PCA

                xy, method = PCA(2, random_state=seed).fit_transform(vectors), "pca"
    xy = np.asarray(xy, np.float64)
    span = np.maximum(xy.max(axis=0) - xy.min(axis=0), 1e-12)
    return (xy - xy.min(axis=0)) / span, method


def ramp(t):
    t = float(np.clip(t, 0, 1)) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    a, b, f = RAMP[i], RAMP[i + 1], t - i
    return tuple(round(a[c] + (b[c] - a[c]) * f) for c in range(3))


def _colour_values(sel, field):
    if field in ("label", "class"):
        chosen = [sel.items[i] for i in sel.ids]
        values = [it.get("fields", {}).get("label") if field == "label" else it.get("class") for it in chosen]
        if all(v is None for v in values):
            why = ("no selected image has a label: assign some with `devise label --labels ... --assign`, or colour by class"
                   if field == "label" else "the indexed folder has no class subfolders: colour by label or a numeric field")
            raise DataError(f"{option('color_by', field)}: {why}.")
        return [v if v is not None else "(none)" for v in values], False
    values = [sel.items[i].get("fields", {}).get(field) for i in sel.ids]
    numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numeric:
        raise DataError(f"{option('color_by', field)}: no selected image has a numeric field {field!r}; "
                        f"use label, class or a field from `devise label`.")
    return [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None for v in values], True


def draw_points(xy, values, numeric, size, title):
    label_font, pad, legend_w = font(14), 40, 220
    img = Image.new("RGB", (size + legend_w, size + pad), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 10), title, fill="black", font=label_font)
    inner = size - 2 * pad
    if numeric:
        known = [v for v in values if v is not None]
        lo, hi = min(known), max(known)
        colours = [(200, 200, 200) if v is None else ramp((v - lo) / (hi - lo) if hi > lo else 0.5) for v in values]
        for j in range(200):
            draw.line([(size + 30, pad + 40 + j), (size + 60, pad + 40 + j)], fill=ramp(1 - j / 199))
        draw.text((size + 66, pad + 34), f"{hi:.3f}", fill="black", font=label_font)
        draw.text((size + 66, pad + 230), f"{lo:.3f}", fill="black", font=label_font)
    else:
        names = sorted(set(values) - {"(none)"}, key=lambda v: (-values.count(v), v))
        shown = dict(zip(names, PALETTE))
        colours = [shown.get(v, GREY) for v in values]
        legend = [(name, shown[name]) for name in names[:len(PALETTE)]]
        others = len(names) - len(PALETTE)
        if others > 0 or "(none)" in values:
            legend.append((f"(none or {others} others)" if others > 0 and "(none)" in values
                           else f"({others} others)" if others > 0 else "(none)", GREY))
        for i, (name, colour) in enumerate(legend):
            y = pad + 40 + i * 20
            draw.ellipse([size + 30, y, size + 42, y + 12], fill=colour)
            draw.text((size + 48, y - 2), str(name)[:22], fill="black", font=label_font)
    r = 3 if len(xy) > 2000 else 5
    for (x, y), colour in zip(xy, colours):
        cx, cy = pad + x * inner, pad + 20 + (1 - y) * inner
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    return img


def draw_thumbnails(xy, paths, size, thumb, title):
    cells = max(1, (size - 20) // thumb)
    img = Image.new("RGB", (cells * thumb + 20, cells * thumb + 50), "white")
    ImageDraw.Draw(img).text((10, 10), title, fill="black", font=font(14))
    grid = np.minimum((xy * cells).astype(int), cells - 1)
    centre = (grid + 0.5) / cells
    best = {}
    for i, (cell, dist) in enumerate(zip(map(tuple, grid), np.linalg.norm(xy - centre, axis=1))):
        if cell not in best or dist < best[cell][0]:
            best[cell] = (dist, i)
    for (cx, cy), (_, i) in best.items():
        img.paste(thumbnail(paths[i], thumb - 2), (10 + cx * thumb, 40 + (cells - 1 - cy) * thumb))
    return img, len(best)


@dataclass
class MapPoint(Result):
    id: int
    path: str
    x: float         # in [0, 1]
    y: float         # in [0, 1], up
    value: object = None   # the --color-by value, when given


@dataclass
class MapSummary(Result):
    out: str | None  # None: points only, no PNG (see make_map)
    index: str
    images: int
    layout: str      # umap, tsne, pca or none
    space: str
    color_by: str | None = None
    thumbnails: int | None = None   # cells drawn, without --color-by
    points: list[MapPoint] = field(default_factory=list)


def make_map(out: str | Path | None, *, index: str | None = None, filter: str | None = None, color_by: str | None = None,
             space: str = "features", size: int = 1600, thumb: int = 64, seed: int = 0) -> MapSummary:
    """Draw a 2-D map of the (filtered) images to the PNG `out`: thumbnails, or dots coloured by a field.

    `out` must be new or a map devise wrote: a user's file there is refused before any work.
    With `out` None, only the points are laid out: nothing is drawn or written.
    """
    if out is not None:
        outputs.claim_file(out)
    sel = open_selection(index, filter, minimum=2)
    xy, method = layout_2d(sel.vectors(space), seed)
    title = f"index {sel.index.name}: {len(sel.ids)} images, {space} space, {method}"
    summary = MapSummary(None if out is None else str(out), sel.index.name, len(sel.ids), method, space, color_by)
    values = [None] * len(sel.ids)
    if color_by:
        values, numeric = _colour_values(sel, color_by)
        img = draw_points(xy, values, numeric, size, f"{title}, colour: {color_by}") if out is not None else None
    elif out is not None:
        img, summary.thumbnails = draw_thumbnails(xy, sel.paths(), size, thumb, title)
    if out is not None:
        outputs.save_image(img, out, format="PNG")
    summary.points = [MapPoint(int(i), p, round(float(x), 5), round(float(y), 5), v)
                      for i, p, (x, y), v in zip(sel.ids, sel.paths(), xy, values)]
    return summary
