"""Walks as pictures: numbered PNG frames and an animated GIF (Pillow only)."""
from pathlib import Path

from PIL import Image

from devise.core.atomic import atomic_path
from devise.core.errors import BadImageError, DataError


def frame(path, size, background=(0, 0, 0)):
    """`path` scaled to fit a size x size square, letterboxed; a dark grey square if unreadable."""
    from devise.data.images import open_rgb

    canvas = Image.new("RGB", (size, size), background)
    try:
        img = open_rgb(path, size)
    except BadImageError:
        return Image.new("RGB", (size, size), (60, 60, 60))
    img.thumbnail((size, size), Image.LANCZOS)
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    return canvas


def write_frames(paths, directory, size=256):
    """frame_00000.png, frame_00001.png, ... in walk order; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(len(paths))))
    for i, path in enumerate(paths):
        with atomic_path(directory / f"frame_{i:0{width}d}.png", suffix=".png") as tmp:
            frame(path, size).save(tmp, format="PNG")
    return directory


def write_gif(paths, out, size=256, fps=12):
    """An animated GIF, one frame per image, looping; each frame gets its own adaptive palette."""
    if not paths:
        raise DataError("no images to animate.")
    if not 0 < fps <= 50:
        raise DataError(f"--fps {fps}: use 1 to 50 (GIF timing is in hundredths of a second).")
    frames = [frame(p, size).quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
              for p in paths]
    out = Path(out)
    with atomic_path(out, suffix=".gif") as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=round(1000 / fps),
                       loop=0, optimize=False, disposal=1)
    return out
