"""Synthetic training images from a diffusers text-to-image pipeline.

`generate(...)` writes `<out>/<class_folder>/<NNNN>.png` + `<out>/metadata.jsonl`
(see `generation.plan`), a folder the trainer reads as-is. torch and
diffusers are an optional extra, imported only inside functions.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from devise.core.progress import note
from devise.core.results import Result
from devise.engines.base import Engine
from devise.engines.choice import engine_for
from devise.generation import output_folder
from devise.generation import plan as plan_mod
from devise.generation.pipeline import DEFAULT_MODEL

DEFAULT_TEMPLATE = "a photo of a {}"
# Rewriting metadata.jsonl after every batch would be quadratic in the folder size;
# the PNG text chunks cover whatever a crash loses between two saves.
SAVE_EVERY_S = 30.0


@dataclass
class GenerateSummary(Result):
    out_dir: str
    model: str
    device: object    # None when nothing had to be generated (no model was loaded)
    dtype: object
    planned: int      # images the plan asks for (classes x per_class)
    generated: int    # images written by this run, `redone` included
    skipped: int      # complete images kept from an earlier run
    redone: int       # existing images replaced (truncated, corrupt, wrong size, blank)
    blank: int        # images written by this run still blanked after all retries
    retried: int      # extra pipeline runs spent on blanked images
    seconds: float    # whole call, model loading included
    images_per_minute: float  # pipeline images / generation time (loading excluded)
    foreign: int = 0  # files at planned paths that devise did not write: left untouched, their images not made
    engine: str = "local"
    workers: int = 0  # pipelines that ran (Ray actors, or 1 locally); 0 when nothing had to be generated


def generate(classes: Sequence[str] | str | None = None, *, out: str | Path = "generated",
             classes_file: str | Path | None = None, template: str = DEFAULT_TEMPLATE, per_class: int = 10,
             model: str = DEFAULT_MODEL, steps: int | None = None, guidance: float | None = None, size: int = 512,
             batch_size: int = 4, seed: int = 0, device: str = "auto", dtype: str | None = None,
             retry_blank: int = 0, pipeline=None, engine: Engine | str = "local", address: str | None = None,
             gpus: int = 0, workers: int | None = None, progress: Callable | None = None,
             warn: Callable | None = None) -> GenerateSummary:
    """Generate `per_class` images per class into `out`, resuming what is already there.

    `pipeline` reuses an already loaded pipeline (then model/device/dtype only label the
    metadata); `progress(done, total, images_per_minute)` is called after every batch.
    engine "ray" runs one pipeline per Ray actor (engines.ray_generate): `gpus` GPU actors, or
    `workers` CPU actors, on a local Ray or the cluster at `address`; the files are the same.
    An engine object (engines.local.LocalEngine, engines.ray_engine.RayEngine) may stand for `engine` and its options.
    """
    started = time.monotonic()
    warn = warn or note
    engine = engine_for(engine, address=address, workers=workers, gpus=gpus)
    engine.check_pipelines(device, pipeline)  # the install hint before any work
    names = plan_mod.parse_classes(classes, classes_file)
    default_steps, default_guidance = plan_mod.default_steps_guidance(model)
    steps = default_steps if steps is None else steps
    guidance = default_guidance if guidance is None else float(guidance)
    plan_mod.check_numbers(size=size, batch_size=batch_size, retry_blank=retry_blank, steps=steps)
    items = plan_mod.build_plan(names, per_class, template)
    local = plan_mod.local_model_dir(model) if pipeline is None else None
    out = output_folder.claim_out(Path(out), items)
    settings = {"model": str(local) if local else model, "steps": steps, "guidance": guidance, "size": size}
    entries = output_folder.load_metadata(out, warn)
    todo, skipped, foreign = output_folder.triage(items, out, entries, settings, retry_blank, warn)
    redone = sum((out / item.file).exists() for item in todo)

    runners = engine.pipelines(str(local) if local else model, device, dtype, loaded=pipeline,
                               notice=progress is not None) if todo else contextlib.nullcontext()
    with runners as runner:
        gen_started = time.monotonic()
        produced, total, last_save, queue = 0, len(todo), gen_started, todo
        try:
            while queue:  # round 0: the plan; round k: images still blank after attempt k-1
                again, remaining = [], len(queue)
                batches = [queue[start:start + batch_size] for start in range(0, len(queue), batch_size)]
                seeds = [[plan_mod.image_seed(seed, i.class_name, i.index, i.attempt) for i in b] for b in batches]
                jobs = (([i.prompt for i in b], s, steps, guidance, size) for b, s in zip(batches, seeds))
                for batch, batch_seeds, (images, flags) in zip(batches, seeds, runner.results(jobs)):
                    for item, item_seed, image, flagged in zip(batch, batch_seeds, images, flags):
                        blank = flagged or output_folder.is_black(image)
                        entry = dict(settings, file=item.file, prompt=item.prompt, seed=item_seed,
                                     blank=blank, attempt=item.attempt, index=item.index)
                        entry["class"] = item.class_name
                        output_folder.write_image(out / item.file, image, entry)
                        entries[item.file] = entry
                        if blank and item.attempt < retry_blank:
                            item.attempt += 1
                            again.append(item)
                    produced, remaining = produced + len(batch), remaining - len(batch)
                    total = produced + remaining + len(again)
                    if time.monotonic() - last_save > SAVE_EVERY_S:
                        output_folder.save_metadata(out, entries)
                        last_save = time.monotonic()
                    if progress:
                        progress(produced, total, _rate(produced, gen_started))
                queue = again
        finally:
            # Also on Ctrl-C: what was made so far is recorded.
            out.mkdir(parents=True, exist_ok=True)
            output_folder.save_metadata(out, entries)
        rate = _rate(produced, gen_started)  # before a Ray session's shutdown, which is not generation

    return GenerateSummary(
        out_dir=str(out), model=settings["model"],
        device=runner.device if runner else None, dtype=runner.dtype if runner else None,
        planned=len(items), generated=len(todo), skipped=skipped, redone=redone,
        blank=sum(bool(entries[i.file]["blank"]) for i in todo), retried=produced - len(todo),
        seconds=round(time.monotonic() - started, 3),
        images_per_minute=round(rate, 2), foreign=foreign,
        engine=engine.name, workers=runner.workers if runner else 0)


def _rate(count, since):
    elapsed = time.monotonic() - since
    return 60.0 * count / elapsed if elapsed > 0 else 0.0
