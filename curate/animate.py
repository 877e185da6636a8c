"""Walks as pictures: numbered PNG frames and an animated GIF (Pillow only).

Both go through core.outputs: a frames folder is devise's (manifest kind
"frames"), every frame and GIF carries devise's mark, and nothing a user
put at those paths is overwritten.
"""

from PIL import Image

from devise.core import outputs
from devise.core.errors import BadImageError, DataError, option
from devise.data.images import open_rgb
from devise.data.sheet import missing_tile, warn_unshown

FRAMES_KIND = "frames"
FRAME_PATTERN = "frame_*.png"


def frame(path, size, background=(0, 0, 0), unshown=None):
    """`path` scaled to fit a size x size square, letterboxed; a missing tile if unreadable (reason in `unshown`)."""
    canvas = Image.new("RGB", (size, size), background)
    try:
        img = open_rgb(path, size)
    except BadImageError as exc:
        if unshown is not None:
            unshown.append(str(exc))
        return missing_tile(path, size, background=(60, 60, 60))
    img.thumbnail((size, size), Image.LANCZOS)
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
    return canvas


def frame_names(count):
    width = max(5, len(str(count)))
    return [f"frame_{i:0{width}d}.png" for i in range(count)]


def claim_frames(directory, count):
    """Raise OutputError unless `directory` and every frame file in it are devise's to write."""
    directory = outputs.claim_folder(directory, FRAMES_KIND)
    if directory.is_dir():
        for name in frame_names(count):
            outputs.claim_file(directory / name)
    return directory


def write_frames(paths, directory, size=256):
    """frame_00000.png, frame_00001.png, ... in walk order; returns the directory.

    Frames devise wrote for a longer walk are removed, so the folder holds this walk only.
    """
    claim_frames(directory, len(paths))
    directory = outputs.make_folder(directory, FRAMES_KIND)
    names, unshown = frame_names(len(paths)), []
    for name, path in zip(names, paths):
        outputs.save_image(frame(path, size, unshown=unshown), directory / name, format="PNG", remember=False)
    warn_unshown(unshown, len(paths), directory)
    outputs.record(*(directory / name for name in names))
    outputs.remove_stale(directory, FRAME_PATTERN, set(names))
    return directory


def write_gif(paths, out, size=256, fps=12):
    """An animated GIF, one frame per image, looping; each frame gets its own adaptive palette."""
    if not paths:
        raise DataError("no images to animate.")
    if not 0 < fps <= 50:
        raise DataError(f"{option('fps', fps)}: use 1 to 50 (GIF timing is in hundredths of a second).")
    out, unshown = outputs.claim_file(out), []
    frames = [frame(p, size, unshown=unshown).quantize(colors=255, method=Image.Quantize.MEDIANCUT,
                                                       dither=Image.Dither.NONE)
              for p in paths]
    warn_unshown(unshown, len(paths), out)
    return outputs.save_image(frames[0], out, format="GIF", save_all=True, append_images=frames[1:],
                              duration=round(1000 / fps), loop=0, optimize=False, disposal=1)
