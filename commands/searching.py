"""Commands that build and search indexes: index, search, similar, words, indexes."""
from __future__ import annotations

import click

from devise.commands.support import (
    NAME,
    FiniteFloat,
    ModelOrConse,
    backbone_option,
    echo,
    emit_json,
    json_option,
    print_hits,
    search_options,
)
from devise.engines.choice import engine_for
from devise.index.builder import build_index
from devise.index.export import export_index
from devise.index.store import list_indexes
from devise.search.image import similar as run_similar
from devise.search.nearest_words import words as nearest
from devise.search.text import search


@click.command("index")
@click.argument("images_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", type=ModelOrConse(), default=None,
              help="Trained model directory or 'conse' (default: the index's current model, else ConSE).")
@click.option("--name", type=NAME, help="Index name (default: the folder's name).")
@click.option("--default", "make_default", is_flag=True,
              help="Make this the default index (the one commands use without --index). The first index always is.")
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
@click.option("--gpus-per-worker", type=FiniteFloat(min=0), default=0, show_default=True,
              help="With --engine ray: GPUs for each backbone actor (0.5: two actors share one GPU).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True,
              help="Images per backbone call (and per feature-cache commit).")
@click.option("--store", type=click.Choice(["annoy", "milvus"]), default=None,
              help="Where vectors live: Annoy files in the home, or Milvus at --uri (pip install 'devise[milvus]'). "
                   "Default: the index's current store, else annoy.")
@click.option("--uri", help="With --store milvus: a path ending in .db (Milvus Lite) or http(s)://host:port "
                            "(a server; its token from $MILVUS_TOKEN).")
@click.option("--words", default=None, help="ConSE's word vectors, as train's --words takes them, e.g. spacy-en-md "
              "(default: the index's, else GloVe 6B 50-d); a trained model brings its own.")
@backbone_option
@json_option
def index_command(images_dir, model, name, make_default, trees, rebuild, method, engine, address, workers,
                  gpus_per_worker, batch_size, store, uri, words, backbone, as_json):
    """Build or update a searchable index of IMAGES_DIR (only new or changed files are embedded)."""
    if engine != "ray" and (address or gpus_per_worker):
        raise click.UsageError("--address and --gpus-per-worker need --engine ray.")
    if uri and store != "milvus":
        raise click.UsageError("--uri needs --store milvus.")
    if store == "milvus" and not uri:
        raise click.UsageError("--store milvus needs --uri (a .db path for Milvus Lite, or http(s)://host:port).")
    engine = engine_for(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    s = build_index(images_dir, model=model, name=name, trees=trees, rebuild=rebuild, method=method,
                    engine=engine, batch_size=batch_size, backbone=backbone,
                    default=make_default, store=store, uri=uri, words=words)
    if as_json:
        return emit_json(s)
    echo(f"index {s.name!r}: {s.items:,} images from {s.root} in {s.seconds} s")
    echo(f"  {s.embedded:,} embedded now, {s.projected:,} projected from cached features, {s.reused:,} unchanged; "
               f"{s.removed:,} removed, {s.skipped:,} unreadable, {s.tombstoned:,} tombstoned")
    echo(f"  model: {s.model}; text search: {s.text_search} ({s.text_search_reason}); image search: {s.image_search}; store: {s.store}")
    if s.default_index != s.name:
        echo(f"  the default index is still {s.default_index!r}; pass --default to make it {s.name!r}, "
                   f"or --index {s.name} to use this one")


@click.command("search")
@click.argument("query")
@search_options
@click.option("--feedback/--no-feedback", default=True, show_default=True,
              help="Refine the ranking by how much images look like the best hits; --no-feedback ranks by word space alone.")
def search_command(query, index_name, top, as_json, sheet, filter_text, feedback):
    """Images matching a text QUERY: "cat", "a photo of a cat", "cat strawberry", "rocket - astronaut".

    \b
    Stop words and framing ("a photo of") are dropped. What is one thing:
      "cat strawberry"                   two things: images with both first, else each its share
      "bald eagle"                       one thing: a known phrase (an ImageNet class, a model's class)
      "coffee cup cat"                   two things: a compound noun in WordNet is one
      "an eagle flying over the water"   one thing: a sentence, led by its head ("eagle")
      "cat:2 strawberry"                 a weight: cats count twice in the fusion
      "rocket - astronaut"               + and - add and subtract parts as vectors
    Words joined by "and" or "," are separate things; a colour or size goes
    with its noun; "quoted words" are one thing, kept as typed. A query
    starting with '-' needs `--` before it. --json lists the things and the
    words used and dropped.

    Scores are at most 1: the cosine in word space (Annoy's 'angular'
    distance d is sqrt(2 - 2 cos), converted back with cos = 1 - d*d/2),
    less a seen class's lead in a trained model's index, blended with the
    visual similarity to the best hits unless --no-feedback; for several
    things, their rankings fused. When nothing matches, a line on stderr
    says so ("weak" in --json): a category word whose classes the backbone
    sees too little of in any image, any other word when its best images
    match it no better than random words match this index.
    """
    results = search(query, index=index_name, top=top, filter=filter_text, sheet=sheet, feedback=feedback)
    print_hits(results, as_json)
    say_if_filtered_out(results)
    say_if_weak(results)


def say_if_weak(results):
    """One line on stderr when no thing in the query matches: for things judged in word space, and for things
    naming a category no image shows; and one for each thing ranked by its nearest kind (a word naming no
    class the backbone knows)."""
    if not results.results:
        return
    what = "nothing" if results.weak else "for some things, nothing"
    weak = [t for t in results.weak_terms if t not in results.nearest_kinds and t not in results.absent_kinds]
    if weak:
        things = ", ".join(repr(t) for t in weak)
        click.echo(f"{what} in index {results.index!r} matches {things} better than unrelated words do "
                   f"(noise level {results.noise_threshold:.3f}); the results are only the nearest.", err=True)
    if results.absent_kinds:
        things = ", ".join(repr(t) + (f" ({kind})" if kind != t else "") for t, kind in results.absent_kinds.items())
        click.echo(f"{what} in index {results.index!r} shows {things}: the backbone sees too little of it in any "
                   "image; the results are only the nearest.", err=True)
    for thing, kind in results.nearest_kinds.items():
        matched = ", and in word space no image matches it better than unrelated words do" if thing in results.weak_terms else ""
        click.echo(f"{thing!r} names no class the backbone knows{matched}: it is ranked by its nearest kind, {kind}.",
                   err=True)


@click.command()
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
@search_options
def similar(image, index_name, top, as_json, sheet, filter_text):
    """Images that look like IMAGE (a file in the index, or any other image).

    Compares raw backbone features; scores are cosine similarities in [-1, 1].
    """
    results = run_similar(image, index=index_name, top=top, filter=filter_text, sheet=sheet)
    print_hits(results, as_json)
    say_if_filtered_out(results, other=True)


def say_if_filtered_out(results, other=False):
    """Say why an answer is empty (a --filter that keeps nothing) instead of printing nothing."""
    if results.results:
        return
    what = "other image" if other else "image"
    if not results.filter:
        echo(f"no results: index {results.index!r} holds no {what}.", err=True)
        return
    shown = " ".join(results.filter.split())
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    echo(f"no results: no {what} in index {results.index!r} matches --filter {shown!r}.", err=True)


@click.command()
@click.argument("word")
@click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)
@click.option("--words", "word_vectors", help="Word vectors: a file, a spaCy model or a converted name such as "
              "spacy-en-md (default: the default index's, else GloVe 6B 50-d).")
