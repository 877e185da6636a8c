"""devise command line: thin wrappers that check input, call one library function, print.

Heavy libraries (TensorFlow, Keras, gensim, diffusers) are imported inside the
library functions, never here, so `--help` and index searches stay fast.
"""
import functools
import json
import sys

import click

from devise.core.errors import DeviseError


def reports_errors(fn):
    """Turn typed library errors into one-line click errors (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeviseError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def emit_json(obj):
    click.echo(json.dumps(obj, indent=2))


def emit_per_image(results, n_images, as_json, key, describe):
    """Print one line per readable image (or JSON); fail when none could be read."""
    if as_json:
        emit_json(results)
    else:
        for r in results:
            click.echo(f"{r['image']}: " + ", ".join(describe(item) for item in r[key]))
    if not results:
        raise click.ClickException(f"none of the {n_images} image(s) could be read.")


def comma_list(value):
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="DEVISE_HOME",
              help="Where models, indexes and caches live (default ~/.devise).")
def cli(home):
    """devise: DeViSE-style joint image/word embeddings, tagging and search."""
    from devise.core.home import set_home

    set_home(home)


# --- commands: trainer (issue 2) -------------------------------------------

def _label_map_option(fn):
    return click.option("--label-map", type=click.Path(exists=True, dir_okay=False),
                        help="File mapping class folder names to phrases (JSON or `name = phrase` lines).")(fn)


def _split_options(fn):
    fn = click.option("--holdout", type=click.FloatRange(0, 1, max_open=True), default=0.2, show_default=True,
                      help="Fraction of classes held out (zero-shot).")(fn)
    fn = click.option("--holdout-classes", help="Comma-separated class folders to hold out (overrides --holdout).")(fn)
    fn = click.option("--seed", type=int, default=0, show_default=True)(fn)
    fn = click.option("--exclude", help="Comma-separated class folders to ignore, e.g. BACKGROUND_Google.")(fn)
    fn = click.option("--loss", type=click.Choice(["cosine", "hinge"]), default="cosine", show_default=True)(fn)
    fn = click.option("--epochs", type=click.IntRange(1, 1000), default=30, show_default=True)(fn)
    return _label_map_option(fn)


@cli.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@_split_options
@click.option("--backbone", default=None, help="efficientnet-lite0 (default, offline), vgg16, efficientnetv2b0, resnet50.")
@click.option("--words", "words", default=None, help="GloVe .txt or word2vec file (default: GloVe 6B 50-d).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model directory to write.")
@click.option("--verbose", is_flag=True, help="Show Keras training progress.")
@reports_errors
def train(data_dir, holdout, holdout_classes, seed, exclude, loss, epochs, label_map, backbone, words, out, verbose):
    """Train a projection head on DATA_DIR (one subfolder per class)."""
    from devise.train.run import train_model

    model_dir, split, fitted, ds = train_model(
        data_dir, out, holdout, comma_list(holdout_classes) or None, seed, comma_list(exclude), label_map,
        loss, epochs, backbone, words, verbose=verbose)
    click.echo(f"trained on {len(split.train)} images of {len(split.seen)} classes; "
               f"held out {len(split.unseen)} classes ({', '.join(split.unseen[:8])}{' ...' if len(split.unseen) > 8 else ''})")
    click.echo(f"gated blend {fitted.blend} (head vs ConSE), calibrated stacking gamma={fitted.gamma}; skipped {len(ds.bad)} file(s)")
    click.echo(f"model: {model_dir}")


@cli.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Evaluate this model on its own split.")
@click.option("--test-dir", type=click.Path(exists=True, file_okay=False), help="Take test images from this folder (e.g. CIFAR-10 test/).")
@_split_options
@click.option("--splits", type=click.IntRange(1, 100), default=1, show_default=True, help="Seeded class splits to average.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--verbose", is_flag=True)
@reports_errors
def evaluate(data_dir, model_dir, test_dir, holdout, holdout_classes, seed, exclude, loss, epochs, label_map, splits, as_json, verbose):
    """Zero-shot (ZSL) and generalized (GZSL) hit@k: model vs ConSE vs chance."""
    from devise.train.report import evaluation_table
    from devise.train.run import evaluate as run_evaluate

    report = run_evaluate(data_dir, model_dir, test_dir, holdout, comma_list(holdout_classes) or None, splits, seed,
                          comma_list(exclude), label_map, loss, epochs, verbose=verbose)
    click.echo(json.dumps(report, indent=2) if as_json else evaluation_table(report))


def _labels_option(fn):
    return click.option("--labels", help="Restrict tags to these phrases: a file (one per line) or a comma list.")(fn)


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Trained model (default: ConSE, no training).")
@click.option("--index", "index_name", default=None, help="Use the model of this index.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@_labels_option
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def tag(images, model_dir, index_name, top, labels, as_json):
    """Nearest words for each image (zero-shot classification with --labels)."""
    from devise.search.tag import parse_labels, tag as run_tag

    if index_name is not None:
        from devise.index.store import open_index

        model_dir = open_index(index_name, model=model_dir).model_dir
    results, _ = run_tag(list(images), model_dir, top, parse_labels(labels) if labels else None)
    emit_per_image(results, len(images), as_json, "tags", lambda t: f"{t['word']} ({t['score']:.3f})")


@cli.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--backbone", default=None)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def classify(images, top, backbone, as_json):
    """The backbone's own ImageNet labels: what the CNN sees."""
    from devise.models.classify import classify as run_classify

    results, _ = run_classify(list(images), top, backbone)
    emit_per_image(results, len(images), as_json, "labels", lambda l: f"{l['label']} ({l['prob']:.3f})")


