"""Fixtures for curation tests: a folder of distinct patterned images with planted duplicates."""
import numpy as np
import pytest
from PIL import Image


def pattern(seed, size=(96, 72)):
    """A smooth random colour pattern: distinct per seed, structured enough for thumbnails to tell apart."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    img = Image.fromarray(grid, "RGB").resize(size, Image.BICUBIC)
    arr = np.asarray(img, np.float32) + rng.normal(0, 3, (size[1], size[0], 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


@pytest.fixture
def dup_folder(tmp_path):
    """3 classes x 5 distinct patterns, plus planted copies: JPEG q70, a 0.6x resize, 3 black, 2 white."""
    root = tmp_path / "patterns"
    for ci, cls in enumerate(["alpha", "beta", "gamma"]):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            pattern(ci * 10 + i).save(root / cls / f"{i:03d}.png")
    (root / "copies").mkdir()
    Image.open(root / "alpha" / "001.png").convert("RGB").save(root / "copies" / "alpha_001_q70.jpg", quality=70)
    beta = Image.open(root / "beta" / "002.png")
    beta.resize((58, 43), Image.LANCZOS).save(root / "copies" / "beta_002_small.png")
    for i in range(3):
        Image.new("RGB", (80 + 10 * i, 60), (0, 0, 0)).save(root / "copies" / f"black_{i}.png")
    for i in range(2):
        Image.new("RGB", (64, 64), (255, 255, 255)).save(root / "copies" / f"white_{i}.jpg", quality=90)
    return root


def expected_groups(root):
    """The planted groups as sets of paths."""
    c = root / "copies"
    return [
        {str(root / "alpha" / "001.png"), str(c / "alpha_001_q70.jpg")},
        {str(root / "beta" / "002.png"), str(c / "beta_002_small.png")},
        {str(c / f"black_{i}.png") for i in range(3)},
        {str(c / f"white_{i}.jpg") for i in range(2)},
    ]
