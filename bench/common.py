"""Helpers shared by the benchmarks: dataset roots, stable subset folders and throwaway homes."""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: label maps and docs live here
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DATA_ROOT = Path(os.environ.get("DEVISE_DATASETS", ROOT.parent / "shared" / "datasets"))


def subset_folder(src, per_class, name, exclude=()):
    """A folder of symlinks to the first `per_class` images (None: all) of each class not in `exclude`, under DEVISE_HOME.

    It lives at a stable path, so the feature cache (keyed by path) is reused between runs.
    """
    from devise.core.home import subdir
    from devise.data.datasets import subset_folder as link_subset

    return link_subset(src, per_class, subdir("bench", f"{name}-{per_class or 'all'}"), exclude=exclude)


@contextlib.contextmanager
def cold_home(prefix, converted=None):
    """A new, empty devise home (a cold feature cache), current while the block runs, removed after.

    It holds a copy of `converted`, the folder of converted backbones, if given:
    a user converts once per install, so a timed run should not.
    """
    from devise.core.home import home, set_home

    previous, fresh = home(), Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if converted is not None and Path(converted).is_dir():
            shutil.copytree(converted, fresh / "cache" / "tflite")
        set_home(fresh)
        yield fresh
    finally:
        set_home(previous)
        shutil.rmtree(fresh, ignore_errors=True)
