"""Robust image decoding: any photo a user has becomes an RGB uint8 array.

EXIF orientation is applied; greyscale, CMYK, palette, alpha and 16-bit
images become RGB; truncated files, non-images, tiny images and
decompression bombs raise `BadImageError` so callers can skip and count them.

Pillow's process-wide settings (Image.MAX_IMAGE_PIXELS,
ImageFile.LOAD_TRUNCATED_IMAGES) are left as the process has them: the size
limit here is checked on each image instead.
"""
import contextlib
import math
import os
import stat
import warnings

import numpy as np
from PIL import Image

from devise.core.errors import BadImageError, UnreadableFileError
from devise.data.formats import IMAGE_SUFFIXES, prepare  # noqa: F401 (IMAGE_SUFFIXES: this module's public name)

# ~90 megapixels: far above any camera photo, far below what exhausts 24 GB.
MAX_PIXELS = 90_000_000
# The decode itself is bounded in bytes, not pixels: a small 16-bit PNG can hold a huge
# image. Pillow keeps 3-channel images in 4 bytes per pixel; the limit admits an 8-bit RGB
# image at MAX_PIXELS.
MAX_DECODE_BYTES = 4 * MAX_PIXELS
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2,
                   "RGB": 4, "YCbCr": 4, "LAB": 4, "HSV": 4, "RGBA": 4, "RGBa": 4, "RGBX": 4, "CMYK": 4, "I": 4, "F": 4}
HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
BAND_BYTES = 16 << 20
MIN_SIDE = 8
# EXIF orientation -> the transpose that shows the image upright (what ImageOps.exif_transpose does).
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float images stretched to 8-bit greyscale, in bands, so memory stays near the decoded size."""
    lo, hi = img.getextrema()
    scale = np.float32(255.0 / (hi - lo) if hi > lo else 0.0)
    out = np.empty((img.height, img.width), np.uint8)
    band = max(1, BAND_BYTES // (4 * img.width))
    for top in range(0, img.height, band):
        # A copy: for a float image ("F") asarray would be a read-only view of Pillow's buffer.
        rows = np.array(img.crop((0, top, img.width, min(img.height, top + band))), np.float32)
        rows -= np.float32(lo)
        rows *= scale
        out[top:top + len(rows)] = rows.astype(np.uint8)
    return Image.fromarray(out, "L")


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in HIGH_DEPTH:
        img = _to_8bit(img)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA"):
        # Transparent areas become white, as a viewer would show them.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def decode_bytes(img: Image.Image) -> int:
    """What decoding `img` at its current size costs in memory: pixels times bytes per pixel."""
    return img.width * img.height * BYTES_PER_PIXEL.get(img.mode, 4)


FILE_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(mode) -> str:
    """What a file of `st_mode` is, when it is not a regular file: "not a regular file (a FIFO)"."""
    return f"not a regular file ({next((name for test, name in FILE_KINDS if test(mode)), 'a special file')})"


@contextlib.contextmanager
def open_image_file(path):
    """`path` opened for binary reading, only if it is a regular file; raises BadImageError otherwise.

    A FIFO, device or socket named like an image would block the reader (or never end)
    in open() or read(). O_NONBLOCK keeps open() from waiting for a FIFO's writer, and the
    check is on the opened descriptor, so the file cannot be swapped between check and read.
    """
    prepare(path)  # a HEIC file registers its Pillow plugin first
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise BadImageError(f"{path}: file not found.") from None
    except PermissionError:
        raise UnreadableFileError(f"{path}: permission denied; make it readable to include it; skipped.") from None
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be opened ({exc.strerror or exc}); skipped.") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise BadImageError(f"{path}: {not_regular(mode)}; skipped.")
    with os.fdopen(fd, "rb") as f:
        yield f


def _open_header(f) -> Image.Image:
    # Image.open reads only the header. Pillow warns there about sizes above its own
    # process-wide limit; devise leaves that limit alone and checks MAX_PIXELS itself.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(f)


def _check_size(path, img):
    if img.width * img.height > MAX_PIXELS or decode_bytes(img) > MAX_DECODE_BYTES:
        raise BadImageError(f"{path}: {img.width}x{img.height} {img.mode} needs {decode_bytes(img) >> 20} MB to decode, "
                            f"too large to decode safely (decompression bomb?); skipped.")


def _bad_image(path, exc) -> BadImageError:
    """The one-line BadImageError for an exception Pillow raised while opening or decoding `path`."""
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return BadImageError(f"{path}: image is too large to decode safely (decompression bomb?); skipped.")
    if isinstance(exc, FileNotFoundError):
        return BadImageError(f"{path}: file not found.")
    if isinstance(exc, Image.UnidentifiedImageError):
        hint = prepare(path)
        return BadImageError(f"{path}: {hint}; skipped." if hint else f"{path}: not an image file Pillow can read; skipped.")
    return BadImageError(f"{path}: corrupt or truncated image ({exc}); skipped.")


DECODE_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning, OSError, SyntaxError, ValueError)


def pixel_count(path) -> int:
    """Width x height from the file's header (nothing is decoded); raises BadImageError as open_rgb does."""
    with open_image_file(path) as f:
        try:
            with _open_header(f) as img:
                return img.width * img.height
        except DECODE_ERRORS as exc:
            raise _bad_image(path, exc) from None


