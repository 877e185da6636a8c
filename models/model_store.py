"""A trained model is one directory: head.keras, head.npz, manifest.json, split.json.

`head.npz` holds the same weights as plain arrays so that projecting cached
features (index, tag, evaluate) runs in NumPy without importing TensorFlow.
The directory is written beside its final place (`.<name>.XXXX`, marked with
the writer's pid) and renamed in at the end; a later save removes staging
folders whose writer is gone. Only an empty folder or a devise model is
ever replaced (core.outputs).
"""
import glob
import json
import os
import shutil
import socket
import tempfile
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from devise.core import manifest, outputs
from devise.core.atomic import write_json
from devise.core.errors import ModelError, OutputError
from devise.core.manifest import ModelManifest
from devise.models.conse import anchored_labels
from devise.models.head import HEAD_ARRAYS, apply_numpy, gated_blend
from devise.models.seen_margin import SAME_LABEL

KIND = ModelManifest.KIND
# Everything save() writes into a model folder; anything else there is the user's.
MODEL_FILES = {"head.keras", "head.npz", "manifest.json", "split.json"}
STAGING_MARK = ".devise-staging"   # in every staging folder: {"pid": ..., "host": ...} of the saving process
WEIGHTS = (*HEAD_ARRAYS, "seen_labels")


class TrainedModel:
    """Projects (features, logits) into word space: the head blended with ConSE."""

    def __init__(self, directory, data: ModelManifest, weights):
        self.directory = Path(directory)
        self.manifest = data
        self.weights = weights
        self.blend = data.blend or {"tau": 0.0, "temperature": 1.0, "alpha_seen": 1.0, "alpha_novel": 1.0}
        self.gamma = float(data.gamma)   # calibrated-stacking penalty on seen labels
        self.seen_phrases = list(data.seen_phrases)
        # Models saved before search had its own gamma search with the tagging one.
        self.search_gamma = float(self.gamma if data.search_gamma is None else data.search_gamma)
        # Models saved before label anchoring have no entry: their labels stay as they are.
        self.anchor = data.label_anchor or {"tau": 0.0}

    def recalibrated(self, name):
        """This head with what calibration `name` chose on the same folds (None if not recorded)."""
        alternative = (self.manifest.calibration or {}).get("alternatives", {}).get(name)
        if alternative is None:
            return None
        data = replace(self.manifest, label_anchor=alternative["label_anchor"], blend=alternative["blend"],
                       gamma=alternative["gamma"])
        return TrainedModel(self.directory, data, self.weights)

    @property
    def backbone(self) -> str:
        return self.manifest.backbone

    @property
    def words(self) -> str:
        return self.manifest.words

    def project(self, features, logits=None, conse=None):
        head = apply_numpy(self.weights, features)
        if conse is None or logits is None:
            return head
        return gated_blend(head, conse.project(logits), self.weights["seen_labels"], self.blend)

    def labels(self, label_vectors, conse):
        """Label vectors as this model scores them against image vectors (anchored when calibrated so)."""
        if not self.anchor.get("tau"):
            return label_vectors
        return anchored_labels(conse, label_vectors, self.anchor, self.is_seen(label_vectors))

    def is_seen(self, label_vectors):
        """Which rows of `label_vectors` are the phrases of classes the head trained on."""
        seen = self.weights["seen_labels"]
        vectors = np.asarray(label_vectors, np.float32)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return ((vectors / norms) @ seen.T).max(axis=1) > SAME_LABEL if len(seen) else np.zeros(len(vectors), bool)


def check_target(out_dir) -> Path:
    """Raise OutputError unless a model may go to `out_dir`: nothing there, an empty folder, or a devise model.

    Cheap: callers that train for minutes check before they start. A devise model folder that
    also holds files of the user's is refused too: the swap replaces the folder as a whole.
    """
    out_dir = outputs.claim_folder(out_dir, KIND)
    if out_dir.is_dir():
        foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in MODEL_FILES)
        if foreign:
            raise OutputError(f"{out_dir}: a devise model, but it also holds {', '.join(foreign[:5])}, which devise "
                              f"did not write and would remove with the old model; move them away or choose "
                              f"another --out.")
    return out_dir


