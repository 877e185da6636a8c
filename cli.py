"""devise command line: each command checks its input with click types, calls one library function, prints.

Results go to stdout, as text or `--json` (the result's `to_dict()`);
progress and warnings go to stderr. Heavy libraries load inside the library
functions, never here, so `--help` and index searches stay fast.
"""
from __future__ import annotations

import json

import click

from devise.cli_support import (
    DeviseGroup,
    LabelList,
    ModelOrConse,
    comma_list,
    emit_json,
    filter_option,
    json_option,
    label_map_option,
    labels_option,
    print_hits,
    print_per_image,
    space_option,
    split_options,
)


@click.group(cls=DeviseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="DEVISE_HOME",
              help="Where models, indexes and caches live (default ~/.devise).")
@click.option("--verbose", "-v", is_flag=True, help="Also show the start-up messages of TensorFlow and other libraries.")
@click.option("--debug", is_flag=True, envvar="DEVISE_DEBUG",
              help="Show the full traceback of an unexpected error (also DEVISE_DEBUG=1).")
def cli(home, verbose, debug):
    """devise: DeViSE-style joint image/word embeddings, tagging, search and curation."""
    import os

    from devise.core.home import set_home

    set_home(home)
    if verbose:
        os.environ["DEVISE_VERBOSE"] = "1"


# training

@cli.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@split_options
@click.option("--backbone", default=None, help="efficientnet-lite0 (default, offline), vgg16, efficientnetv2b0, resnet50.")
@click.option("--words", "words", default=None, help="GloVe .txt or word2vec file (default: GloVe 6B 50-d).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--verbose", is_flag=True, help="Show Keras training progress.")
@json_option
def train(data_dir, holdout, holdout_classes, seed, exclude, loss, epochs, label_map, backbone, words, out, verbose,
          as_json):
    """Train a projection head on DATA_DIR (one subfolder per class)."""
    from devise.train.run import train as run_train

    r = run_train(data_dir, out=out, holdout=holdout, holdout_classes=holdout_classes, seed=seed, exclude=exclude,
                  label_map=label_map, loss=loss, epochs=epochs, backbone=backbone, words=words, verbose=verbose)
    if as_json:
        return emit_json(r)
    more = " ..." if len(r.unseen) > 8 else ""
    click.echo(f"trained on {r.train_images} images of {len(r.seen)} classes; "
               f"held out {len(r.unseen)} classes ({', '.join(r.unseen[:8])}{more})")
    click.echo(f"gated blend {r.blend} (head vs ConSE), calibrated stacking gamma={r.gamma}; skipped {r.skipped} file(s)")
    click.echo(f"model: {r.model_dir}")


