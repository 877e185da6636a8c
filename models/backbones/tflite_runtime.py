"""The ``tflite`` runtime: the Keras graph converted to a LiteRT flatbuffer, run by XNNPACK.

EfficientNet-Lite was designed for this runtime: on CPU it is markedly faster
than the TensorFlow graph for the same float32 weights (bench/embed_throughput.py),
and its features match the graph's (tests/test_backbone_runtime.py).

Converting takes seconds, so the flatbuffer is cached in the devise home,
keyed by the weights' fingerprint and the converter's version, and written
atomically with a sidecar holding its SHA-256; a file that does not match its
sidecar is converted again. The interpreter comes from ``ai-edge-litert``
when installed, else from TensorFlow's own ``tf.lite``.

Once converted, a backbone loads from its flatbuffer alone
(``cached_flatbuffer``): no Keras model is built and, with ``ai-edge-litert``,
TensorFlow is never imported, so a process that only embeds starts in about
a second instead of five (each Ray actor is such a process).
"""
import hashlib
import json
import os
import re
import threading
import warnings

import numpy as np

from devise.core import atomic
from devise.core.errors import BackboneError, DataError
from devise.core.home import subdir
from devise.models.backbones.tf_graph import tf_graph_function
from devise.models.tensorflow_env import import_tensorflow, stderr_filtered, tensorflow_version

# Bump when the converted graph's inputs/outputs change, so old cache files are not reused.
GRAPH_LAYOUT = 1


def cache_paths(fingerprint, converter_version):
    """(flatbuffer, sidecar) paths for a model fingerprint and converter version."""
    safe_version = re.sub(r"[^0-9A-Za-z.]+", "-", converter_version)
    stem = f"{fingerprint}.tf{safe_version}.g{GRAPH_LAYOUT}"
    folder = cache_folder()
    return folder / f"{stem}.tflite", folder / f"{stem}.json"


def cache_folder():
    """Where converted models are kept, in the devise home."""
    return subdir("cache", "tflite")


def flatbuffer_for(model, input_size, fingerprint, preprocess=None):
    """The converted model's bytes: from the cache when intact, else converted now and cached."""
    tf = import_tensorflow()
    try:
        path, sidecar = cache_paths(fingerprint, tf.__version__)
    except DataError:  # no writable home: convert every time rather than not run
        path = sidecar = None
    cached = _read_verified(path, sidecar) if path else None
    if cached is not None:
        return cached

    run = tf_graph_function(model, input_size, preprocess)
    data = _convert(tf, run, model)
    _check_same_outputs(data, run, input_size, fingerprint)
    if path is None:
        return data
    atomic.write_bytes(path, data)
    atomic.write_json(sidecar, {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                "fingerprint": fingerprint, "converter": f"tensorflow {tf.__version__}"})
    return data


def cached_flatbuffer(fingerprint):
    """A converted model's verified bytes from the cache, found without importing TensorFlow; else None.

    With TensorFlow installed, only its own version's conversion counts (as
    in flatbuffer_for); without it, the newest intact one does.
    """
    version = tensorflow_version()
    try:
        if version is not None:
            return _read_verified(*cache_paths(fingerprint, version))
        folder = cache_folder()
    except DataError:
        return None
    pattern = f"{fingerprint}.tf*.g{GRAPH_LAYOUT}.tflite"
    for found in sorted(folder.glob(pattern), key=_modified, reverse=True):
        data = _read_verified(found, found.with_suffix(".json"))
        if data is not None:
            return data
    return None


