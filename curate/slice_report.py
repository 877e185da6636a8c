"""`devise slices`: find slices of an index and write `report/index.md` with a contact sheet per slice.

Every file is written atomically and index.md last, so a reader never finds
it pointing at a missing sheet; sheets of an earlier run that the new
index.md no longer names are deleted afterwards, if devise wrote them.
The folder must be new, empty or a report devise wrote (manifest kind
"report", core.outputs); a user's file at a sheet's path stops the run
before anything is written.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core import atomic, outputs
from devise.core.results import Result
from devise.curate import slices as slicing
from devise.data.sheet import contact_sheet
from devise.index.store import open_index
from devise.search.tag import candidates

SHEET_IMAGES, SHEET_THUMB = 18, 128
SHEET_PREFIX = "slice-"
KIND = "report"


def _scores(items, field):
    out = np.full(len(items), np.nan)
    for i, item in enumerate(items):
        value = (item.get("fields") or {}).get(field)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[i] = float(value)
    return out


@dataclass
class SliceReport(Result):
    index: str
    field: str
    method: str
    k: int
    min_support: int
    overall_mean: float
    overall_std: float
    scored: int
    min_drop: float
    clusters: int
    clusters_considered: int
    noise: int
    found: dict                      # {"above": n, "below": n}
    slices: list = field(default_factory=list)   # above the mean best first, then below worst first
    written: list = field(default_factory=list)  # index.md and the contact sheets, when written


def slices(*, index: str | None = None, field: str = "alignment", min_support: int = 5, min_drop: float | None = None,
           k: int | None = None, method: str = "kmeans", top: int = 5, seed: int = 0,
           out: str | Path | None = None) -> SliceReport:
    """Clusters of similar images whose mean `field` sits far above or below the collection's.

    out: also write `out/index.md` with one contact sheet per slice.
    """
    if out is not None:
        outputs.claim_folder(out, KIND)  # before the clustering: a refusal costs nothing
    report = find(index, field, min_support, min_drop, k, method, top, seed)
    if out is not None:
        report.written = [str(p) for p in write(report, out)]
    return report


def find(name=None, field="alignment", min_support=5, min_drop=None, k=None, method="kmeans", top=5, seed=0):
    """Cluster index `name` on image features and describe its unusual clusters."""
    idx = open_index(name)
    items = list(idx.items)
    scores = _scores(items, field)
    features = np.asarray(idx.vectors("features"), np.float32)
    labels, n_clusters = slicing.cluster(features, k, method, seed, min_support)
    above, below, stats = slicing.rank_clusters(features, scores, labels, min_support, min_drop)
    chosen = above[:top] + below[:top]
    words = np.asarray(idx.vectors("words"), np.float32)
    near = slicing.centroid_words([words[s.members] for s in chosen], candidates(idx.word_vectors())) \
        if chosen else []
    classes = [item.get("class") for item in items]
    rows = []
    for s, nearest in zip(chosen, near):
        number = (above.index(s) if s.direction == "above" else below.index(s)) + 1
        rows.append({"slice": f"{s.direction}-{number}", "cluster": s.cluster, "direction": s.direction,
                     "size": s.size, "mean": round(s.mean, 4), "diff": round(s.diff, 4), "z": round(s.z, 2),
                     "words": nearest, "classes": slicing.class_mix(classes, s.members),
                     "examples": [{"path": items[m]["path"], "class": classes[m], field: round(float(scores[m]), 4)}
                                  for m in s.members[:SHEET_IMAGES]]})
    return SliceReport(idx.name, field, method, n_clusters, min_support,
                       **{key: round(v, 4) if isinstance(v, float) else v for key, v in stats.items()},
                       found={"above": len(above), "below": len(below)}, slices=rows)


def write(report, out):
    """Write a sheet per slice and index.md under `out`; returns the paths written."""
    out = outputs.claim_folder(out, KIND)
    sheets = [out / f"{SHEET_PREFIX}{row['slice']}.png" for row in report.slices]
    for path in [out / "index.md"] + sheets:
        outputs.claim_file(path)
    out = outputs.make_folder(out, KIND)
    field = report.field
    for row, sheet in zip(report.slices, sheets):
        entries = [(e["path"], [e["class"] or "", f"{field} {e[field]:.3f}"]) for e in row["examples"]]
        # Short enough for the sheet's width (6 thumbnails): the table in index.md has the rest.
        title = (f"{row['slice']}: {row['size']} images, mean {field} {row['mean']:.3f} "
                 f"({row['diff']:+.3f}); {', '.join(row['words'][:3])}")[:80]
        contact_sheet(entries, sheet, title=title, thumb=SHEET_THUMB, caption_lines=2, claim=False)
        row["sheet"] = sheet.name
    index_md = out / "index.md"
    atomic.write_text(index_md, markdown(report, out))
    outputs.record(index_md)
    outputs.remove_stale(out, f"{SHEET_PREFIX}*.png", {p.name for p in sheets})
    return [index_md] + sheets


def _link(path, out):
    rel = os.path.relpath(path, out).replace(os.sep, "/")
    return f"[{Path(path).name}]({rel.replace(' ', '%20')})"


def markdown(report, out):
    f = report.field
    lines = [f"# Slices of index `{report.index}` by `{f}`", "",
             f"{report.scored} scored images; overall mean {report.overall_mean:.3f}, std "
             f"{report.overall_std:.3f}. {report.method} found {report.clusters} clusters; "
             f"{report.clusters_considered} have at least {report.min_support} scored images, and "
             f"{report.found['above']} sit at least {report.min_drop:.3f} above the mean, "
             f"{report.found['below']} below.", "",
             "| slice | size | mean | diff | z | nearest words | main classes |",
             "|---|---:|---:|---:|---:|---|---|"]
    for r in report.slices:
        mix = ", ".join(f"{c} {share:.0%}" for c, share in r["classes"])
        lines.append(f"| [{r['slice']}](#{r['slice']}) | {r['size']} | {r['mean']:.3f} | {r['diff']:+.3f} | "
                     f"{r['z']:.1f} | {', '.join(r['words'])} | {mix} |")
    if not report.slices:
        lines.append("| (none) | | | | | | |")
    for r in report.slices:
        lines += ["", f"## {r['slice']}", "", f"![{r['slice']}]({r.get('sheet', '')})", "",
                  "Nearest the cluster centre: " + ", ".join(_link(e["path"], out) for e in r["examples"][:6])]
    return "\n".join(lines) + "\n"


def text_table(report):
    """Plain stdout rendering of the slice table."""
    f = report.field
    lines = [f"{report.scored} images, {f} mean {report.overall_mean:.3f} (std {report.overall_std:.3f}); "
             f"{report.clusters} {report.method} clusters, {report.found['above']} above and "
             f"{report.found['below']} below by >= {report.min_drop:.3f}",
             f"{'slice':<9} {'size':>5} {'mean':>6} {'diff':>7} {'z':>6}  nearest words | main classes"]
    for r in report.slices:
        mix = ", ".join(f"{c} {share:.0%}" for c, share in r["classes"])
        lines.append(f"{r['slice']:<9} {r['size']:5d} {r['mean']:6.3f} {r['diff']:+7.3f} {r['z']:6.1f}  "
                     f"{', '.join(r['words'])} | {mix}")
    return "\n".join(lines)