@cli.command()
@click.argument("data_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Where to write the model and sheet (default: HOME/demo).")
@click.option("--epochs", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def demo(data_dir, out, epochs, as_json):
    """The main job: train with 20% of classes held out, compare with ConSE, tag held-out images."""
    from devise.demo import run_demo
    from devise.train.report import evaluation_table

    summary = run_demo(data_dir, out, epochs=epochs)
    if as_json:
        emit_json(summary)
        return
    click.echo(summary["data"])
    if "evaluation" in summary:
        click.echo(evaluation_table(summary["evaluation"]))
    for r in summary["tags"]:
        click.echo(f"{r['image']}: " + ", ".join(f"{t['word']} ({t['score']:.2f})" for t in r["tags"]))
    click.echo("wrote: " + ", ".join(summary["wrote"]))



# --- commands: generate (issue 5) ------------------------------------------
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
@reports_errors
def generate(classes, classes_file, out, **options):
    """Generate a labelled image folder (OUT/<class>/<NNNN>.png) from text prompts; resumable."""
    import time

    from devise.data.generate import generate as run

    state = {"shown": 0.0, "tty": sys.stderr.isatty()}

    def progress(done, total, per_minute):
        # A live line on a terminal; in logs, one line every 10 s rather than one per batch.
        if state["tty"] or done == total or time.monotonic() - state["shown"] >= 10:
            end = "\r" if state["tty"] else "\n"
            click.echo(f"generated {done}/{total} images, {per_minute:.1f} images/min", err=True, nl=False)
            click.echo(end, err=True, nl=False)
            state["shown"] = time.monotonic()

    summary = run(comma_list(classes), out, classes_file=classes_file, progress=progress,
                  warn=lambda message: click.echo(message, err=True), **options)
    if state["tty"] and state["shown"]:
        click.echo("", err=True)
    emit_json(summary.as_dict())


@cli.command()
@click.option("--index", "index_name", default=None, help="Index to score (default: the default index).")
@_label_map_option
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def score(index_name, label_map, as_json):
    """Alignment of each image with its prompt (metadata.jsonl) or class phrase; stored as field `alignment`."""
    from devise.search.score import score_index, summary_text

    summary = score_index(index_name, label_map)
    click.echo(json.dumps(summary, indent=2) if as_json else summary_text(summary))


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
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def slices(index_name, field, min_support, min_drop, k, method, top, seed, out, as_json):
    """Clusters of similar images whose mean FIELD sits far above or below the collection's."""
    from devise.search import slice_report

    report = slice_report.find(index_name, field, min_support, min_drop, k, method, top, seed)
    written = slice_report.write(report, out)
    click.echo(f"wrote {written[0]} and {len(written) - 1} contact sheet(s)", err=True)
    click.echo(json.dumps(report, indent=2) if as_json else slice_report.text_table(report))



# --- commands: index and search (issue 3) ----------------------------------
class _ModelOrConse(click.ParamType):
    """A trained model directory, or the word "conse"."""

    name = "MODEL_DIR|conse"

    def convert(self, value, param, ctx):
        if value is None or str(value).lower() == "conse":
            return None if value is None else "conse"
        return click.Path(exists=True, file_okay=False).convert(value, param, ctx)


def _print_results(query, results, as_json, sheet):
    from devise.search.results import as_json as results_json, lines

    if as_json:
        emit_json(results_json(query, results))
    else:
        for line in lines(results):
            click.echo(line)
    if sheet and results:
        click.echo(f"wrote {sheet}", err=True)


@cli.command("index")
@click.argument("images_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", type=_ModelOrConse(), default=None,
              help="Trained model directory or 'conse' (default: the index's current model, else ConSE).")
@click.option("--name", help="Index name (default: the folder's name). The last index built is the default.")
@click.option("--trees", type=click.IntRange(1, 1000), help="Annoy trees (default 20; more: better recall, bigger files).")
@click.option("--rebuild", is_flag=True, help="Re-project every image, e.g. to switch the index to another --model.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def index_command(images_dir, model, name, trees, rebuild, as_json):
    """Build or update a searchable index of IMAGES_DIR (only new or changed files are embedded)."""
    from devise.index.builder import build

    s = build(images_dir, model=model, name=name, trees=trees, rebuild=rebuild)
    if as_json:
        emit_json(s)
        return
    click.echo(f"index {s['name']!r}: {s['items']} images from {s['root']} ({s['embedded']} embedded now, "
               f"{s['reused']} unchanged, {s['removed']} removed, {s['skipped']} unreadable) in {s['seconds']} s")
    text, image = s["search"], s["search"]["features"]
    click.echo(f"model: {s['model']}; text search: {text['mode']} ({text['reason']}); "
               f"image search: {image['mode']}")


@cli.command("search")
@click.argument("query")
@click.option("--index", "index_name", help="Index to search (default: the last one built).")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"query": q, "results": [{"path": p, "score": s}]}.')
@click.option("--sheet", type=click.Path(dir_okay=False), help="Also write a contact sheet PNG of the results.")
@click.option("--filter", "filter_text", metavar="FILTER", help='Only images matching e.g. "a_face:[0.5 TO 1] AND label:cat" (see `devise dedupe --help`).')
@reports_errors
def search_command(query, index_name, top, as_json, sheet, filter_text):
    """Images matching a text QUERY: "cat sofa", "beach + sunset - people", "dog:2 snow".

    Words in a part are averaged; + and - add and subtract parts; word:W
    weights a word; "quoted words" make one phrase. A query starting with
    '-' needs `--` before it: devise search -- "-people beach".

    Scores are cosine similarities in [-1, 1] (Annoy's 'angular' distance d
    is sqrt(2 - 2 cos), converted back with cos = 1 - d*d/2).
    """
    if filter_text:
        from devise.curate.filtered_search import search as filtered

        search = functools.partial(filtered, filter_text=filter_text)
    else:
        from devise.search.text import search
    _print_results(query, search(query, index_name, top, sheet), as_json, sheet)



@cli.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index_name", help="Index to search (default: the last one built).")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same JSON shape as `search`.")
@click.option("--sheet", type=click.Path(dir_okay=False), help="Also write a contact sheet PNG of the results.")
@click.option("--filter", "filter_text", metavar="FILTER", help='Only images matching e.g. "a_face:[0.5 TO 1] AND label:cat" (see `devise dedupe --help`).')
@reports_errors
def similar(image, index_name, top, as_json, sheet, filter_text):
    """Images that look like IMAGE (a file in the index, or any other image).

    Compares raw backbone features; scores are cosine similarities in [-1, 1].
    """
    if filter_text:
        from devise.curate.filtered_search import similar as filtered

        run_similar = functools.partial(filtered, filter_text=filter_text)
    else:
        from devise.search.image import similar as run_similar
    _print_results(image, run_similar(image, index_name, top, sheet), as_json, sheet)