def _modified(path):
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _convert(tf, run, model):
    # Variables frozen into constants first: left as resource variables, the
    # interpreter read some of them uninitialised (garbage features, no error).
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(run.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    return converter.convert()  # float32 throughout: no optimizations, no quantisation


def _check_same_outputs(data, run, input_size, fingerprint, tolerance=1e-3):
    """Raise BackboneError unless the flatbuffer reproduces the Keras graph `run` on a probe batch."""
    probe = np.random.default_rng(0).integers(0, 256, (2, input_size, input_size, 3), dtype=np.uint8)
    for want, have in zip((t.numpy() for t in run(probe)), TFLitePredictor(data, threads=1)(probe)):
        if want.shape != have.shape:
            raise BackboneError(f"the tflite conversion of {fingerprint} gives outputs shaped {have.shape}, "
                                f"the Keras model {want.shape}.")
        # Per row |difference| / |expected|; 1e-3 is stricter than cosine 0.9999 (about 1.4e-2).
        error = np.linalg.norm(want - have, axis=1) / np.maximum(np.linalg.norm(want, axis=1), 1e-6)
        if not np.all(error <= tolerance):
            raise BackboneError(f"the tflite conversion of {fingerprint} does not reproduce the Keras model "
                                f"(relative error {np.nan_to_num(error, nan=np.inf).max():.3g} > {tolerance}).")


def _read_verified(path, sidecar):
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        data = path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("sha256") != hashlib.sha256(data).hexdigest():
        return None
    return data


def interpreter_class():
    """LiteRT's Interpreter (ai-edge-litert) when installed, else TensorFlow's tf.lite one."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        tf = import_tensorflow()
        with warnings.catch_warnings():
            # tf.lite.Interpreter warns that it moves to ai-edge-litert, the package preferred above.
            warnings.simplefilter("ignore")
            Interpreter = tf.lite.Interpreter
    return Interpreter


# Images per interpreter invoke. XNNPACK runs a batch as one bigger problem whose activations
# (1.6 MB an image at Lite0's first layers) leave the cores' caches: one image at a time was
# 16-28% faster than 64 on a machine with 2 MB of L2 per core, and within 1% on another
# (bench/embed_throughput.py). One size also means the interpreter is never resized. Many cores
# may favour larger invokes: bench/embed_throughput.py's "invoke" rows tell, $DEVISE_INVOKE_BATCH sets it.
INVOKE_BATCH = 1


class TFLitePredictor:
    """One interpreter; a lock keeps calls from different threads apart (it is not thread-safe).

    A call takes any number of images and invokes the interpreter on `invoke_batch` of them at a time.
    """

    def __init__(self, data, threads=None, invoke_batch=None):
        threads = threads or len(os.sched_getaffinity(0))
        with stderr_filtered(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._interpreter = interpreter_class()(model_content=data, num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        # Outputs are named Identity, Identity_1 in the graph's (features, logits) order.
        outputs = self._interpreter.get_output_details()
        outputs.sort(key=lambda d: (len(d["name"]), d["name"]))
        self._outputs = [d["index"] for d in outputs]
        self.feature_dim = int(outputs[0]["shape"][-1])
        self.invoke_batch = int(invoke_batch or INVOKE_BATCH)
        self._batch = None
        self._lock = threading.Lock()

    def __call__(self, images):
        images = np.asarray(images)
        if len(images) <= self.invoke_batch:
            return self._invoke(images)
        parts = [self._invoke(images[i:i + self.invoke_batch]) for i in range(0, len(images), self.invoke_batch)]
        return tuple(np.concatenate(outs) for outs in zip(*parts))

    def _invoke(self, chunk):
        chunk = np.ascontiguousarray(chunk)  # set_tensor copies from a plain buffer
        with self._lock:
            if self._batch != len(chunk):
                self._interpreter.resize_tensor_input(self._input, list(chunk.shape), strict=True)
                self._interpreter.allocate_tensors()
                self._batch = len(chunk)
            self._interpreter.set_tensor(self._input, chunk)
            self._interpreter.invoke()
            # get_tensor copies, so the next invoke cannot overwrite what is returned.
            return tuple(self._interpreter.get_tensor(i) for i in self._outputs)


def tflite_predictor(model, input_size, fingerprint, preprocess=None, threads=None, invoke_batch=None):
    """A TFLitePredictor for the model, converting (and caching) it first if needed."""
    try:
        data = flatbuffer_for(model, input_size, fingerprint, preprocess)
        return TFLitePredictor(data, threads, invoke_batch)
    except (OSError, ValueError, RuntimeError, ImportError, DataError) as exc:
        raise BackboneError(f"the tflite runtime could not load {fingerprint}: {exc}; "
                            f"set DEVISE_RUNTIME=keras to run the TensorFlow graph instead.") from exc
