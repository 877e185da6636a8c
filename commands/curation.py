"""Commands that curate an index: dedupe, label, walk, map."""
from __future__ import annotations

import click

from devise.commands.support import (
    NAME,
    FiniteFloat,
    LabelList,
    echo,
    emit_json,
    filter_option,
    given_path,
    json_option,
    space_option,
)
from devise.curate.dedupe import dedupe as run_dedupe
from devise.curate.dedupe import restore_removed
from devise.curate.duplicates import DEFAULT_THRESHOLD
from devise.curate.labels import label as run_label
from devise.curate.maps import make_map
from devise.curate.walk import walk as run_walk


@click.command()
@click.option("--index", "index_name", type=NAME, help="Index to clean (default: the last one built).")
@click.option("--threshold", type=FiniteFloat(0, 1), default=None,
              help="Minimum pixel similarity of a duplicate pair (default 0.93; see bench/dedupe.py).")
@click.option("--like", type=click.Path(exists=True, dir_okay=False), help="Only duplicates of this image.")
@click.option("--query", type=NAME, help='Only duplicates of the best match for this text, e.g. "a black image".')
@click.option("--mirror/--no-mirror", default=True, show_default=True,
              help="Count a left-right mirror image as a copy.")
@click.option("--delete", is_flag=True, help="Remove all but one image per group from the index (tombstoned; files stay).")
@click.option("--move-to", type=given_path(file_okay=False),
              help="Also move the removed files into this folder for review (implies --delete); it must lie outside the indexed folder.")
@click.option("--restore", "restore_paths", multiple=True, type=given_path(dir_okay=False), metavar="PATH",
              help="Put a file that --delete or --move-to removed back on the list to index (repeatable); then run `devise index`.")
@filter_option
@click.option("--json", "as_json", is_flag=True, help='Print {"groups": [{"keep": p, "duplicates": [{"path", "score", "mirrored"}]}]}.')
def dedupe(index_name, threshold, like, query, mirror, delete, move_to, restore_paths, filter_text, as_json):
    """Find near-duplicate images (re-encoded, resized, mirrored, constant) and optionally remove them."""
    if like and query:
        raise click.UsageError("give --like or --query, not both.")
    if restore_paths:
        if like or query or delete or move_to or filter_text or threshold is not None or not mirror:
            raise click.UsageError("--restore takes no other option but --index and --json.")
        return _restore(restore_paths, index_name, as_json)
    report = run_dedupe(index=index_name, threshold=DEFAULT_THRESHOLD if threshold is None else threshold, like=like,
                        query=query, filter=filter_text, delete=delete, move_to=move_to, mirror=mirror)
    if as_json:
        return emit_json(report)
    for g in report.groups:
        kind = f"  (constant {g.constant})" if g.constant else ""
        echo(f"keep {g.keep}{kind}")
        for d in g.duplicates:
            echo(f"  {d.score:.4f}  {d.path}" + ("  (mirrored)" if d.mirrored else ""))
    echo(f"{len(report.groups)} group(s), {report.duplicates} duplicate(s) among {report.images} images "
               f"(threshold {report.threshold})", err=True)
    for left in report.left_in_place:
        echo(f"not moved: {left.path}: {left.reason}", err=True)
    if report.removed is not None:
        echo(f"removed {report.removed} from index {report.index!r} ({report.count_after} left)"
                   + (f"; moved {len(report.moved)} file(s) to {move_to}" if move_to else ""), err=True)


def _restore(paths, index_name, as_json):
    report = restore_removed(paths, index=index_name)
    if as_json:
        return emit_json(report)
    for path in report.restored:
        echo(f"restored {path}" + (" (no file there now: move it back from the review folder)"
                                         if path in report.missing else ""))
    echo(f"{len(report.restored)} file(s) restored to index {report.index!r}; "
               f"run `devise index {report.root}` to add them back", err=True)


@click.command()
@click.option("--labels", "labels", type=LabelList(), help='Comma-separated phrases, e.g. "one hot dog,a hamburger,a face" (or a file).')
@click.option("--index", "index_name", type=NAME, help="Index to label (default: the last one built).")
@click.option("--field-prefix", default="", help="Prefix for the field names (a_face -> PREFIXa_face).")
@click.option("--assign", is_flag=True, help="Also store the best label in the field `label`.")
@click.option("--min-score", type=FiniteFloat(), help="With --assign: below this cosine, `label` is null.")
@click.option("--calibrate", type=click.Choice(["reference", "refine", "center", "none"]), default="reference",
              show_default=True,
              help="With --assign: reference = the score `tag --labels` ranks by (each label's mean over ImageNet's "
                   "classes subtracted), so the two agree; refine = centred scores then feature-space prototypes "
                   "(uses the other images; the most accurate over a whole collection, docs/curate.md); "
                   "center = subtract each label's mean over the images; none = raw.")