def save(out_dir, keras_model, weights, split_json, **fields):
    """Write the model into a staging folder beside `out_dir`, then swap it in; returns `out_dir`."""
    out_dir = check_target(out_dir)
    old = out_dir.with_name(f".{out_dir.name}.old")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    if out_dir.exists():
        _clear_swap(old)  # now, not after the work: a swap name devise cannot use stops the save at once
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        # At once, so a run killed at any later point leaves a folder the next save can clean up.
        write_json(staging / STAGING_MARK, {"pid": os.getpid(), "host": socket.gethostname()})
        if keras_model is not None:
            keras_model.save(staging / "head.keras")
        np.savez(staging / "head.npz", **weights)
        write_json(staging / "split.json", split_json)
        ModelManifest.parse(fields, staging / "manifest.json").write(staging)
        check_target(out_dir)  # again: training takes minutes, and someone may have put files there meanwhile
        if out_dir.exists():
            _clear_swap(old)
            os.replace(out_dir, old)
            os.replace(staging, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out_dir)
        (out_dir / STAGING_MARK).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir


def remove_stale_staging(out_dir):
    """Delete the staging folders of `out_dir` left by killed saves (their process is gone), and its old swap."""
    out_dir = Path(out_dir)
    removed = []
    swap = f".{out_dir.name}.old"
    for candidate in out_dir.parent.glob(f".{glob.escape(out_dir.name)}.*"):
        if candidate.is_symlink() or not candidate.is_dir():
            continue
        if (candidate.name == swap and _devise_swap(candidate)) or _abandoned(candidate / STAGING_MARK):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def _abandoned(mark) -> bool:
    try:
        owner = json.loads(mark.read_text())
        pid, host = int(owner["pid"]), owner["host"]
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no readable mark: not provably a staging folder of devise, leave it
    if host != socket.gethostname() or os.name == "nt":  # on Windows os.kill(pid, 0) would end the process
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: alive, under another user
        return False
    return False


def _devise_swap(old) -> bool:
    """Whether `old` holds what a save moves aside: a devise model, a staging folder or nothing."""
    return old.is_dir() and not old.is_symlink() and (
        manifest.describes(manifest.peek(old), KIND) or (old / STAGING_MARK).exists() or not any(old.iterdir()))


def _clear_swap(old):
    if old.exists() or old.is_symlink():
        if not _devise_swap(old):
            raise OutputError(f"{old}: devise uses this name while it swaps in a model, but did not write what "
                              "is there; move it away yourself.")
        shutil.rmtree(old, ignore_errors=True)


def load(model_dir, words=None, backbone=None) -> TrainedModel:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: no such model directory; train one with `devise train DATA_DIR --out {model_dir}`.")
    data = ModelManifest.read(model_dir)
    data.expect(model_dir / "manifest.json", words=words, backbone=backbone)
    weights = _read_weights(model_dir / "head.npz")
    heads = data.heads
    # One head's matrices are 2-d; K averaged heads' are stacked into 3-d arrays of K.
    shapes = {name: np.shape(weights[name]) for name in ("w1", "w2")}
    if any(len(shape) != (2 if heads == 1 else 3) or (heads > 1 and shape[0] != heads) for shape in shapes.values()):
        raise ModelError(f"{model_dir}/head.npz: its matrices {shapes} are not the {heads} head(s) the manifest "
                         "names; train the model again.")
    if shapes["w2"][-1] != data.word_dim:
        raise ModelError(f"{model_dir}: head outputs {shapes['w2'][-1]}-d but manifest says {data.word_dim}-d; "
                         "retrain.")
    return TrainedModel(model_dir, data, weights)


def _read_weights(path):
    try:
        with np.load(path) as npz:
            weights = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; train the model again.") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{path}: unreadable ({reason}); train the model again.") from None
    except AttributeError:  # np.load found a plain .npy array, not an archive of arrays
        raise ModelError(f"{path}: not an archive of head weights; train the model again.") from None
    missing = [name for name in WEIGHTS if name not in weights]
    if missing:
        raise ModelError(f"{path}: lacks the arrays {', '.join(missing)}; train the model again.")
    return weights


def read_split(model_dir):
    path = Path(model_dir) / "split.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable ({exc}); train the model again.") from None
