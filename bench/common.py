"""Helpers shared by the benchmarks: dataset roots and stable subset folders."""
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: label maps and docs live here
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DATA_ROOT = Path(os.environ.get("DEVISE_DATASETS", ROOT.parent / "shared" / "datasets"))


def subset_folder(src, per_class, name):
    """A folder of symlinks to the first `per_class` images of each class, under DEVISE_HOME.

    It lives at a stable path, so the feature cache (keyed by path) is reused between runs.
    """
    from devise.core.home import subdir

    dst = subdir("bench", f"{name}-{per_class}")
    for cls in sorted(os.listdir(src)):
        if not (Path(src) / cls).is_dir():
            continue
        (dst / cls).mkdir(exist_ok=True)
        for fname in sorted(os.listdir(Path(src) / cls))[:per_class]:
            link = dst / cls / fname
            if not link.exists():
                link.symlink_to(Path(src, cls, fname).resolve())
    return dst


def cold_home(converted, prefix):
    """A new, empty devise home (a cold feature cache) holding a copy of `converted`, the folder of
    converted backbones: a user converts once per install, so a timed run should not."""
    fresh = Path(tempfile.mkdtemp(prefix=prefix))
    if Path(converted).is_dir():
        shutil.copytree(converted, fresh / "cache" / "tflite")
    return fresh