@click.option("--drop", multiple=True, metavar="FIELD", help="Remove this field from every image (repeatable).")
@filter_option
@json_option
def label(labels, index_name, field_prefix, assign, min_score, calibrate, drop, filter_text, as_json):
    """Zero-shot label scores (cosine in word space) stored as index fields for --filter and map."""
    s = run_label(labels or [], index=index_name, field_prefix=field_prefix, assign=assign, min_score=min_score,
                  calibrate=calibrate, drop=drop, filter=filter_text)
    if as_json:
        return emit_json(s)
    for f in s.fields:
        echo(f"{f.mean:.3f}  {f.field}: {f.label!r} (min {f.min:.3f}, max {f.max:.3f})")
    if s.assigned:
        echo("label: " + ", ".join(f"{c.label if c.label is not None else '(none)'} {c.images}"
                                         for c in s.assigned))
    if s.dropped:
        echo("dropped: " + ", ".join(s.dropped))
    echo(f"index {s.index!r}: {s.images} image(s) labelled", err=True)


@click.command()
@click.option("--index", "index_name", type=NAME, help="Index to walk (default: the last one built).")
@click.option("--start", type=NAME, help='Start at search\'s first hit for this text, e.g. "a photo of an astronaut".')
@click.option("--start-image", type=click.Path(exists=True, dir_okay=False), help="Start at the image most like this one.")
@filter_option
@click.option("--limit", type=click.IntRange(1), help="Stop after N images.")
@space_option
@click.option("--out", type=given_path(dir_okay=False), help="Write the image paths in walk order, one per line.")
@click.option("--gif", type=given_path(dir_okay=False), help="Write an animated GIF of the walk.")
@click.option("--frames", type=given_path(file_okay=False), help="Write numbered PNG frames into this folder.")
@click.option("--fps", type=click.IntRange(1, 50), default=12, show_default=True)
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True, help="Frame side in pixels.")
@json_option
def walk(index_name, start, start_image, filter_text, limit, space, out, gif, frames, fps, size, as_json):
    """A greedy nearest-neighbour tour through the images: each visited once, neighbours alike."""
    if start and start_image:
        raise click.UsageError("give --start or --start-image, not both.")
    s = run_walk(index=index_name, start=start, start_image=start_image, filter=filter_text, limit=limit,
                 space=space, out=out, gif=gif, frames=frames, fps=fps, size=size)
    if as_json:
        return emit_json(s)
    if not (out or gif or frames):
        for path in s.order:
            echo(path)
    echo(f"walked {s.visited} of {s.images} images from {s.start} in {s.space} space: "
               f"length {s.tour_length:.2f} vs {s.random_length:.2f} for a random order "
               f"({s.ratio:.2f}x)", err=True)
    for written in (s.out, s.gif, s.frames):
        if written:
            echo(f"wrote {written}", err=True)


@click.command("map")
@click.option("--index", "index_name", type=NAME, help="Index to draw (default: the last one built).")
@filter_option
@click.option("--color-by", "colour_by", metavar="FIELD|label", help="Dots coloured by a numeric field, label or class (default: thumbnails).")
@space_option
@click.option("--size", type=click.IntRange(200, 8000), default=1600, show_default=True)
@click.option("--thumb", type=click.IntRange(8, 512), default=64, show_default=True, help="Thumbnail cell size.")
@click.option("--out", required=True, type=given_path(dir_okay=False), help="PNG to write.")
@json_option
def map_command(index_name, filter_text, colour_by, space, size, thumb, out, as_json):
    """A 2-D map of the images (UMAP if installed, else t-SNE or PCA) as thumbnails or coloured dots."""
    s = make_map(out, index=index_name, filter=filter_text, color_by=colour_by, space=space, size=size, thumb=thumb)
    if as_json:
        return emit_json(s)
    echo(f"wrote {s.out}: {s.images} images, {s.layout} layout", err=True)
