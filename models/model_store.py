"""A trained model is one directory: head.keras, head.npz, manifest.json, split.json.

`head.npz` holds the same weights as plain arrays so that projecting cached
features (index, tag, evaluate) runs in NumPy without importing TensorFlow.
The directory is written beside its final place and renamed in at the end.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from devise.core import manifest
from devise.core.atomic import write_json
from devise.core.errors import ModelError
from devise.models.head import apply_numpy, gated_blend

KIND = "model"


class TrainedModel:
    """Projects (features, logits) into word space: the head blended with ConSE."""

    def __init__(self, directory, data, weights):
        self.directory = Path(directory)
        self.manifest = data
        self.weights = weights
        self.blend = data.get("blend") or {"tau": 0.0, "temperature": 1.0, "alpha_seen": 1.0, "alpha_novel": 1.0}
        self.gamma = float(data.get("gamma", 0.0))   # calibrated-stacking penalty on seen labels
        self.seen_phrases = list(data.get("seen_phrases", []))

    @property
    def backbone(self):
        return self.manifest["backbone"]

    @property
    def words(self):
        return self.manifest["words"]

    def project(self, features, logits=None, conse=None):
        head = apply_numpy(self.weights, features)
        if conse is None or logits is None:
            return head
        return gated_blend(head, conse.project(logits), self.weights["seen_labels"], self.blend)


def save(out_dir, keras_model, weights, split_json, **fields):
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        if keras_model is not None:
            keras_model.save(staging / "head.keras")
        np.savez(staging / "head.npz", **weights)
        write_json(staging / "split.json", split_json)
        manifest.write(staging, KIND, **fields)
        if out_dir.exists():
            if not (out_dir / "manifest.json").exists() and any(out_dir.iterdir()):
                raise ModelError(f"{out_dir}: exists and is not a devise model; choose another --out.")
            old = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def load(model_dir, words=None, backbone=None) -> TrainedModel:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model directory; train one with `devise train DATA_DIR --out {model_dir}`.")
    data = manifest.read(model_dir, KIND, ModelError)
    manifest.expect(data, str(model_dir), ModelError, words=words, backbone=backbone)
    try:
        with np.load(model_dir / "head.npz") as npz:
            weights = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{model_dir}/head.npz: unreadable ({exc}); train the model again.") from None
    if weights["w2"].shape[1] != data.get("word_dim"):
        raise ModelError(f"{model_dir}: head outputs {weights['w2'].shape[1]}-d but manifest says {data.get('word_dim')}-d; retrain.")
    return TrainedModel(model_dir, data, weights)


def read_split(model_dir):
    return json.loads((Path(model_dir) / "split.json").read_text())
