"""Synthetic training images from a diffusers text-to-image pipeline.

`generate(...)` writes `<out>/<class_folder>/<NNNN>.png` + `<out>/metadata.jsonl`
(see `data.generate_plan`), a folder the trainer reads as-is. torch and
diffusers are an optional extra, imported only inside functions.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import sys
import time
import urllib.parse
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from devise.core.errors import GenerateError
from devise.core.results import Result
from devise.data import generate_plan as plan_mod

DEFAULT_MODEL = "stabilityai/sd-turbo"
DEFAULT_TEMPLATE = "a photo of a {}"
REQUIRED = ("torch", "diffusers", "transformers")
INSTALL_HINT = ('pip install -e ".[generate]" (on a machine without a GPU, '
                "pip install torch==2.13.0 first gives the CPU-only torch wheel)")
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


def check_installed():
    """Probe without importing: importing torch costs seconds even when all is well."""
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise GenerateError(f"image generation needs {', '.join(missing)}, which is not installed: "
                            f"{INSTALL_HINT}")


def _one_line(exc) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


@contextlib.contextmanager
def _quiet_libraries():
    """Hide library warnings (deprecations, torchvision fallbacks, hub retries) meant for their developers."""
    import diffusers.utils.logging as dlog
    import huggingface_hub.utils.logging as hlog
    import transformers.utils.logging as tlog

    logs = (dlog, hlog, tlog)
    before = [log.get_verbosity() for log in logs]
    # Their per-component loading bars are noise; hub download bars (huggingface_hub's) stay.
    bars = [log.is_progress_bar_enabled() for log in (dlog, tlog)]
    for log in logs:
        log.set_verbosity_error()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(logs, before):
            log.set_verbosity(level)
        for log, enabled in zip((dlog, tlog), bars):
            if enabled:
                log.enable_progress_bar()


def _from_pretrained(source, **kwargs):
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    try:
        return AutoPipelineForText2Image.from_pretrained(source, **kwargs)
    except ValueError:
        # AutoPipeline maps only known classes; a custom or newer pipeline still loads generically.
        return DiffusionPipeline.from_pretrained(source, **kwargs)


def _load_from_hub(model, **kwargs):
    import huggingface_hub.constants as hub

    cache = Path(hub.HF_HUB_CACHE) / ("models--" + model.replace("/", "--"))
    # The cache first: no network round trips (and no retry back-off) when the weights are there.
    with contextlib.suppress(Exception):
        return _from_pretrained(model, local_files_only=True, **kwargs)
    missing = f"model {model} is not in the Hugging Face cache ({cache}) and"
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on") or hub.HF_HUB_OFFLINE:
        raise GenerateError(f"{missing} HF_HUB_OFFLINE forbids downloading it: download it once online, "
                            "or pass --model PATH")
    host = urllib.parse.urlparse(hub.ENDPOINT).hostname
    try:  # Without a network the hub client retries for ~30 s before giving up; a DNS probe fails at once.
        socket.getaddrinfo(host, 443)
    except OSError:
        raise GenerateError(f"{missing} {host} cannot be reached to download it: go online once, "
                            "or pass --model PATH") from None
    try:
        return _from_pretrained(model, **kwargs)
    except Exception as exc:
        raise GenerateError(f"model {model} is not in the Hugging Face cache ({cache}) and could not be "
                            f"downloaded ({_one_line(exc)}): fetch it online, or pass --model PATH") from None


def load_pipeline(model=DEFAULT_MODEL, device="auto", dtype=None):
    """Load any diffusers text-to-image pipeline (hub id or folder) onto `device`."""
    local = plan_mod.local_model_dir(model)
    check_installed()
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else "no visible GPU"
        raise GenerateError(f"--device cuda, but torch sees no CUDA device ({build}); use --device cpu")
    dtype = dtype or ("float16" if device == "cuda" else "float32")
    if dtype not in ("float16", "bfloat16", "float32"):
        raise GenerateError(f"unknown dtype {dtype!r}: use float16, bfloat16 or float32")
    kwargs = {"torch_dtype": getattr(torch, dtype)}
    with _quiet_libraries():
        if local is None:
            pipe = _load_from_hub(model, **kwargs)
        else:
            try:
                pipe = _from_pretrained(str(local), **kwargs)
            except Exception as exc:
                raise GenerateError(f"cannot load the pipeline in {local}: {_one_line(exc)}") from None
        pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)  # one progress line per run, not a bar per image
    return pipe


def _run_batch(pipe, prompts, seeds, steps, guidance, size):
    import torch

    # One CPU generator per image: a (class, index) gets the same starting latents in any batch
    # and on any device (batched kernels may still move a pixel by one rounding step).
    generators = [torch.Generator("cpu").manual_seed(s) for s in seeds]
    try:
        result = pipe(prompt=prompts, num_inference_steps=steps, guidance_scale=guidance,
                      height=size, width=size, generator=generators, output_type="pil")
    except ValueError as exc:  # diffusers' own argument checks, e.g. a size the model cannot do
        raise GenerateError(f"the pipeline refused the request: {_one_line(exc)}") from None
    except RuntimeError as exc:
        if "out of memory" not in str(exc).lower():
            raise
        raise GenerateError(f"out of memory with --batch-size {len(prompts)}: lower it, "
                            "or use --dtype float16 on a GPU") from None
    flags = getattr(result, "nsfw_content_detected", None) or [False] * len(result.images)
    return result.images, [bool(f) for f in flags]


def generate(classes: Sequence[str] | str | None = None, *, out: str | Path = "generated",
             classes_file: str | Path | None = None, template: str = DEFAULT_TEMPLATE, per_class: int = 10,
             model: str = DEFAULT_MODEL, steps: int | None = None, guidance: float | None = None, size: int = 512,
             batch_size: int = 4, seed: int = 0, device: str = "auto", dtype: str | None = None,
             retry_blank: int = 0, pipeline=None, progress: Callable | None = None,
             warn: Callable | None = None) -> GenerateSummary:
    """Generate `per_class` images per class into `out`, resuming what is already there.

    `pipeline` reuses an already loaded pipeline (then model/device/dtype only label the
    metadata); `progress(done, total, images_per_minute)` is called after every batch.
    """
    started = time.monotonic()
    warn = warn or (lambda message: print(message, file=sys.stderr))
    names = plan_mod.parse_classes(classes, classes_file)
    default_steps, default_guidance = plan_mod.default_steps_guidance(model)
    steps = default_steps if steps is None else steps
    guidance = default_guidance if guidance is None else float(guidance)
    plan_mod.check_numbers(size=size, batch_size=batch_size, retry_blank=retry_blank, steps=steps)
    items = plan_mod.build_plan(names, per_class, template)
    local = plan_mod.local_model_dir(model) if pipeline is None else None
    out = plan_mod.claim_out(Path(out), items)
    settings = {"model": str(local) if local else model, "steps": steps, "guidance": guidance, "size": size}
    entries = plan_mod.load_metadata(out, warn)
    todo, skipped, foreign = plan_mod.triage(items, out, entries, settings, retry_blank, warn)
    redone = sum((out / item.file).exists() for item in todo)

    if todo and pipeline is None:
        pipeline = load_pipeline(model, device, dtype)
    gen_started = time.monotonic()
    produced, total, last_save, queue = 0, len(todo), gen_started, todo
    try:
        while queue:  # round 0: the plan; round k: images still blank after attempt k-1
            again = []
            for start in range(0, len(queue), batch_size):
                batch = queue[start:start + batch_size]
                seeds = [plan_mod.image_seed(seed, i.class_name, i.index, i.attempt) for i in batch]
                images, flags = _run_batch(pipeline, [i.prompt for i in batch], seeds, steps, guidance, size)
                for item, item_seed, image, flagged in zip(batch, seeds, images, flags):
                    blank = flagged or plan_mod.is_black(image)
                    entry = dict(settings, file=item.file, prompt=item.prompt, seed=item_seed,
                                 blank=blank, attempt=item.attempt, index=item.index)
                    entry["class"] = item.class_name
                    plan_mod.write_image(out / item.file, image, entry)
                    entries[item.file] = entry
                    if blank and item.attempt < retry_blank:
                        item.attempt += 1
                        again.append(item)
                produced += len(batch)
                total = produced + (len(queue) - start - len(batch)) + len(again)
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    plan_mod.save_metadata(out, entries)
                    last_save = time.monotonic()
                if progress:
                    progress(produced, total, _rate(produced, gen_started))
            queue = again
    finally:
        # Also on Ctrl-C: what was made so far is recorded.
        out.mkdir(parents=True, exist_ok=True)
        plan_mod.save_metadata(out, entries)

    return GenerateSummary(
        out_dir=str(out), model=settings["model"],
        device=_label(getattr(pipeline, "device", None)), dtype=_label(getattr(pipeline, "dtype", None)),
        planned=len(items), generated=len(todo), skipped=skipped, redone=redone,
        blank=sum(bool(entries[i.file]["blank"]) for i in todo), retried=produced - len(todo),
        seconds=round(time.monotonic() - started, 3),
        images_per_minute=round(_rate(produced, gen_started), 2), foreign=foreign)


def _rate(count, since):
    elapsed = time.monotonic() - since
    return 60.0 * count / elapsed if elapsed > 0 else 0.0


def _label(value):
    return None if value is None else str(value).replace("torch.", "")