def open_rgb(path, target_size=None) -> Image.Image:
    """Decode `path` to an RGB PIL image; raise BadImageError with the path on any failure."""
    with open_image_file(path) as f:
        # The decoded image holds its pixels in memory, so the file can close before it is used.
        return _decode_file(path, f, target_size)


def _decode_file(path, f, target_size):
    try:
        opened = _open_header(f)
    except DECODE_ERRORS as exc:
        raise _bad_image(path, exc) from None
    try:
        _check_size(path, opened)
        img = _decode_rgb(opened, target_size)
    except BadImageError:
        opened.close()
        raise
    except DECODE_ERRORS as exc:
        opened.close()
        raise _bad_image(path, exc) from None
    if min(img.size) < MIN_SIDE:
        raise BadImageError(f"{path}: {img.width}x{img.height} is too small to embed (min side {MIN_SIDE} px); skipped.")
    return img


def _orientation(img):
    """The EXIF orientation, or None; malformed EXIF is ignored quietly, as viewers do (Pillow would warn raw)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return img.getexif().get(0x0112)
        except DECODE_ERRORS:
            return None


def _decode_rgb(img, target_size):
    with warnings.catch_warnings():
        # Frames and sub-images (GIF, ICO, ...) are sized only while decoding: a
        # bomb warning there means one is far larger than the header said.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if target_size and img.format == "JPEG":
            # JPEG can decode at 1/2, 1/4, 1/8 scale: far faster for big photos.
            img.draft("RGB", (target_size, target_size))
        orientation = _orientation(img)
        img.load()
        if img.mode in HIGH_DEPTH:
            img = _to_8bit(img)
        if target_size:
            # Formats that cannot decode reduced (PNG, TIFF, ...) are box-reduced to no less than
            # twice the target size before the colour conversions, which copy the image.
            factor = min(img.size) // (2 * target_size)
            if factor >= 2 and img.mode in ("L", "RGB", "RGBA", "LA", "P"):
                img = (img.convert("RGBA") if img.mode in ("P", "LA") else img).reduce(factor)
        if orientation in UPRIGHT:
            img = img.transpose(UPRIGHT[orientation])
        return _to_rgb(img)


def fit_crop(img: Image.Image, size: int, *, crop: float = 1.0, resample=Image.Resampling.BILINEAR) -> np.ndarray:
    """The centre square of `crop` times the short side, resized to size x size, as uint8 HxWx3.

    Resizing only the crop box (rather than the whole image, then cropping)
    halves the decode-side CPU, which competes with the backbone for cores.
    Pillow's filters are antialiased when they downsample.
    """
    w, h = img.size
    side = min(w, h) * crop
    left, top = (w - side) / 2, (h - side) / 2
    img = img.resize((size, size), resample, box=(left, top, left + side, top + side))
    return np.asarray(img, dtype=np.uint8)


def draft_side(size: int, crop: float = 1.0) -> int:
    """The short side a reduced decode must keep so that the crop still holds `size` pixels."""
    return math.ceil(size / crop - 1e-9)


def load_crop(path, size: int, *, crop: float = 1.0, resample=Image.Resampling.BILINEAR,
              draft: bool = True) -> np.ndarray:
    """Decode `path` (reduced while decoding when `draft`) and return its centre crop at size x size."""
    return fit_crop(open_rgb(path, draft_side(size, crop) if draft else None), size, crop=crop, resample=resample)


def fit_square(img: Image.Image, size: int) -> np.ndarray:
    """The full centre square, resized bilinearly: `fit_crop` with its defaults."""
    return fit_crop(img, size)


def load_square(path, size: int) -> np.ndarray:
    """The full centre square of a draft decode, resized bilinearly: `load_crop` with its defaults."""
    return load_crop(path, size)
