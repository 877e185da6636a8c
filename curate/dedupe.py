"""`devise dedupe`: near-duplicate groups of an index, optionally removed (tombstoned) and moved aside.

Which member is kept is decided by a fixed rule, so two runs agree: the
most pixels, then the largest file, then the shortest path, then the first
path in sort order. Removal goes through index.edit.remove_items: a new
version without the duplicates and with their paths tombstoned, swapped in
atomically, so a killed run leaves the old index as it was and a later
`devise index` does not bring the duplicates back. Files are never deleted.

With move_to, everything that can refuse is checked before the index
changes (the review folder is outside the indexed folder, which paths are
other names of a file that stays; see review_folder). Then the index edit
comes first and the moves second: a run killed between the two leaves the
files where they were, out of the index, and `devise dedupe --restore PATH`
followed by `devise index` brings them back. A move that fails takes the
files not moved yet off the tombstones itself, so they return on the next
`devise index`. `restore_removed` is that --restore.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core.errors import BadImageError, DataError, option
from devise.core.results import Result, Skipped
from devise.curate import duplicates, pixels
from devise.curate.review_folder import Moved, check_target, move_file, plan_moves, review_path
from devise.curate.selection import text_vector
from devise.data.images import pixel_count
from devise.index.edit import remove_items, restore_items
from devise.index.selection import item_id, nearest_in, open_selection
from devise.index.store import open_index


def _pixel_count(path):
    try:
        return pixel_count(path)
    except BadImageError:
        return 0  # a file that went bad since it was indexed is never the one to keep


def keep_order(item):
    """Sort key: the member to keep sorts first."""
    return (-_pixel_count(item["path"]), -(item.get("size") or 0), len(item["path"]), item["path"])


@dataclass
class Duplicate(Result):
    path: str
    score: float            # pixel similarity with the kept image, in [0, 1]
    feature_cosine: float   # cosine of the backbone features, for reference
    mirrored: bool = False  # the score compares it with the kept image's left-right mirror


@dataclass
class DuplicateGroup(Result):
    keep: str
    duplicates: list[Duplicate]      # most similar first
    constant: str | None = None      # "#rrggbb" for a group of one-colour images


@dataclass
class DedupeReport(Result):
    index: str
    threshold: float
    images: int
    groups: list[DuplicateGroup] = field(default_factory=list)
    duplicates: int = 0
    like: str | None = None             # the image (or the best match of --query) the report is about
    removed: int | None = None          # with delete: how many left the index
    count_after: int | None = None
    moved: list[Moved] = field(default_factory=list)
    left_in_place: list[Skipped] = field(default_factory=list)  # removed from the index but not moved, and why


@dataclass
class RestoreReport(Result):
    index: str
    root: str                  # the indexed folder: `devise index ROOT` adds the restored files back
    restored: list[str]        # paths taken off the tombstones
    missing: list[str]         # of those, the ones with no file there now (e.g. moved for review)


def _report_group(sel, members, px, row_of, constant, mirror):
    items = sorted((sel.items[m] for m in members), key=keep_order)
    keep = items[0]
    rows = [row_of[it["id"]] for it in items]
    scores, flipped = duplicates.compare_to(px.thumbs[rows[0]], px.thumbs[rows[1:]], mirror)
    feats = sel.vectors("features", [it["id"] for it in items])
    cosines = feats[1:] @ feats[0]
    dups = [Duplicate(it["path"], round(float(s), 4), round(float(c), 4), bool(f))
            for it, s, c, f in zip(items[1:], scores, cosines, flipped)]
    dups.sort(key=lambda d: -d.score)
    return DuplicateGroup(keep["path"], dups, f"#{int(px.rgb[rows[0]]):06x}" if constant else None)


def dedupe(*, index: str | None = None, threshold: float = duplicates.DEFAULT_THRESHOLD, like: str | Path | None = None,
           query: str | None = None, filter: str | None = None, delete: bool = False,
           move_to: str | Path | None = None, mirror: bool = True, progress: bool = True) -> DedupeReport:
    """Near-duplicate groups of an index (re-encoded, resized, mirrored, one-colour images); optionally remove them.

    like: only duplicates of this image; query: of the best match for this
    text. delete: keep one image per group in the index (the others are
    tombstoned; files stay). move_to: also move the removed files into this
    folder for review; it must lie outside the indexed folder, and a file
    that a kept path also shows (a symlinked folder) is never moved.
    mirror: a left-right mirror image counts as a copy too.
    """
    if like and query:
        raise DataError(f"give {option('like')} or {option('query')}, not both.")
    sel = open_selection(index, filter, minimum=1 if (like or query) else 2)
    if move_to:
        move_to = check_target(move_to, sel.index.root)
    paths = sel.paths()
    px = pixels.load(paths, progress=progress)
    readable = sel.ids[px.ok]
    if len(readable) < len(sel.ids):
        print(f"warning: {len(sel.ids) - len(readable)} indexed file(s) are unreadable now; left out.", file=sys.stderr)
    row_of = {int(i): r for r, i in enumerate(sel.ids)}
    rows = np.array([row_of[int(i)] for i in readable], np.int64)
    anchor = None
    if like or query:
        anchor, groups = _duplicates_of(sel, px, rows, row_of, like, query, threshold, mirror)
    else:
        found, _ = duplicates.find_groups(px.thumbs, px.constant, px.rgb, threshold, rows, mirror=mirror)
        groups = [[int(sel.ids[r]) for r in g] for g in found]
    report = DedupeReport(sel.index.name, threshold, len(sel.ids), like=anchor)
    for members in groups:
        constant = bool(px.constant[row_of[members[0]]]) and all(px.constant[row_of[m]] for m in members)
        report.groups.append(_report_group(sel, members, px, row_of, constant, mirror))
    report.duplicates = sum(len(g.duplicates) for g in report.groups)
    if (delete or move_to) and report.duplicates:
        _remove(sel, report, move_to)
    return report


def _duplicates_of(sel, px, rows, row_of, like, query, threshold, mirror):
    """(anchor path, [one group of ids]) for --like / --query."""
    if query:
        anchor_id = nearest_in(sel, "words", text_vector(sel, query), sel.ids[rows])
        anchor = sel.items[anchor_id]["path"]
    else:
        anchor = os.path.abspath(like)
        anchor_id = item_id(sel, anchor)
    if anchor_id is not None and anchor_id in row_of and px.ok[row_of[anchor_id]]:
        r = row_of[anchor_id]
        thumb, constant, rgb = px.thumbs[r], bool(px.constant[r]), int(px.rgb[r])
    else:
        anchor_id = None
        thumb, constant, rgb = pixels.measure(anchor)
    if constant:
        hits = rows[px.constant[rows] & (px.rgb[rows] == rgb)]
    else:
        hits, _ = duplicates.matches_of(thumb, px.thumbs, threshold, rows[~px.constant[rows]], mirror=mirror)
    members = sorted({int(sel.ids[r]) for r in hits} | ({anchor_id} if anchor_id is not None else set()))
    return anchor, [members] if len(members) > 1 else []


def _remove(sel, report, move_to):
    gone = [d.path for g in report.groups for d in g.duplicates]
    movers = []
    if move_to:
        removed = set(gone)
        movers, report.left_in_place = plan_moves(gone, [it["path"] for it in sel.items if it["path"] not in removed])
    report.count_after = remove_items(gone, index=sel.index.name, tombstone=True)
    report.removed = len(gone)
    root = sel.index.root
    for n, path in enumerate(movers):
        try:
            report.moved.append(Moved(path, move_file(path, review_path(path, root, move_to))))
        except OSError as exc:
            restore_items(movers[n:], index=sel.index.name)
            raise DataError(f"{path}: could not be moved to {move_to} ({exc.strerror or exc}); it and the "
                            f"{len(movers) - n - 1} other file(s) not moved yet stay in place and come back on the "
                            f"next `devise index {root}` ({n} moved).") from exc


def restore_removed(paths, *, index: str | None = None) -> RestoreReport:
    """Take files that dedupe removed off the index's tombstones; the next `devise index` of its folder adds them back.

    A path the index does not hold as removed is an error (SearchIndexError).
    A restored file that is not at its path now (moved for review) is listed
    in `missing`: move it back before indexing.
    """
    paths = [str(p) for p in paths]
    if not paths:
        raise DataError("no path to restore; pass the path of a file that `devise dedupe` removed.")
    name = open_index(index).name
    restored = restore_items(paths, index=name)
    return RestoreReport(name, open_index(name).root, restored, [p for p in restored if not os.path.exists(p)])
