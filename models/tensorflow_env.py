"""The one way devise imports TensorFlow and Keras: quietly, unless asked to be verbose.

TensorFlow's C++ runtime writes start-up notices straight to file
descriptor 2 as its shared libraries load: absl's "All log messages before
absl::InitializeLog() is called are written to STDERR", oneDNN's numerics
notice and cpu_feature_guard's instruction-set notice, some of them
twice. TF_CPP_MIN_LOG_LEVEL=3 silences cpu_feature_guard, but the others
are printed before TensorFlow reads that variable, so they bypass it (and
Python's sys.stderr). So the import runs with descriptor 2 pointed at a
temporary file; afterwards every captured line that is not a known
start-up notice is written back to stderr, so real errors still show.

DEVISE_VERBOSE=1 (or verbose=True) imports with nothing changed or hidden.
"""
import contextlib
import importlib
import json
import os
import sys
import tempfile
import threading

VERBOSE_ENV = "DEVISE_VERBOSE"
# Known start-up notices, matched as substrings of a line.
STARTUP_NOISE = (
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "oneDNN custom operations are on",
    "This TensorFlow binary is optimized to use available CPU instructions",
    "rebuild TensorFlow with the appropriate compiler flags",
    "Could not find cuda drivers on your machine",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TF-TRT Warning: Could not find TensorRT",
    "Created TensorFlow Lite XNNPACK delegate for CPU",  # printed by the LiteRT interpreter, not the import
)

_lock = threading.Lock()


def verbose_requested(verbose=False):
    return bool(verbose) or os.environ.get(VERBOSE_ENV) == "1"


def import_tensorflow(verbose=False):
    """The `tensorflow` module, its start-up notices kept off stderr unless verbose."""
    return _import_quietly("tensorflow", verbose)


def import_keras(verbose=False):
    """The `keras` module, imported as quietly as import_tensorflow.

    TensorFlow is imported first only for the tensorflow backend (the default):
    with KERAS_BACKEND=jax or torch, TensorFlow is never imported.
    """
    if os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow":
        import_tensorflow(verbose)
    return _import_quietly("keras", verbose)


def configured_backend():
    """The Keras backend this process uses, found as Keras finds it but without importing Keras.

    $KERAS_BACKEND wins, then the "backend" of keras.json in $KERAS_HOME (else
    ~/.keras, or /tmp/.keras where the home is read-only), else tensorflow.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"].backend.backend()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    if "KERAS_HOME" in os.environ:
        folder = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        folder = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.join(os.path.expanduser(folder), "keras.json"), encoding="utf-8") as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    return backend or "tensorflow"


# The distributions that install the `tensorflow` module.
TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly")


def tensorflow_version():
    """TensorFlow's version without importing it (None when it is not installed)."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"].__version__
    import importlib.metadata  # it loads the email package: not for every command's start-up

    for name in TENSORFLOW_DISTRIBUTIONS:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _import_quietly(name, verbose):
    # Once loaded, plain import_module (it still waits for another thread's import to finish).
    if name in sys.modules or verbose_requested(verbose):
        return importlib.import_module(name)
    # Read by TensorFlow's C++ logging when it loads; a value the user set wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _lock:
        if name in sys.modules:  # another thread imported it while this one waited
            return importlib.import_module(name)
        with stderr_filtered():
            return importlib.import_module(name)


@contextlib.contextmanager
def stderr_filtered():
    """Within the block, descriptor 2 goes to a temporary file; lines not in STARTUP_NOISE are re-emitted.

    Where descriptor 2 cannot be duplicated (closed, or no file table), nothing is redirected.
    """
    _flush_stderr()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if line.strip() and not any(noise in line for noise in STARTUP_NOISE)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8"))


def _flush_stderr():
    # Python's own buffered writes must land on the descriptor they were written for.
    with contextlib.suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
