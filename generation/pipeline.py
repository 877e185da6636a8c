"""Loading and running a diffusers text-to-image pipeline, for `generate` on any engine.

torch and diffusers are an optional extra, imported only inside functions, so
the local driver and each Ray actor load pipelines the same way.
"""
import contextlib
import importlib.util
import os
import socket
import urllib.parse
import warnings
from pathlib import Path

from devise.core.errors import GenerateError, option
from devise.generation import plan as plan_mod

DEFAULT_MODEL = "stabilityai/sd-turbo"
REQUIRED = ("torch", "diffusers", "transformers")
INSTALL_HINT = ('pip install -e ".[generate]" (on a machine without a GPU, '
                "pip install torch==2.13.0 first gives the CPU-only torch wheel)")


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
        raise GenerateError(f"{option('device', 'cuda')}, but torch sees no CUDA device ({build}); use {option('device', 'cpu')}")
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


def run_batch(pipe, prompts, seeds, steps, guidance, size):
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
        raise GenerateError(f"out of memory with {option('batch_size', len(prompts))}: lower it, "
                            "or use --dtype float16 on a GPU") from None
    flags = getattr(result, "nsfw_content_detected", None) or [False] * len(result.images)
    return result.images, [bool(f) for f in flags]


def label(value):
    return None if value is None else str(value).replace("torch.", "")
