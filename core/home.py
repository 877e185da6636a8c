"""The one home for artifacts: `--home`, else `$DEVISE_HOME`, else `~/.devise`.

Layout:
    cache/features/<backbone>.sqlite   per-file feature cache
    words/<name>/                      memory-mapped word vectors + word index
    models/<name>/                     trained heads
    indexes/<name>/                    searchable collections (CURRENT -> version)
"""
import os
from pathlib import Path

_override = None


def set_home(path):
    """Used by the CLI's `--home`; wins over the environment."""
    global _override
    _override = Path(path).expanduser() if path else None


def home() -> Path:
    if _override is not None:
        root = _override
    else:
        root = Path(os.environ.get("DEVISE_HOME") or "~/.devise").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def subdir(*parts) -> Path:
    path = home().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_root() -> Path:
    """Where Caltech-101 / CIFAR-10 live: `$DEVISE_DATASETS`, else ../shared/datasets."""
    env = os.environ.get("DEVISE_DATASETS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