@cli.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Evaluate this model on its own split.")
@click.option("--test-dir", type=click.Path(exists=True, file_okay=False), help="Take test images from this folder (e.g. CIFAR-10 test/).")
@split_options
@click.option("--splits", type=click.IntRange(1, 100), default=1, show_default=True, help="Seeded class splits to average.")
@json_option
@click.option("--verbose", is_flag=True)
def evaluate(data_dir, model_dir, test_dir, holdout, holdout_classes, seed, exclude, loss, epochs, label_map, splits,
             as_json, verbose):
    """Zero-shot (ZSL) and generalized (GZSL) hit@k: model vs ConSE vs chance."""
    from devise.train.evaluation import evaluate as run_evaluate
    from devise.train.report import evaluation_table

    report = run_evaluate(data_dir, model=model_dir, test_dir=test_dir, splits=splits, holdout=holdout,
                          holdout_classes=holdout_classes, seed=seed, exclude=exclude, label_map=label_map,
                          loss=loss, epochs=epochs, verbose=verbose)
    if as_json:
        return emit_json(report)
    click.echo(evaluation_table(report.to_dict()))


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Trained model (default: ConSE, no training).")
@click.option("--index", "index_name", default=None, help="Use the model of this index.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@labels_option
@json_option
def tag(images, model_dir, index_name, top, labels, as_json):
    """Nearest words for each image (zero-shot classification with --labels).

    Each tag shows its score: the cosine in word space, less a trained
    model's calibrated penalty on the classes it was trained on; --json also
    gives the plain cosine.
    """
    from devise.search.tag import tag as run_tag

    result = run_tag(images, model=model_dir, index=index_name, top=top, labels=labels)
    print_per_image(result, len(images), as_json, lambda r: [f"{t.word} ({t.score:.3f})" for t in r.tags])


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--backbone", default=None)
@json_option
def classify(images, top, backbone, as_json):
    """The backbone's own ImageNet labels: what the CNN sees."""
    from devise.models.classify import classify as run_classify

    result = run_classify(images, top=top, backbone=backbone)
    print_per_image(result, len(images), as_json, lambda r: [f"{x.label} ({x.prob:.3f})" for x in r.labels])


@cli.command()
@click.argument("data_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Where to write the model and sheet (default: HOME/demo).")
@click.option("--epochs", type=click.IntRange(1, 1000), default=30, show_default=True)
@json_option
def demo(data_dir, out, epochs, as_json):
    """The main job: train with 20% of classes held out, compare with ConSE, tag held-out images."""
    from devise.demo import demo as run_demo
    from devise.train.report import evaluation_table

    summary = run_demo(data_dir, out=out, epochs=epochs)
    if as_json:
        return emit_json(summary)
    click.echo(summary.data)
    if summary.evaluation is not None:
        click.echo(evaluation_table(summary.evaluation.to_dict()))
    for r in summary.tags:
        click.echo(f"{r.image}: " + ", ".join(f"{t.word} ({t.score:.2f})" for t in r.tags))
    click.echo("wrote: " + ", ".join(summary.wrote))


# generation, alignment, slices

@cli.command()
@click.option("--classes", help='Comma-separated class phrases, e.g. "hot dog,cat,sofa".')
@click.option("--classes-file", type=click.Path(dir_okay=False), help="One class phrase per line (# comments).")
@click.option("--template", default="a photo of a {}", show_default=True, help="Prompt; {} is the class.")
@click.option("--per-class", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--model", default="stabilityai/sd-turbo", show_default=True,
              help="Any diffusers text-to-image pipeline: hub id or saved folder.")
@click.option("--steps", type=click.IntRange(min=1), help="Default: 1 for *turbo* models, else 30.")
@click.option("--guidance", type=float, help="Default: 0 for *turbo* models, else 7.5.")
@click.option("--size", default=512, show_default=True, type=int, help="Square image side, a multiple of 8.")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int, help="Base seed; each image's seed derives from it.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cuda", "cpu"]))
@click.option("--dtype", type=click.Choice(["float16", "bfloat16", "float32"]),
              help="Default: float16 on cuda, float32 on cpu.")
@click.option("--retry-blank", default=0, show_default=True, type=click.IntRange(min=0),
              help="Regenerate safety-blanked images up to N times with new seeds.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output image folder.")
def generate(classes, classes_file, out, **options):
    """Generate a labelled image folder (OUT/<class>/<NNNN>.png) from text prompts; resumable."""
    from devise.cli_support import GenerateProgress
    from devise.data.generate import generate as run

    with GenerateProgress() as progress:
        summary = run(comma_list(classes), out=out, classes_file=classes_file, progress=progress,
                      warn=lambda message: click.echo(message, err=True), **options)
    emit_json(summary)


@cli.command()
@click.option("--index", "index_name", default=None, help="Index to score (default: the default index).")
@label_map_option
@json_option
def score(index_name, label_map, as_json):
    """Alignment of each image with its prompt (metadata.jsonl) or class phrase; stored as field `alignment`."""
    from devise.search.score import score as run_score
    from devise.search.score import summary_text

    summary = run_score(index=index_name, label_map=label_map)
    click.echo(json.dumps(summary.to_dict(), indent=2) if as_json else summary_text(summary))


