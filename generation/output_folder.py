"""`generate`'s output folder: what already exists in it, and writing images and metadata into it.

Pure Python + Pillow (no torch), so the bookkeeping is testable and cheap.
Layout written under the output folder:

    <class_folder>/<NNNN>.png   one folder per class, e.g. hot_dog/0000.png
    metadata.jsonl              one JSON object per image, sorted by file

Every PNG also carries its own metadata entry in a text chunk, so an image
whose metadata line was lost (crash between the two writes) is not orphaned;
the chunk also marks it as devise's (core.outputs). The output folder must be
new, empty or one generate wrote, and a file at a planned path that devise
did not write is left as it is: never overwritten, never "redone".
"""
import itertools
import json
from pathlib import Path

from devise.core import atomic, outputs
from devise.core.errors import BadImageError, OutputError
from devise.data.images import open_image_file

METADATA = "metadata.jsonl"
PNG_KEY = "devise"
# Fields that decide what an image looks like; a mismatch on resume is worth a warning.
SETTINGS = ("prompt", "model", "steps", "guidance", "size")
KIND = "generated image"
ENTRY_KEYS = ("file", "prompt", "seed")  # every metadata line generate writes has these
PEEK_IMAGES = 20  # marked images looked for when a crash lost metadata.jsonl


def image_ok(path: Path, size: int) -> bool:
    """True when the PNG decodes completely (catches truncation) at the requested size."""
    from PIL import Image

    try:
        # verify() walks every chunk to IEND with CRCs, so truncation is caught even where
        # someone set ImageFile.LOAD_TRUNCATED_IMAGES (then load() alone would pass).
        with open_image_file(path) as f, Image.open(f) as img:
            img.verify()
        with open_image_file(path) as f, Image.open(f) as img:
            img.load()
            return img.size == (size, size)
    except (BadImageError, OSError, ValueError, SyntaxError):
        return False


def png_entry(path: Path):
    from PIL import Image

    try:
        with open_image_file(path) as f, Image.open(f) as img:
            return json.loads(img.text[PNG_KEY])
    except (BadImageError, OSError, ValueError, KeyError, AttributeError):
        return None


def is_black(image) -> bool:
    """What a safety checker leaves behind; getbbox() is None when every pixel is zero."""
    return image.convert("RGB").getbbox() is None


def write_image(path: Path, image, entry: dict):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(PNG_KEY, json.dumps(entry, sort_keys=True))
    # No fsync: a file lost to a power cut is caught by image_ok() on resume.
    # compress_level 1: zlib's default (6) took 112 ms per 512x512 image here against 20 ms, for
    # files only ~5% smaller; at GPU speeds the default would make PNG writing the bottleneck.
    # remember=False: the text chunks mark the image as devise's; a registry row per image would cost more.
    outputs.save_image(image, path, format="PNG", pnginfo=info, compress_level=1, remember=False)


def claim_out(out: Path, plan) -> Path:
    """Raise OutputError unless `out` is new, empty or generate's, with no file where a class folder goes."""
    out = outputs.claim_folder(out, KIND, recognise=made_by_generate)
    for folder in sorted({(out / item.file).parent for item in plan}):
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder}: is a file where generate puts a class's images; {outputs.MOVE_AWAY}.")
    return out


def made_by_generate(out: Path) -> bool:
    """A metadata.jsonl devise wrote (recorded, or shaped as generate writes it), or else marked images."""
    meta = out / METADATA
    if meta.is_symlink() or meta.exists():
        return meta.is_file() and not meta.is_symlink() and (outputs.is_devise_file(meta) or any(
            all(key in e for key in ENTRY_KEYS) for e in load_metadata(out, lambda message: None).values()))
    # A run killed before its first metadata save leaves only images, and they carry devise's mark.
    return any(outputs.is_devise_file(p) for p in itertools.islice(out.glob("*/*.png"), PEEK_IMAGES))


def load_metadata(out: Path, warn) -> dict:
    path = out / METADATA
    entries = {}
    if not path.exists():
        return entries
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            entries[entry["file"]] = entry
        except (ValueError, KeyError, TypeError):
            warn(f"warning: {path}:{number} is not a metadata line; ignoring it")
    return entries


def save_metadata(out: Path, entries: dict):
    # Only entries whose image still exists: metadata must describe the folder as it is.
    lines = [json.dumps(entries[f], sort_keys=True) for f in sorted(entries) if (out / f).exists()]
    atomic.write_text(out / METADATA, "".join(line + "\n" for line in lines))
    outputs.record(out / METADATA)


def triage(plan, out: Path, entries: dict, settings: dict, retry_blank: int, warn):
    """Split the plan into (todo, skipped count, foreign count); fill in entries recovered from PNGs.

    A complete image is kept, unless it is blank and `retry_blank` now allows
    more attempts than it has had (a later run with --retry-blank fixes blanks).
    A file devise did not write (foreign) is left alone and its image not made.
    """
    todo, skipped, differing, foreign = [], 0, 0, 0
    for item in plan:
        path = out / item.file
        if not path.exists() and not path.is_symlink():
            todo.append(item)
            continue
        if not outputs.is_devise_file(path):
            warn(f"warning: {path} was not written by devise; leaving it alone (move it away to generate it)")
            entries.pop(item.file, None)  # its metadata line, if any, described an image that is gone
            foreign += 1
            continue
        if not image_ok(path, settings["size"]):
            warn(f"warning: {item.file} is incomplete or the wrong size; regenerating it")
            todo.append(item)
            continue
        entry = entries.get(item.file) or png_entry(path)
        if entry is None:
            warn(f"warning: {item.file} has no metadata; keeping it, delete it to regenerate")
        else:
            entries[item.file] = entry
            if entry.get("blank") and entry.get("attempt", 0) < retry_blank:
                item.attempt = entry.get("attempt", 0) + 1
                todo.append(item)
                continue
            want = dict(settings, prompt=item.prompt)
            differing += any(entry.get(k) != want[k] for k in SETTINGS)
        skipped += 1
    if differing:
        warn(f"warning: {differing} existing image(s) were made with other settings; "
             "kept as they are (delete them to regenerate)")
    return todo, skipped, foreign
