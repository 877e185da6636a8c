"""Robust image decoding: any photo a user has becomes an RGB uint8 array.

EXIF orientation is applied; greyscale, CMYK, palette, alpha and 16-bit
images become RGB; truncated files, non-images, tiny images and
decompression bombs raise `BadImageError` so callers can skip and count them.
"""
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps

from devise.core.errors import BadImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
# ~90 megapixels: far above any camera photo, far below what exhausts 24 GB.
MAX_PIXELS = 90_000_000
MIN_SIDE = 8
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float images: stretch to the 8-bit range rather than clip.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        img = Image.fromarray(((arr - lo) * scale).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        # Transparent areas become white, as a viewer would show them.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def open_rgb(path, target_size=None) -> Image.Image:
    """Decode `path` to an RGB PIL image; raise BadImageError with the path on any failure."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
            if img.width * img.height > MAX_PIXELS:
                raise BadImageError(f"{path}: {img.width}x{img.height} is too large to decode safely (decompression bomb?); skipped.")
            if target_size and img.format == "JPEG":
                # JPEG can decode at 1/2, 1/4, 1/8 scale: far faster for big photos.
                img.draft("RGB", (target_size, target_size))
            img.load()
            img = ImageOps.exif_transpose(img)
            img = _to_rgb(img)
    except BadImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImageError(f"{path}: image is too large to decode safely (decompression bomb?); skipped.") from None
    except FileNotFoundError:
        raise BadImageError(f"{path}: file not found.") from None
    except Image.UnidentifiedImageError:
        raise BadImageError(f"{path}: not an image file Pillow can read; skipped.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImageError(f"{path}: corrupt or truncated image ({exc}); skipped.") from None
    if min(img.size) < MIN_SIDE:
        raise BadImageError(f"{path}: {img.width}x{img.height} is too small to embed (min side {MIN_SIDE} px); skipped.")
    return img


def fit_square(img: Image.Image, size: int) -> np.ndarray:
    """Centre-crop to a square and resize it to size x size, as uint8 HxWx3.

    Resizing only the crop box (rather than the whole image, then cropping)
    halves the decode-side CPU, which competes with the backbone for cores.
    Pillow's bilinear filter is antialiased when it downsamples.
    """
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    img = img.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side))
    return np.asarray(img, dtype=np.uint8)


def load_square(path, size: int) -> np.ndarray:
    return fit_square(open_rgb(path, size), size)