@cli.command()
@click.option("--index", "index_name", default=None, help="Index to slice (default: the default index).")
@click.option("--field", default="alignment", show_default=True, help="Numeric item field to compare clusters on.")
@click.option("--min-support", type=click.IntRange(min=2), default=5, show_default=True,
              help="Smallest cluster (scored images) worth reporting.")
@click.option("--min-drop", type=click.FloatRange(min=0), default=None,
              help="Smallest |cluster mean - overall mean| reported (default: half the field's std).")
@click.option("--k", type=click.IntRange(min=2), default=None, help="k-means clusters (default: sqrt(n/2), 2..100).")
@click.option("--method", type=click.Choice(["kmeans", "hdbscan"]), default="kmeans", show_default=True)
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Slices reported per side.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default="report", show_default=True,
              help="Folder for index.md and one contact sheet per slice.")
@json_option
def slices(index_name, field, min_support, min_drop, k, method, top, seed, out, as_json):
    """Clusters of similar images whose mean FIELD sits far above or below the collection's."""
    from devise.search.slice_report import slices as run_slices
    from devise.search.slice_report import text_table

    report = run_slices(index=index_name, field=field, min_support=min_support, min_drop=min_drop, k=k,
                        method=method, top=top, seed=seed, out=out)
    click.echo(f"wrote {report.written[0]} and {len(report.written) - 1} contact sheet(s)", err=True)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else text_table(report))


# index and search

@cli.command("index")
@click.argument("images_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", type=ModelOrConse(), default=None,
              help="Trained model directory or 'conse' (default: the index's current model, else ConSE).")
@click.option("--name", help="Index name (default: the folder's name). The last index built is the default.")
@click.option("--trees", type=click.IntRange(1, 1000), help="Annoy trees (default 20; more: better recall, bigger files).")
@click.option("--rebuild", is_flag=True, help="Re-project every image, e.g. to switch the index to another --model.")
@json_option
def index_command(images_dir, model, name, trees, rebuild, as_json):
    """Build or update a searchable index of IMAGES_DIR (only new or changed files are embedded)."""
    from devise.index.builder import build_index

    s = build_index(images_dir, model=model, name=name, trees=trees, rebuild=rebuild)
    if as_json:
        return emit_json(s)
    click.echo(f"index {s.name!r}: {s.items} images from {s.root} ({s.embedded} embedded now, "
               f"{s.reused} unchanged, {s.removed} removed, {s.skipped} unreadable, {s.tombstoned} tombstoned) "
               f"in {s.seconds} s")
    click.echo(f"model: {s.model}; text search: {s.text_search} ({s.text_search_reason}); "
               f"image search: {s.image_search}")


@cli.command("search")
@click.argument("query")
@click.option("--index", "index_name", help="Index to search (default: the last one built).")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"query": q, "results": [{"path": p, "score": s}], ...}.')
@click.option("--sheet", type=click.Path(dir_okay=False), help="Also write a contact sheet PNG of the results.")
@filter_option
def search_command(query, index_name, top, as_json, sheet, filter_text):
    """Images matching a text QUERY: "cat sofa", "beach + sunset - people", "dog:2 snow".

    Words in a part are averaged; + and - add and subtract parts; word:W
    weights a word; "quoted words" make one phrase. A query starting with
    '-' needs `--` before it: devise search -- "-people beach".

    Scores are cosine similarities in [-1, 1] (Annoy's 'angular' distance d
    is sqrt(2 - 2 cos), converted back with cos = 1 - d*d/2).
    """
    from devise.search.text import search

    print_hits(search(query, index=index_name, top=top, filter=filter_text, sheet=sheet), as_json)


@cli.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index_name", help="Index to search (default: the last one built).")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same JSON shape as `search`.")
@click.option("--sheet", type=click.Path(dir_okay=False), help="Also write a contact sheet PNG of the results.")
@filter_option
def similar(image, index_name, top, as_json, sheet, filter_text):
    """Images that look like IMAGE (a file in the index, or any other image).

    Compares raw backbone features; scores are cosine similarities in [-1, 1].
    """
    from devise.search.image import similar as run_similar

    print_hits(run_similar(image, index=index_name, top=top, filter=filter_text, sheet=sheet), as_json)


