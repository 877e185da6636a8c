"""The image formats devise reads: one list for every command (index, tag, similar, the web upload).

Pillow reads all of them but HEIC/HEIF, which the `pillow-heif` plugin adds
(a dependency, ~6 MB); it is registered the first time such a file is
opened, so `import devise` and collections without HEIC never import it.
AVIF is Pillow's own from Pillow 11.3 (its wheels bundle libavif).
"""
import functools
from pathlib import Path

HEIF_SUFFIXES = {".heic", ".heif"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".avif",
                  *HEIF_SUFFIXES}
HEIF_INSTALL = "pip install pillow-heif"


@functools.cache
def heif_plugin() -> bool:
    """Register pillow-heif's opener with Pillow, once; False when it is not installed."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def prepare(path) -> str:
    """What opening `path` needs first: '' when Pillow can try it, else a hint naming what to install."""
    if Path(str(path)).suffix.lower() in HEIF_SUFFIXES and not heif_plugin():
        return f"HEIC/HEIF images need the pillow-heif plugin: {HEIF_INSTALL}"
    return ""
