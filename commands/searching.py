"""Commands that build and search indexes: index, search, similar, words, indexes."""
from __future__ import annotations

import click

from devise.commands.support import (
    ModelOrConse,
    backbone_option,
    emit_json,
    json_option,
    print_hits,
    search_options,
)


@click.command("index")
@click.argument("images_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", type=ModelOrConse(), default=None,
              help="Trained model directory or 'conse' (default: the index's current model, else ConSE).")
@click.option("--name", help="Index name (default: the folder's name). The last index built is the default.")
@click.option("--trees", type=click.IntRange(1, 1000), help="Annoy trees (default 20; more: better recall, bigger files).")
@click.option("--rebuild", is_flag=True, help="Re-project every image, e.g. to switch the index to another --model.")
@click.option("--method", type=click.Choice(["auto", "annoy", "exact"]), default=None,
              help="auto: exact search for small collections, Annoy from 150k images (50k for `similar`); "
                   "annoy or exact: always that one. Recorded in the index (default: its current method, else auto).")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where images are embedded: this process, or a pool of Ray actors (pip install 'devise[ray]').")
@click.option("--address", help="With --engine ray: the Ray cluster to join (default: start a local Ray).")
@click.option("--workers", type=click.IntRange(1, 4096),
              help="Decoding threads (local) or backbone actors (ray); default: up to 4 threads, or one actor per CPU.")
@click.option("--gpus-per-worker", type=click.FloatRange(min=0), default=0, show_default=True,
              help="With --engine ray: GPUs for each backbone actor (0.5: two actors share one GPU).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Images per backbone call (and per feature-cache commit).")
@click.option("--words", default=None, help="ConSE's word vectors, as train's --words takes them, e.g. spacy-en-md "
              "(default: the index's, else GloVe 6B 50-d); a trained model brings its own.")
@backbone_option
@json_option
def index_command(images_dir, model, name, trees, rebuild, method, engine, address, workers, gpus_per_worker,
                  batch_size, words, backbone, as_json):
    """Build or update a searchable index of IMAGES_DIR (only new or changed files are embedded)."""
    from devise.index.builder import build_index

    if engine != "ray" and (address or gpus_per_worker):
        raise click.UsageError("--address and --gpus-per-worker need --engine ray.")
    s = build_index(images_dir, model=model, name=name, trees=trees, rebuild=rebuild, method=method,
                    engine=engine, address=address, workers=workers, batch_size=batch_size, backbone=backbone,
                    gpus_per_worker=gpus_per_worker, words=words)
    if as_json:
        return emit_json(s)
    click.echo(f"index {s.name!r}: {s.items} images from {s.root} ({s.embedded} embedded now, "
               f"{s.reused} unchanged, {s.removed} removed, {s.skipped} unreadable, {s.tombstoned} tombstoned) "
               f"in {s.seconds} s")
    click.echo(f"model: {s.model}; text search: {s.text_search} ({s.text_search_reason}); "
               f"image search: {s.image_search}; method: {s.method}")


@click.command("search")
@click.argument("query")
@search_options
@click.option("--feedback/--no-feedback", default=True, show_default=True,
              help="Refine the ranking by how much images look like the best hits; --no-feedback ranks by word space alone.")
def search_command(query, index_name, top, as_json, sheet, filter_text, feedback):
    """Images matching a text QUERY: "cat sofa", "beach + sunset - people", "dog:2 snow".

    Words in a part are averaged; + and - add and subtract parts; word:W
    weights a word; "quoted words" make one phrase. A query starting with
    '-' needs `--` before it: devise search -- "-people beach".

    Scores are at most 1: the cosine in word space (Annoy's 'angular'
    distance d is sqrt(2 - 2 cos), converted back with cos = 1 - d*d/2),
    less a seen class's lead in a trained model's index, blended with the
    visual similarity to the best hits unless --no-feedback.
    """
    from devise.search.text import search

    results = search(query, index=index_name, top=top, filter=filter_text, sheet=sheet, feedback=feedback)
    print_hits(results, as_json)
    say_if_filtered_out(results)


@click.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@search_options
def similar(image, index_name, top, as_json, sheet, filter_text):
    """Images that look like IMAGE (a file in the index, or any other image).

    Compares raw backbone features; scores are cosine similarities in [-1, 1].
    """
    from devise.search.image import similar as run_similar

    results = run_similar(image, index=index_name, top=top, filter=filter_text, sheet=sheet)
    print_hits(results, as_json)
    say_if_filtered_out(results, other=True)


def say_if_filtered_out(results, other=False):
    """Say why an answer is empty (a --filter that keeps nothing) instead of printing nothing."""
    if results.results:
        return
    what = "other image" if other else "image"
    if not results.filter:
        click.echo(f"no results: index {results.index!r} holds no {what}.", err=True)
        return
    shown = " ".join(results.filter.split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    click.echo(f"no results: no {what} in index {results.index!r} matches --filter {shown!r}.", err=True)


@click.command()
@click.argument("word")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--words", "word_vectors", help="Word vectors: a file, a spaCy model or a converted name such as "
              "spacy-en-md (default: the default index's, else GloVe 6B 50-d).")
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


@click.command()
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
