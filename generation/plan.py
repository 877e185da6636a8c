"""What `generate` should make: classes, a file and a prompt per image, seeds, and checked settings.

Pure Python (no torch), so the planning is testable and cheap. What already
exists in the output folder, and writing to it: generation.output_folder.
"""
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from devise.core.errors import GenerateError, option


def class_folder(name: str) -> str:
    return name.replace(" ", "_")


def parse_classes(classes=None, classes_file=None) -> list:
    """Class phrases from a comma list (str or list) and/or a file (one per line, # comments)."""
    names = []
    if isinstance(classes, str):
        names += classes.split(",")
    elif classes:
        names += list(classes)
    if classes_file:
        path = Path(classes_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise GenerateError(f"cannot read classes file {path}: {exc.strerror or exc}") from None
        names += [line for line in lines if not line.lstrip().startswith("#")]
    # Collapse inner whitespace so "hot  dog" and "hot dog" cannot become two folders.
    names = [" ".join(str(n).split()) for n in names]
    unique = list(dict.fromkeys(n for n in names if n))
    if not unique:
        raise GenerateError(f"no classes given: pass {option('classes', 'a,b,c')} or {option('classes_file', 'FILE')}")
    folders = {}
    for name in unique:
        if re.search(r"[/\\\x00]", name) or name in (".", ".."):
            raise GenerateError(f"class {name!r} cannot be a folder name")
        folder = class_folder(name)
        if folder in folders:
            raise GenerateError(f"classes {folders[folder]!r} and {name!r} share the folder {folder}/")
        folders[folder] = name
    return unique


def default_steps_guidance(model: str):
    # Distilled "turbo" models are trained for 1 step without classifier-free guidance;
    # ordinary Stable Diffusion checkpoints need tens of steps and guidance ~7.5.
    return (1, 0.0) if "turbo" in model.lower() else (30, 7.5)


def check_numbers(size, batch_size, retry_blank, steps):
    for label, value, low in (("size", size, 8), ("batch-size", batch_size, 1),
                              ("retry-blank", retry_blank, 0), ("steps", steps, 1)):
        if value < low:
            raise GenerateError(f"--{label} must be at least {low} (got {value})")
    if size % 8:  # latent diffusion models work on size/8 latents
        raise GenerateError(f"{option('size')} must be a multiple of 8 (got {size})")


def image_seed(base_seed: int, class_name: str, index: int, attempt: int = 0) -> int:
    """Stable across runs and machines (unlike the salted builtin hash())."""
    key = f"{base_seed}\x00{class_name}\x00{index}\x00{attempt}".encode()
    # 53 bits: exact in JSON readers that use doubles, and far past collision worries.
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % (1 << 53)


@dataclass
class Item:
    class_name: str
    index: int
    file: str  # relative to the output folder, forward slashes
    prompt: str
    attempt: int = 0


def build_plan(classes, per_class: int, template: str) -> list:
    if per_class < 1:
        raise GenerateError(f"{option('per_class')} must be at least 1 (got {per_class})")
    if template.count("{}") != 1:
        raise GenerateError(f"{option('template')} must contain exactly one {{}} for the class (got {template!r})")
    width = max(4, len(str(per_class - 1)))
    # replace(), not format(): other braces in a prompt are just text.
    return [Item(name, i, f"{class_folder(name)}/{i:0{width}d}.png", template.replace("{}", name))
            for name in classes for i in range(per_class)]


def local_model_dir(model: str):
    """The model's folder if `model` is a local path, None if it is a hub id.

    Raises when it can only be meant as a path but is not a pipeline folder, so a
    typo fails at once instead of after a hub lookup.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise GenerateError(f"model folder {path} is not a diffusers pipeline (no model_index.json)")
        return path.resolve()
    if path.exists() or path.is_absolute() or model.startswith((".", "~")) \
            or not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", model):
        raise GenerateError(f"model folder {path} does not exist (expected a saved diffusers "
                            "pipeline folder, or a Hugging Face hub id like stabilityai/sd-turbo)")
    return None


