"""The one home for artifacts: `--home`, else `$DEVISE_HOME`, else `~/.devise`.

Layout:
    cache/features/<backbone>.sqlite   per-file feature cache
    cache/outputs.sqlite               files devise wrote outside its home (core.outputs)
    cache/verified.json                files already checked against their checksums
    words/<name>/                      memory-mapped word vectors + word index
    models/<name>/                     trained heads
    indexes/<name>/                    searchable collections (CURRENT -> version)
"""
import os
from pathlib import Path

from devise.core.errors import DataError

# Kernel views, not storage: a write there is refused at best, and under
# /sys/fs/cgroup a mkdir creates a control group.
VIRTUAL = (Path("/proc"), Path("/sys"))
HOME_ENV = "DEVISE_HOME"
HINT = f"set --home or {HOME_ENV} to a folder devise can write to"

_override = None


def set_home(path):
    """Used by the CLI's `--home`; wins over the environment."""
    global _override
    _override = Path(path) if path else None


def _refuse_virtual(root):
    real = Path(os.path.realpath(root))
    for base in VIRTUAL:
        if real == base or base in real.parents:
            raise DataError(f"{root}: {base} is a view of the kernel, not storage, so it cannot hold the devise home; "
                            f"{HINT}.")


def _make(path, root):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise DataError(f"{path}: is a file, where the devise home needs a folder; {HINT}.") from None
    except NotADirectoryError:
        raise DataError(f"{root}: a part of this path is a file, not a folder, so it cannot be the devise home; "
                        f"{HINT}.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be created ({exc.strerror or exc}); {HINT}.") from None


def home() -> Path:
    given = _override if _override is not None else Path(os.environ.get(HOME_ENV) or "~/.devise")
    try:
        root = given.expanduser()
    except RuntimeError as exc:  # "~user" for a user that does not exist
        raise DataError(f"{given}: {exc}; {HINT}.") from None
    _refuse_virtual(root)
    _make(root, root)
    return root


def subdir(*parts) -> Path:
    root = home()
    path = root.joinpath(*parts)
    _make(path, root)
    return path


def datasets_root() -> Path:
    """Where Caltech-101 / CIFAR-10 live: `$DEVISE_DATASETS`, else ../shared/datasets."""
    env = os.environ.get("DEVISE_DATASETS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"