@click.option("--index", "index_name", type=NAME, help="Use this index's word vectors.")
@json_option
def words(word, top, word_vectors, index_name, as_json):
    """Nearest words to WORD (or to a query such as "king - man + woman").

    Scores are cosine similarities in [-1, 1].
    """
    result = nearest(word, top=top, vectors=word_vectors, index=index_name)
    if as_json:
        return emit_json(result)
    for rank, hit in enumerate(result.results, 1):
        echo(f"{rank:>3}  {hit.score:+.3f}  {hit.word}")


@click.command()
@json_option
def indexes(as_json):
    """List the indexes under the home; * marks the default."""
    found = list_indexes()
    if as_json:
        return emit_json(found.to_dict()["indexes"])
    if not found:
        echo("no indexes yet; build one with `devise index IMAGES_DIR`.")
    for i in found:
        mark = "*" if i.default else " "
        echo(f"{mark} {i.name}: " + (i.error if i.error else
                   f"{i.count} images, {i.mode} search, model {i.model}, from {i.root}"))


@click.command()
@click.argument("out", type=click.Path(dir_okay=True, file_okay=False))
@click.option("--index", "index_name", help="Index to export (default: the default index).")
@click.option("--shard-rows", type=click.IntRange(1, 10**8), default=100_000, show_default=True,
              help="Rows in each .npy / .parquet shard.")
@json_option
def export(out, index_name, shard_rows, as_json):
    """Write an index's vectors as .npy shards with Parquet metadata (clip-retrieval / autofaiss layout) to OUT."""
    s = export_index(out, index=index_name, shard_rows=shard_rows)
    if as_json:
        return emit_json(s)
    click.echo(f"exported index {s.index!r}: {s.rows} rows in {s.shards} shard(s) to {s.out} "
               f"(img_emb {s.feature_dim}-d, word_emb {s.word_dim}-d, metadata/*.parquet)")
