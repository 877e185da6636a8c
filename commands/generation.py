"""Commands for generated data: generate, score (prompt alignment), slices."""
from __future__ import annotations

import click

from devise.commands.support import (
    NAME,
    SEED,
    FiniteFloat,
    comma_list,
    echo,
    echo_block,
    emit_json,
    given_path,
    json_option,
    label_map_option,
)


@click.command()
@click.option("--classes", help='Comma-separated class phrases, e.g. "hot dog,cat,sofa".')
@click.option("--classes-file", type=given_path(dir_okay=False), help="One class phrase per line (# comments).")
@click.option("--template", default="a photo of a {}", show_default=True, help="Prompt; {} is the class.")
@click.option("--per-class", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--model", default="stabilityai/sd-turbo", show_default=True,
              help="Any diffusers text-to-image pipeline: hub id or saved folder.")
@click.option("--steps", type=click.IntRange(min=1), help="Default: 1 for *turbo* models, else 30.")
@click.option("--guidance", type=FiniteFloat(min=0), help="Default: 0 for *turbo* models, else 7.5.")
@click.option("--size", default=512, show_default=True, type=int, help="Square image side, a multiple of 8.")
@click.option("--batch-size", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=SEED, help="Base seed; each image's seed derives from it.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(["auto", "cuda", "cpu"]))
@click.option("--dtype", type=click.Choice(["float16", "bfloat16", "float32"]),
              help="Default: float16 on cuda, float32 on cpu.")
@click.option("--retry-blank", default=0, show_default=True, type=click.IntRange(min=0),
              help="Regenerate safety-blanked images up to N times with new seeds.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="ray: one pipeline per Ray actor, on a local Ray or the cluster at --address.")
@click.option("--address", help="With --engine ray: the Ray cluster to join (default: start a local Ray).")
@click.option("--gpus", default=0, show_default=True, type=click.IntRange(min=0),
              help="With --engine ray: one GPU actor per GPU; 0 runs CPU actors.")
@click.option("--workers", type=click.IntRange(min=1),
              help="With --engine ray and no --gpus: CPU actors (default: one per CPU).")
@click.option("--out", required=True, type=given_path(file_okay=False), help="Output image folder.")
def generate(classes, classes_file, out, **options):
    """Generate a labelled image folder (OUT/<class>/<NNNN>.png) from text prompts; resumable."""
    from devise.commands.support import GenerateProgress
    from devise.data.generate import generate as run

    if options["engine"] != "ray" and (options["address"] or options["gpus"] or options["workers"]):
        raise click.UsageError("--address, --gpus and --workers need --engine ray.")
    with GenerateProgress() as progress:
        summary = run(comma_list(classes), out=out, classes_file=classes_file, progress=progress,
                      warn=lambda message: echo(message, err=True), **options)
    emit_json(summary)


@click.command()
@click.option("--index", "index_name", type=NAME, default=None, help="Index to score (default: the default index).")
@label_map_option
@json_option
def score(index_name, label_map, as_json):
    """Alignment of each image with its prompt (metadata.jsonl) or class phrase; stored as field `alignment`."""
    from devise.search.score import score as run_score
    from devise.search.score import summary_text

    summary = run_score(index=index_name, label_map=label_map)
    if as_json:
        return emit_json(summary)
    echo_block(summary_text(summary))


@click.command()
@click.option("--index", "index_name", type=NAME, default=None, help="Index to slice (default: the default index).")
@click.option("--field", default="alignment", show_default=True, help="Numeric item field to compare clusters on.")
@click.option("--min-support", type=click.IntRange(min=2), default=5, show_default=True,
              help="Smallest cluster (scored images) worth reporting.")
@click.option("--min-drop", type=FiniteFloat(min=0), default=None,
              help="Smallest |cluster mean - overall mean| reported (default: half the field's std).")
@click.option("--k", type=click.IntRange(min=2), default=None, help="k-means clusters (default: sqrt(n/2), 2..100).")
@click.option("--method", type=click.Choice(["kmeans", "hdbscan"]), default="kmeans", show_default=True)
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Slices reported per side.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=given_path(file_okay=False), default="report", show_default=True,
              help="Folder for index.md and one contact sheet per slice.")
@json_option
def slices(index_name, field, min_support, min_drop, k, method, top, seed, out, as_json):
    """Clusters of similar images whose mean FIELD sits far above or below the collection's."""
    from devise.search.slice_report import slices as run_slices
    from devise.search.slice_report import text_table

    report = run_slices(index=index_name, field=field, min_support=min_support, min_drop=min_drop, k=k,
                        method=method, top=top, seed=seed, out=out)
    echo(f"wrote {report.written[0]} and {len(report.written) - 1} contact sheet(s)", err=True)
    if as_json:
        return emit_json(report)
    echo_block(text_table(report))
