"""Real photographs for equality tests: scikit-image's samples and foolbox's ImageNet samples."""
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image


def real_photos(size, foolbox_count=6):
    """uint8 [N, size, size, 3]: four skimage photos, plus `foolbox_count` foolbox ones if installed."""
    from skimage import data as samples

    images = [Image.fromarray(f()) for f in (samples.chelsea, samples.coffee, samples.astronaut, samples.rocket)]
    spec = importlib.util.find_spec("foolbox")
    if spec is not None and foolbox_count:
        folder = Path(next(iter(spec.submodule_search_locations)), "data")
        images += [Image.open(p) for p in sorted(folder.glob("imagenet_*.jpg"))[:foolbox_count]]
    return np.stack([np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BICUBIC), np.uint8)
                     for im in images])


def min_cosine(a, b):
    """The smallest row-wise cosine between two [N, D] arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())
