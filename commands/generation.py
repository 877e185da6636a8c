"""The command that makes data: generate (a labelled image folder from text prompts)."""
from __future__ import annotations

import click

from devise.commands.support import SEED, FiniteFloat, GenerateProgress, comma_list, echo, emit_json, given_path
from devise.engines.choice import engine_for
from devise.generation.generate import generate as make_images


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
    engine = options.pop("engine")
    ray_options = {name: options.pop(name) for name in ("address", "gpus", "workers")}
    if engine != "ray" and any(ray_options.values()):
        raise click.UsageError("--address, --gpus and --workers need --engine ray.")
    with GenerateProgress() as progress:
        summary = make_images(comma_list(classes), out=out, classes_file=classes_file, progress=progress,
                              warn=lambda message: echo(message, err=True), engine=engine_for(engine, **ray_options),
                              **options)
    emit_json(summary)
