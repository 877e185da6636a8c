"""Shared fixtures: an isolated DEVISE_HOME, a fake backbone, tiny image folders."""
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
CALTECH = Path(os.environ.get("DEVISE_DATASETS", SHARED)) / "caltech101"


class FakeBackbone:
    """Deterministic stand-in for a CNN: pixel statistics in, fixed random projections out."""

    name = "fake"
    input_size = 16
    feature_dim = 48
    fingerprint = "fake-backbone-v1"

    def __init__(self):
        rng = np.random.default_rng(0)
        self.to_logits = rng.normal(size=(self.feature_dim, 1000)).astype(np.float32)
        self.calls = 0
        self.images_seen = 0

    def predict(self, batch):
        self.calls += 1
        self.images_seen += len(batch)
        x = batch.astype(np.float32) / 255.0
        small = x.reshape(len(x), 4, 4, 4, 4, 3).mean(axis=(2, 4)).reshape(len(x), -1)
        feats = np.maximum(small - 0.2, 0) * 3
        return feats.astype(np.float32), (feats @ self.to_logits).astype(np.float32)


@pytest.fixture(autouse=True)
def devise_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DEVISE_HOME", str(home))
    from devise.core import home as home_module

    home_module.set_home(None)
    return home


@pytest.fixture
def fake_backbone(monkeypatch):
    import devise.models.backbones as backbones

    fake = FakeBackbone()

    def get_backbone(name=None):
        return fake

    monkeypatch.setattr(backbones, "get_backbone", get_backbone)
    monkeypatch.setattr(backbones, "DEFAULT_BACKBONE", "fake")
    return fake


COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220),
           "yellow": (230, 220, 30), "black": (5, 5, 5), "white": (250, 250, 250)}


def make_image(path, rgb, size=(40, 30), seed=0, mode="RGB"):
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb)[None, None, :] + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


@pytest.fixture
def colour_folder(tmp_path):
    """Six classes named by colour words, 8 noisy images each: learnable and in GloVe."""
    root = tmp_path / "colours"
    for ci, (name, rgb) in enumerate(COLOURS.items()):
        for i in range(8):
            make_image(root / name / f"{i:03d}.jpg", rgb, seed=ci * 100 + i)
    return root


def needs_caltech():
    return pytest.mark.skipif(not (CALTECH / "airplanes").is_dir(), reason="Caltech-101 not available (../shared/datasets)")
