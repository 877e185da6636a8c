"""How a backbone's Keras model is run: one predictor per runtime, chosen once per backbone.

A predictor maps one chunk of ``[n, S, S, 3]`` uint8 pixels to float32 NumPy
(features, logits). Which runtimes exist depends on the Keras backend:

- tensorflow: ``tflite`` (the model converted once to a LiteRT flatbuffer and
  run by the XNNPACK delegate; the default, the fastest on CPU), ``keras``
  (a ``tf.function`` over the Keras graph) and ``xla`` (the same, ``jit_compile``);
- jax: ``jax`` (``model.stateless_call`` under ``jax.jit``);
- torch: ``torch`` (the model under ``torch.inference_mode``, on CUDA when
  Keras finds a GPU).

Only the tensorflow runtimes import TensorFlow, so a machine with just JAX or
PyTorch embeds through the same Keras model.
"""
import os

import numpy as np

from devise.core.errors import BackboneError
from devise.core.progress import warn
from devise.models.backbones import tflite_runtime
from devise.models.backbones.tf_graph import tf_graph_function
from devise.models.tensorflow_env import configured_backend, import_tensorflow

RUNTIME_ENV = "DEVISE_RUNTIME"
THREADS_ENV = "DEVISE_THREADS"
# Images per TFLite interpreter invoke (models/backbones/tflite_runtime.py); unset: its INVOKE_BATCH.
INVOKE_ENV = "DEVISE_INVOKE_BATCH"
TENSORFLOW_RUNTIMES = ("tflite", "keras", "xla")
DEFAULT_TF_RUNTIME = "tflite"


def keras_backend() -> str:
    """The Keras backend this process uses ($KERAS_BACKEND or keras.json), found without importing Keras."""
    return configured_backend()


def resolve_runtime(runtime=None) -> str:
    """The runtime to use: `runtime`, else $DEVISE_RUNTIME, else the backend's default."""
    backend = keras_backend()
    allowed = TENSORFLOW_RUNTIMES if backend == "tensorflow" else (backend,)
    chosen = (runtime or os.environ.get(RUNTIME_ENV) or allowed[0]).strip().lower()
    if chosen not in allowed:
        raise BackboneError(f"runtime {chosen!r} does not run on the Keras backend {backend!r} "
                            f"(KERAS_BACKEND); use one of: {', '.join(allowed)}, or unset {RUNTIME_ENV}.")
    return chosen


def thread_count() -> int | None:
    """$DEVISE_THREADS as a positive int, or None (each runtime's own default)."""
    return _positive_setting(THREADS_ENV, "threads")


def invoke_batch() -> int | None:
    """$DEVISE_INVOKE_BATCH as a positive int, or None (the tflite runtime's own default)."""
    return _positive_setting(INVOKE_ENV, "images")


def _positive_setting(variable, unit):
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise BackboneError(f"{variable}={value!r}: use a positive whole number of {unit}, or unset it.")
    return int(value)


def make_predictor(runtime, model, input_size, fingerprint, preprocess=None):
    """A callable: uint8 chunk -> (features, logits) as float32 NumPy, for `runtime`."""
    if runtime == "tflite":
        return tflite_runtime.tflite_predictor(model, input_size, fingerprint, preprocess, thread_count(), invoke_batch())
    if runtime in ("keras", "xla"):
        return _tf_function_predictor(model, input_size, preprocess, jit=runtime == "xla")
    if runtime == "jax":
        return _jax_predictor(model, preprocess)
    if runtime == "torch":
        return _torch_predictor(model, preprocess)
    raise BackboneError(f"unknown runtime {runtime!r}.")


def _tf_function_predictor(model, input_size, preprocess, jit):
    threads = thread_count()
    if threads is not None:
        # Only takes effect before TensorFlow's first op; later it raises, and the default stays.
        try:
            import_tensorflow().config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:
            warn(f"{THREADS_ENV}={threads} ignored by the {'xla' if jit else 'keras'} runtime: "
                 "TensorFlow had already started; set it before devise loads the backbone.")
    run = tf_graph_function(model, input_size, preprocess, jit=jit)

    def predict(chunk):
        features, logits = run(chunk)
        return features.numpy(), logits.numpy()

    return predict


def _jax_predictor(model, preprocess):
    import jax
    import jax.numpy as jnp

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]

    # Weights are arguments, not constants baked into the trace: compiling stays quick.
    @jax.jit
    def run(trainable, frozen, images):
        x = images.astype(jnp.float32)
        if preprocess is not None:
            x = preprocess(x)
        (features, logits), _ = model.stateless_call(trainable, frozen, x, training=False)
        return features.astype(jnp.float32), logits.astype(jnp.float32)

    def predict(chunk):
        features, logits = run(trainable, frozen, chunk)
        return np.asarray(features), np.asarray(logits)

    return predict


def _torch_predictor(model, preprocess):
    import keras
    import torch

    def predict(chunk):
        with torch.inference_mode():
            # convert_to_tensor puts the pixels on Keras' device (CUDA when there is one).
            x = keras.ops.cast(keras.ops.convert_to_tensor(chunk), "float32")
            if preprocess is not None:
                x = preprocess(x)
            features, logits = model(x, training=False)
            return (features.float().cpu().numpy(), logits.float().cpu().numpy())

    return predict