@cli.command()
@click.argument("word")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--words", "word_vectors", help="Word vectors file (default: the default index's, else GloVe 6B 50-d).")
@click.option("--index", "index_name", help="Use this index's word vectors.")
@json_option
def words(word, top, word_vectors, index_name, as_json):
    """Nearest words to WORD (or to a query such as "king - man + woman").

    Scores are cosine similarities in [-1, 1].
    """
    from devise.search.nearest_words import words as nearest

    result = nearest(word, top=top, vectors=word_vectors, index=index_name)
    if as_json:
        return emit_json(result)
    for rank, hit in enumerate(result.results, 1):
        click.echo(f"{rank:>3}  {hit.score:+.3f}  {hit.word}")


@cli.command()
@json_option
def indexes(as_json):
    """List the indexes under the home; * marks the default."""
    from devise.index.store import list_indexes

    found = list_indexes()
    if as_json:
        return emit_json(found.to_dict()["indexes"])
    if not found:
        click.echo("no indexes yet; build one with `devise index IMAGES_DIR`.")
    for i in found:
        mark = "*" if i.default else " "
        click.echo(f"{mark} {i.name}: " + (i.error if i.error else
                   f"{i.count} images, {i.mode} search, model {i.model}, from {i.root}"))


# curation

@cli.command()
@click.option("--index", "index_name", help="Index to clean (default: the last one built).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Minimum pixel similarity of a duplicate pair (default 0.93; see bench/dedupe.py).")
@click.option("--like", type=click.Path(exists=True, dir_okay=False), help="Only duplicates of this image.")
@click.option("--query", help='Only duplicates of the best match for this text, e.g. "a black image".')
@click.option("--delete", is_flag=True, help="Remove all but one image per group from the index (tombstoned; files stay).")
@click.option("--move-to", type=click.Path(file_okay=False), help="Also move the removed files into this folder for review (implies --delete).")
@filter_option
@click.option("--json", "as_json", is_flag=True, help='Print {"groups": [{"keep": p, "duplicates": [{"path", "score"}]}]}.')
def dedupe(index_name, threshold, like, query, delete, move_to, filter_text, as_json):
    """Find near-duplicate images (re-encoded, resized, constant) and optionally remove them."""
    from devise.curate.dedupe import dedupe as run_dedupe
    from devise.curate.duplicates import DEFAULT_THRESHOLD

    if like and query:
        raise click.UsageError("give --like or --query, not both.")
    report = run_dedupe(index=index_name, threshold=DEFAULT_THRESHOLD if threshold is None else threshold, like=like,
                        query=query, filter=filter_text, delete=delete, move_to=move_to)
    if as_json:
        return emit_json(report)
    for g in report.groups:
        kind = f"  (constant {g.constant})" if g.constant else ""
        click.echo(f"keep {g.keep}{kind}")
        for d in g.duplicates:
            click.echo(f"  {d.score:.4f}  {d.path}")
    click.echo(f"{len(report.groups)} group(s), {report.duplicates} duplicate(s) among {report.images} images "
               f"(threshold {report.threshold})", err=True)
    if report.removed is not None:
        click.echo(f"removed {report.removed} from index {report.index!r} ({report.count_after} left)"
                   + (f"; moved files to {move_to}" if move_to else ""), err=True)


@cli.command()
@click.option("--labels", "labels", type=LabelList(), help='Comma-separated phrases, e.g. "one hot dog,a hamburger,a face" (or a file).')
@click.option("--index", "index_name", help="Index to label (default: the last one built).")
@click.option("--field-prefix", default="", help="Prefix for the field names (a_face -> PREFIXa_face).")
@click.option("--assign", is_flag=True, help="Also store the best label in the field `label`.")
@click.option("--min-score", type=float, help="With --assign: below this cosine, `label` is null.")
@click.option("--calibrate", type=click.Choice(["refine", "center", "none"]), default="refine", show_default=True,
              help="With --assign: refine = centred scores then feature-space prototypes; center = subtract each label's mean; none = raw.")
@click.option("--drop", multiple=True, metavar="FIELD", help="Remove this field from every image (repeatable).")
@filter_option
@json_option
def label(labels, index_name, field_prefix, assign, min_score, calibrate, drop, filter_text, as_json):
    """Zero-shot label scores (cosine in word space) stored as index fields for --filter and map."""
    from devise.curate.labels import label as run_label

    s = run_label(labels or [], index=index_name, field_prefix=field_prefix, assign=assign, min_score=min_score,
                  calibrate=calibrate, drop=drop, filter=filter_text)
    if as_json:
        return emit_json(s)
    for f in s.fields:
        click.echo(f"{f.mean:.3f}  {f.field}: {f.label!r} (min {f.min:.3f}, max {f.max:.3f})")
    if s.assigned:
        click.echo("label: " + ", ".join(f"{c.label if c.label is not None else '(none)'} {c.images}"
                                         for c in s.assigned))
    if s.dropped:
        click.echo("dropped: " + ", ".join(s.dropped))
    click.echo(f"index {s.index!r}: {s.images} image(s) labelled", err=True)


@cli.command()
@click.option("--index", "index_name", help="Index to walk (default: the last one built).")
@click.option("--start", help='Start at the image best matching this text, e.g. "a photo of a smiling face".')
@click.option("--start-image", type=click.Path(exists=True, dir_okay=False), help="Start at the image most like this one.")
@filter_option
@click.option("--limit", type=click.IntRange(1), help="Stop after N images.")
@space_option
@click.option("--out", type=click.Path(dir_okay=False), help="Write the image paths in walk order, one per line.")
@click.option("--gif", type=click.Path(dir_okay=False), help="Write an animated GIF of the walk.")
@click.option("--frames", type=click.Path(file_okay=False), help="Write numbered PNG frames into this folder.")
@click.option("--fps", type=click.IntRange(1, 50), default=12, show_default=True)
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True, help="Frame side in pixels.")
@json_option
def walk(index_name, start, start_image, filter_text, limit, space, out, gif, frames, fps, size, as_json):
    """A greedy nearest-neighbour tour through the images: each visited once, neighbours alike."""
    from devise.curate.walk import walk as run_walk

    if start and start_image:
        raise click.UsageError("give --start or --start-image, not both.")
    s = run_walk(index=index_name, start=start, start_image=start_image, filter=filter_text, limit=limit,
                 space=space, out=out, gif=gif, frames=frames, fps=fps, size=size)
    if as_json:
        return emit_json(s)
    if not (out or gif or frames):
        for path in s.order:
            click.echo(path)
    click.echo(f"walked {s.visited} of {s.images} images from {s.start} in {s.space} space: "
               f"length {s.tour_length:.2f} vs {s.random_length:.2f} for a random order "
               f"({s.ratio:.2f}x)", err=True)
    for written in (s.out, s.gif, s.frames):
        if written:
            click.echo(f"wrote {written}", err=True)


@cli.command("map")
@click.option("--index", "index_name", help="Index to draw (default: the last one built).")
@filter_option
@click.option("--color-by", "colour_by", metavar="FIELD|label", help="Dots coloured by a numeric field, label or class (default: thumbnails).")
@space_option
@click.option("--size", type=click.IntRange(200, 8000), default=1600, show_default=True)
@click.option("--thumb", type=click.IntRange(8, 512), default=64, show_default=True, help="Thumbnail cell size.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@json_option
def map_command(index_name, filter_text, colour_by, space, size, thumb, out, as_json):
    """A 2-D map of the images (UMAP if installed, else t-SNE or PCA) as thumbnails or coloured dots."""
    from devise.curate.maps import make_map

    s = make_map(out, index=index_name, filter=filter_text, color_by=colour_by, space=space, size=size, thumb=thumb)
    if as_json:
        return emit_json(s)
    click.echo(f"wrote {s.out}: {s.images} images, {s.layout} layout", err=True)


def main():
    cli(prog_name="devise")


if __name__ == "__main__":
    main()
