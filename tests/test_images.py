"""Robust decoding and folder scanning, including every kind of bad input."""

import numpy as np
import pytest
from PIL import Image

from devise.core.errors import BadImageError, DataError
from devise.data.folders import require_labelled, scan
from devise.data.images import fit_square, load_square, open_rgb

from helpers import make_image


def test_modes_become_rgb(tmp_path):
    for mode in ("L", "RGBA", "P", "CMYK", "LA", "1"):
        suffix = ".jpg" if mode in ("L", "CMYK") else ".png"
        p = make_image(tmp_path / f"img_{mode}{suffix}", (200, 100, 50), mode=mode)
        img = open_rgb(p)
        assert img.mode == "RGB", mode


def test_cmyk_jpeg_colours_survive(tmp_path):
    p = make_image(tmp_path / "cmyk.jpg", (220, 30, 30), mode="CMYK")
    assert Image.open(p).mode == "CMYK"
    arr = load_square(p, 16).astype(int)
    assert arr[..., 0].mean() > 150 and arr[..., 1].mean() < 100


def test_sixteen_bit_png_is_stretched(tmp_path):
    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(arr).save(p)
    out = np.asarray(open_rgb(p))
    assert out.dtype == np.uint8 and out.max() == 255 and out.min() == 0


def test_exif_orientation_applied(tmp_path):
    img = Image.new("RGB", (60, 20), (10, 200, 10))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    p = tmp_path / "rotated.jpg"
    img.save(p, exif=exif)
    assert open_rgb(p).size == (20, 60)


@pytest.mark.parametrize("kind", ["corrupt", "text", "tiny", "truncated"])
def test_bad_images_raise_one_line_errors(tmp_path, kind):
    p = tmp_path / f"{kind}.jpg"
    if kind == "corrupt":
        p.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 50)
    elif kind == "text":
        p.write_text("this is not a picture\n")
    elif kind == "tiny":
        Image.new("RGB", (1, 1)).save(p)
    else:
        make_image(p, (100, 100, 100), size=(200, 200))
        p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(BadImageError) as err:
        load_square(p, 16)
    message = str(err.value)
    assert str(p) in message and "\n" not in message


def test_decompression_bomb_guard(tmp_path, monkeypatch):
    import devise.data.images as images

    p = make_image(tmp_path / "big.png", (1, 2, 3), size=(400, 400))
    monkeypatch.setattr(images, "MAX_PIXELS", 1000)
    with pytest.raises(BadImageError, match="too large"):
        images.open_rgb(p)


def test_fit_square_shape():
    img = Image.new("RGB", (300, 200), (1, 2, 3))
    assert fit_square(img, 224).shape == (224, 224, 3)


def test_scan_labelled_and_flat(tmp_path, capsys):
    make_image(tmp_path / "lab" / "cat" / "a.jpg", (1, 2, 3))
    make_image(tmp_path / "lab" / "dog" / "b.png", (1, 2, 3))
    (tmp_path / "lab" / "dog" / "tmp").write_text("not an image")
    folder = scan(tmp_path / "lab")
    assert folder.labelled and folder.class_names() == ["cat", "dog"]
    assert len(folder.skipped) == 1 and "tmp" in capsys.readouterr().err
    make_image(tmp_path / "flat" / "x.jpg", (1, 2, 3))
    flat = scan(tmp_path / "flat")
    assert not flat.labelled
    with pytest.raises(DataError, match="subfolder per class"):
        require_labelled(flat)


def test_scan_exclude_and_missing(tmp_path):
    make_image(tmp_path / "lab" / "cat" / "a.jpg", (1, 2, 3))
    make_image(tmp_path / "lab" / "BACKGROUND_Google" / "b.jpg", (1, 2, 3))
    assert scan(tmp_path / "lab", exclude=["BACKGROUND_Google"]).class_names() == ["cat"]
    with pytest.raises(DataError, match="not a folder"):
        scan(tmp_path / "nope")


def _big_16bit_png(path, side=9400):
    """A 16-bit greyscale PNG of side x side pixels that compresses to a few hundred KB."""
    arr = np.zeros((side, side), np.uint16)
    arr[::50, :] = 40000
    arr[:, ::70] = 1000
    Image.fromarray(arr).save(path)
    return path


def test_small_16bit_png_of_a_huge_image_decodes_in_bounded_memory(tmp_path):
    """A ~240 KB PNG holding 9400x9400 16-bit pixels took 1.8 GB to tag; decoding is now banded and reduced."""
    import subprocess
    import sys

    path = _big_16bit_png(tmp_path / "big16.png")
    assert path.stat().st_size < 1_000_000
    code = ("from devise.data.images import load_square; "
            f"a = load_square({str(path)!r}, 224); assert a.shape == (224, 224, 3) and a.max() > 0; "
            # VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still holds the parent's peak.
            "print(next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')) // 1024)")
    peak_mb = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert peak_mb < 600, f"decoding took {peak_mb} MB"


def test_decode_cost_counts_bytes_per_pixel(tmp_path, monkeypatch):
    from devise.data import images

    path = _big_16bit_png(tmp_path / "wide16.png", side=2000)  # 4M pixels, 8 MB as 16-bit
    monkeypatch.setattr(images, "MAX_DECODE_BYTES", 6_000_000)
    with pytest.raises(BadImageError, match="MB to decode"):
        images.open_rgb(path)
    monkeypatch.setattr(images, "MAX_DECODE_BYTES", 10_000_000)
    assert images.open_rgb(path).size == (2000, 2000)


def test_exif_orientation_survives_reduced_decoding(tmp_path):
    """A large PNG is box-reduced before it is turned upright; the result must still be upright."""
    from devise.data.images import load_square

    arr = np.zeros((1200, 1600, 3), np.uint8)
    arr[:, :800] = (250, 0, 0)  # left half red, right half blue
    arr[:, 800:] = (0, 0, 250)
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 3  # rotated 180 degrees: upright, red is on the right
    img.save(tmp_path / "rotated.png", exif=exif)
    square = load_square(tmp_path / "rotated.png", 224)
    assert square[:, :80, 2].mean() > 200 and square[:, -80:, 0].mean() > 200
