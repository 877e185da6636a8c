"""Plain helpers shared by the tests: image makers, a fake backbone, a NumPy-fitted model.

Fixtures live in conftest.py; these are ordinary functions and constants.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TESTS_DIR = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
CALTECH = Path(os.environ.get("DEVISE_DATASETS", SHARED)) / "caltech101"
SIZE = 32  # the tiny diffusers pipeline's image side (conftest.tiny_model)
FAST = dict(steps=2, guidance=0.0, size=SIZE, device="cpu")
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220),
           "yellow": (230, 220, 30), "black": (5, 5, 5), "white": (250, 250, 250)}


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


def make_image(path, rgb, size=(40, 30), seed=0, mode="RGB"):
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(rgb)[None, None, :] + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr, "RGB")
    if mode != "RGB":
        img = img.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def needs_caltech():
    return pytest.mark.skipif(not (CALTECH / "airplanes").is_dir(), reason="Caltech-101 not available (../shared/datasets)")


def fit_model(out, folder, backbone, seed=0, gamma=0.0, seen=None):
    """A head fitted by least squares in NumPy (no Keras): features -> the word vector of the image's colour.

    Hidden layer = identity (the fake features are >= 0, so ReLU keeps them);
    it stands in for a trained model in every way `model_store` checks. `gamma` and `seen` stand in
    for a calibration that penalises the labels of the `seen` classes (default: all) by `gamma`.
    """
    from devise.core.vectors import unit_rows
    from devise.data.folders import scan
    from devise.data.words import load_words
    from devise.models import model_store
    from devise.models.embed import embed_paths

    wv = load_words()
    found = scan(folder)
    emb = embed_paths(found.paths, backbone, progress=False)
    classes = [found.classes[found.paths.index(p)] for p in emb.paths]
    targets = unit_rows(np.stack([wv.vector(c) for c in classes]))
    dim = emb.features.shape[1]
    design = np.hstack([emb.features, np.ones((len(emb.features), 1), np.float32)])
    rng = np.random.default_rng(seed)
    solution = np.linalg.lstsq(design, targets + rng.normal(0, 1e-3, targets.shape), rcond=None)[0]
    weights = {"w1": np.eye(dim, dtype=np.float32), "b1": np.zeros(dim, np.float32),
               "gamma": np.ones(dim, np.float32), "beta": np.zeros(dim, np.float32),
               "mean": np.zeros(dim, np.float32), "var": np.ones(dim, np.float32), "eps": np.float32(0.0),
               "w2": solution[:-1].astype(np.float32), "b2": solution[-1].astype(np.float32),
               "seen_labels": unit_rows(np.stack([wv.vector(c) for c in sorted(set(classes))]))}
    return model_store.save(out, None, weights, {"seen": sorted(set(classes))}, backbone=backbone.name,
                            words="glove-6b-50d", word_dim=wv.dim, alpha=1.0, gamma=gamma,
                            seen_phrases=sorted(seen or set(classes)))


def add_images(folder, cls, count, start=0):
    rgb = COLOURS.get(cls, (150, 60, 200))
    return [make_image(folder / cls / f"{start + i:03d}.jpg", rgb, seed=900 + start + i) for i in range(count)]


def pattern(seed, size=(96, 72)):
    """A smooth random colour pattern: distinct per seed, structured enough for thumbnails to tell apart."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    img = Image.fromarray(grid, "RGB").resize(size, Image.BICUBIC)
    arr = np.asarray(img, np.float32) + rng.normal(0, 3, (size[1], size[0], 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def expected_groups(root):
    """The planted groups as sets of paths."""
    c = root / "copies"
    return [
        {str(root / "alpha" / "001.png"), str(c / "alpha_001_q70.jpg")},
        {str(root / "beta" / "002.png"), str(c / "beta_002_small.png")},
        {str(c / f"black_{i}.png") for i in range(3)},
        {str(c / f"white_{i}.jpg") for i in range(2)},
    ]


def fake_backbone_factory(name=None):
    """A FakeBackbone for processes the tests do not patch (Ray actors): engines.ray_embed.BACKBONE_FACTORY."""
    return FakeBackbone()


ACTOR_LOG_ENV = "DEVISE_TEST_ACTOR_LOG"


def logging_backbone_factory(name=None):
    """fake_backbone_factory that first writes, into the folder $DEVISE_TEST_ACTOR_LOG, the GPUs Ray gave
    the calling actor and the runtime it chose: what an actor saw, for a test in the driver to read."""
    import json

    import ray

    record = {"gpus": [str(g) for g in ray.get_gpu_ids()], "runtime": os.environ.get("DEVISE_RUNTIME")}
    (Path(os.environ[ACTOR_LOG_ENV]) / f"{os.getpid()}.json").write_text(json.dumps(record))
    return FakeBackbone()


# Fault injection: run the CLI in a subprocess that pauses inside one library function, to be killed there.
PAUSED = r"""
import functools, importlib, sys, time
sys.path.insert(0, sys.argv[1])
from helpers import FakeBackbone
import devise.models.backbones as backbones
fake = FakeBackbone()
backbones.get_backbone = lambda name=None: fake
backbones.DEFAULT_BACKBONE = "fake"
module_name, attr, marker, after, sleep = sys.argv[2:7]
owner = importlib.import_module(module_name)
*path, name = attr.split(".")
for part in path:
    owner = getattr(owner, part)
original = getattr(owner, name)
calls = [0]
@functools.wraps(original)
def paused(*args, **kwargs):
    calls[0] += 1
    if calls[0] > int(after):
        open(marker, "a").close()
        time.sleep(float(sleep))
    return original(*args, **kwargs)
setattr(owner, name, paused if not isinstance(original, staticmethod) else staticmethod(paused))
from devise.cli import main
sys.argv = ["devise", *sys.argv[7:]]
main()
"""


def start_paused(home, tmp_path, target, after, *args, sleep=120):
    """Run `devise *args` in a subprocess that pauses at the (after+1)-th call of `target` ("module:attr")."""
    module, attr = target.split(":")
    marker = tmp_path / f"paused-{time.monotonic_ns()}"
    env = {**os.environ, "DEVISE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-c", PAUSED, str(TESTS_DIR), module, attr, str(marker), str(after), str(sleep),
                             *map(str, args)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return proc, marker


def kill_when_paused(proc, marker, timeout=120):
    deadline = time.time() + timeout
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not marker.exists():
        _, err = proc.communicate(timeout=30) if proc.poll() is not None else (b"", b"")
        pytest.fail(f"the command never reached the pause point (exit {proc.poll()}): {err.decode()[-1500:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def synthetic_index(name, groups, seed=0, mixed=(), logits=None):
    """An index whose images sit in word space where `groups` says: [(count, word vector, noise)]. Each group
    looks alike (backbone features); a group in `mixed` shows the two groups before it, and looks like both.
    logits: {group: (ImageNet class, logit)}, that group's backbone logits (else flat)."""
    from devise.index import items, writer

    rng = np.random.default_rng(seed)
    vectors, features, rows, labels, looks = [], [], [], [], []
    for g, (count, centre, spread) in enumerate(groups):
        looks.append((looks[-1] + looks[-2]) / 2 if g in mixed else np.abs(rng.normal(size=16)) * (rng.random(16) < 0.4))
        look = looks[-1]
        for _ in range(count):
            vectors.append(centre / np.linalg.norm(centre) + spread * rng.normal(size=len(centre)))
            features.append(np.abs(look + 0.1 * rng.normal(size=16)))
            labels.append(g)
    rows = [items.make_item(i, f"/photos/g{g}/img{i:04d}.jpg", f"g{g}", 1, 0) for i, g in enumerate(labels)]
    counts = {"items": len(rows), "embedded": 0, "reused": 0, "removed": 0, "skipped": 0, "tombstoned": 0}
    # Flat ImageNet logits unless told: the index has its top classes, so no category word gets a mass lead.
    flat = np.zeros((len(rows), 1000), np.float32)
    for g, (cls, logit) in (logits or {}).items():
        flat[np.array(labels) == g, cls] = logit
    top = writer.top_classes(flat)
    writer.write_version(name, np.array(vectors, np.float32), np.array(features, np.float32), rows, method="exact",
                         top=top, root="/photos", model="conse", model_fingerprint="synthetic", backbone="fake",
                         backbone_fingerprint=None, words="glove-6b-50d", counts=counts)
    return labels