@cli.command()
@click.argument("word")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--words", "word_vectors", help="Word vectors file (default: the default index's, else GloVe 6B 50-d).")
@click.option("--index", "index_name", help="Use this index's word vectors.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def words(word, top, word_vectors, index_name, as_json):
    """Nearest words to WORD (or to a query such as "king - man + woman").

    Scores are cosine similarities in [-1, 1].
    """
    from devise.search.nearest_words import words as nearest

    results = nearest(word, top, word_vectors, index_name)
    if as_json:
        emit_json({"query": word, "results": results})
    else:
        for rank, r in enumerate(results, 1):
            click.echo(f"{rank:>3}  {r['score']:+.3f}  {r['word']}")



@cli.command()
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def indexes(as_json):
    """List the indexes under the home; * marks the default."""
    from devise.index.store import list_indexes

    found = list_indexes()
    if as_json:
        emit_json(found)
    elif not found:
        click.echo("no indexes yet; build one with `devise index IMAGES_DIR`.")
    for i in [] if as_json else found:
        mark = "*" if i["default"] else " "
        click.echo(f"{mark} {i['name']}: " + (i["error"] if "error" in i else
                   f"{i['count']} images, {i['mode']} search, model {i['model']}, from {i['root']}"))



# --- commands: curation (issue 4) ------------------------------------------

def _filter_option(fn):
    return click.option("--filter", "filter_text", metavar="FILTER",
                        help='Only items matching e.g. "a_face:[0.58 TO 0.99] AND label:cat AND path:*2024*" '
                             "(AND, OR, NOT, parentheses; also field < 0.3).")(fn)


def _space_option(fn):
    return click.option("--space", type=click.Choice(["features", "words"]), default="features", show_default=True,
                        help="features: what images look like (backbone); words: what they mean (word space).")(fn)


@cli.command()
@click.option("--index", "index_name", help="Index to clean (default: the last one built).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None,
              help="Minimum pixel similarity of a duplicate pair (default 0.93; see bench/dedupe.py).")
@click.option("--like", type=click.Path(exists=True, dir_okay=False), help="Only duplicates of this image.")
@click.option("--query", help='Only duplicates of the best match for this text, e.g. "a black image".')
@click.option("--delete", is_flag=True, help="Remove all but one image per group from the index (tombstoned; files stay).")
@click.option("--move-to", type=click.Path(file_okay=False), help="Also move the removed files into this folder for review (implies --delete).")
@_filter_option
@click.option("--json", "as_json", is_flag=True, help='Print {"groups": [{"keep": p, "duplicates": [{"path", "score"}]}]}.')
@reports_errors
def dedupe(index_name, threshold, like, query, delete, move_to, filter_text, as_json):
    """Find near-duplicate images (re-encoded, resized, constant) and optionally remove them."""
    from devise.curate.dedupe import dedupe as run_dedupe
    from devise.curate.duplicates import DEFAULT_THRESHOLD

    if like and query:
        raise click.UsageError("give --like or --query, not both.")
    report = run_dedupe(index_name, DEFAULT_THRESHOLD if threshold is None else threshold, like, query, filter_text,
                        delete, move_to)
    if as_json:
        emit_json(report)
        return
    for g in report["groups"]:
        kind = f"  (constant {g['constant']})" if "constant" in g else ""
        click.echo(f"keep {g['keep']}{kind}")
        for d in g["duplicates"]:
            click.echo(f"  {d['score']:.4f}  {d['path']}")
    click.echo(f"{len(report['groups'])} group(s), {report['duplicates']} duplicate(s) among {report['images']} images "
               f"(threshold {report['threshold']})", err=True)
    if "removed" in report:
        click.echo(f"removed {report['removed']} from index {report['index']!r} ({report['count_after']} left)"
                   + (f"; moved files to {move_to}" if move_to else ""), err=True)


@cli.command()
@click.option("--labels", "labels_text", help='Comma-separated phrases, e.g. "one hot dog,a hamburger,a face" (or a file).')
@click.option("--index", "index_name", help="Index to label (default: the last one built).")
@click.option("--field-prefix", default="", help="Prefix for the field names (a_face -> PREFIXa_face).")
@click.option("--assign", is_flag=True, help="Also store the best label in the field `label`.")
@click.option("--min-score", type=float, help="With --assign: below this cosine, `label` is null.")
@click.option("--calibrate", type=click.Choice(["refine", "center", "none"]), default="refine", show_default=True,
              help="With --assign: refine = centred scores then feature-space prototypes; center = subtract each label's mean; none = raw.")
@click.option("--drop", multiple=True, metavar="FIELD", help="Remove this field from every image (repeatable).")
@_filter_option
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def label(labels_text, index_name, field_prefix, assign, min_score, calibrate, drop, filter_text, as_json):
    """Zero-shot label scores (cosine in word space) stored as index fields for --filter and map."""
    from devise.curate.labels import label as run_label
    from devise.search.tag import parse_labels

    phrases = parse_labels(labels_text) if labels_text else []
    s = run_label(phrases, index_name, field_prefix, assign, min_score, calibrate, list(drop), filter_text)
    if as_json:
        emit_json(s)
        return
    for name, f in s["fields"].items():
        click.echo(f"{name}: {f['label']!r} mean {f['mean']:.3f} (min {f['min']:.3f}, max {f['max']:.3f})")
    if "assigned" in s:
        click.echo("label: " + ", ".join(f"{k} {v}" for k, v in s["assigned"].items()))
    if s["dropped"]:
        click.echo("dropped: " + ", ".join(s["dropped"]))
    click.echo(f"index {s['index']!r}: {s['images']} image(s) labelled", err=True)


@cli.command()
@click.option("--index", "index_name", help="Index to walk (default: the last one built).")
@click.option("--start", help='Start at the image best matching this text, e.g. "a photo of a smiling face".')
@click.option("--start-image", type=click.Path(exists=True, dir_okay=False), help="Start at the image most like this one.")
@_filter_option
@click.option("--limit", type=click.IntRange(1), help="Stop after N images.")
@_space_option
@click.option("--out", type=click.Path(dir_okay=False), help="Write the image paths in walk order, one per line.")
@click.option("--gif", type=click.Path(dir_okay=False), help="Write an animated GIF of the walk.")
@click.option("--frames", type=click.Path(file_okay=False), help="Write numbered PNG frames into this folder.")
@click.option("--fps", type=click.IntRange(1, 50), default=12, show_default=True)
@click.option("--size", type=click.IntRange(16, 2048), default=256, show_default=True, help="Frame side in pixels.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def walk(index_name, start, start_image, filter_text, limit, space, out, gif, frames, fps, size, as_json):
    """A greedy nearest-neighbour tour through the images: each visited once, neighbours alike."""
    from devise.curate.walk import walk as run_walk

    s = run_walk(index_name, start, start_image, filter_text, limit, space, out, gif, frames, fps, size)
    if as_json:
        emit_json(s)
        return
    if not (out or gif or frames):
        for path in s["order"]:
            click.echo(path)
    click.echo(f"walked {s['visited']} of {s['images']} images from {s['start']} in {s['space']} space: "
               f"length {s['tour_length']:.2f} vs {s['random_length']:.2f} for a random order "
               f"({s['ratio']:.2f}x)", err=True)
    for key in ("out", "gif", "frames"):
        if key in s:
            click.echo(f"wrote {s[key]}", err=True)


@cli.command("map")
@click.option("--index", "index_name", help="Index to draw (default: the last one built).")
@_filter_option
@click.option("--color-by", "colour_by", metavar="FIELD|label", help="Dots coloured by a numeric field, label or class (default: thumbnails).")
@_space_option
@click.option("--size", type=click.IntRange(200, 8000), default=1600, show_default=True)
@click.option("--thumb", type=click.IntRange(8, 512), default=64, show_default=True, help="Thumbnail cell size.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG to write.")
@click.option("--json", "as_json", is_flag=True)
@reports_errors
def map_command(index_name, filter_text, colour_by, space, size, thumb, out, as_json):
    """A 2-D map of the images (UMAP if installed, else t-SNE or PCA) as thumbnails or coloured dots."""
    from devise.curate.maps import make_map

    s = make_map(out, index_name, filter_text, colour_by, space, size, thumb)
    if as_json:
        emit_json(s)
    else:
        click.echo(f"wrote {s['out']}: {s['images']} images, {s['layout']} layout", err=True)




def main():
    cli(prog_name="devise")


if __name__ == "__main__":
    main()
