"""Embedding on Ray: a pool of actors, one backbone each, fills the feature cache.

Ray Data reads the paths still missing from the cache; each actor loads its
backbone once, decodes its batch and runs the backbone, turning unreadable
files into error rows. Results stream back to the driver, which commits every
batch to the feature cache as it arrives, so a killed job re-run embeds only
what is still missing. The actors run the same backbone code as the local
engine, so both give the same features.
"""
import importlib
import logging
import os

import numpy as np

from devise.core.errors import BadImageError, EngineError
from devise.core.progress import progress_bar
from devise.data.images import load_square

INSTALL_HINT = "pip install 'devise[ray]'"
# "module:function" the actors call with the backbone's name: backbone objects
# cannot be pickled, so each actor builds its own. Tests point it at a fake.
BACKBONE_FACTORY = "devise.models.backbones:get_backbone"
# Extra sys.path entries for the actors (where BACKBONE_FACTORY's module lives, if not installed).
WORKER_PATHS: list = []


def import_ray():
    """The `ray` module with Ray Data, or an EngineError saying how to install it."""
    try:
        import ray
        import ray.data  # the engine needs the Data library, not just the core
    except ImportError as exc:
        raise EngineError(f"--engine ray needs Ray with Ray Data: {INSTALL_HINT}") from exc
    return ray


class BackboneActor:
    """Holds one backbone for its lifetime; called with a batch of paths, returns features or errors."""

    def __init__(self, factory, name, fingerprint):
        module, function = factory.split(":")
        self.backbone = getattr(importlib.import_module(module), function)(name)
        if self.backbone.fingerprint != fingerprint:
            # The driver keys the cache by its own fingerprint: different weights must not slip in.
            raise EngineError(f"the Ray workers load backbone {self.backbone.fingerprint}, the driver "
                              f"{fingerprint}; install the same backbone weights on every node.")

    def __call__(self, batch):
        size, good, images, bad, errors = self.backbone.input_size, [], [], [], []
        for path in batch["path"]:
            try:
                images.append(load_square(str(path), size))
                good.append(str(path))
            except BadImageError as exc:
                bad.append(str(path))
                errors.append(str(exc))
        dim = self.backbone.feature_dim
        feats, logits = np.zeros((0, dim), np.float32), np.zeros((0, 1000), np.float32)
        if images:
            feats, logits = self.backbone.predict(np.stack(images))
        return {
            "path": np.array(good + bad, dtype=object),
            "features": np.concatenate([np.asarray(feats, np.float32), np.zeros((len(bad), dim), np.float32)]),
            # The cache keeps logits as float16 anyway: converting here halves what travels back.
            "logits": np.concatenate([np.asarray(logits, np.float16), np.zeros((len(bad), 1000), np.float16)]),
            "error": np.array([""] * len(good) + errors, dtype=object),
        }


def _start(ray, address, workers):
    """Connect to `address`, or start a quiet local Ray; True when this call started (and must stop) it."""
    if ray.is_initialized():
        return False  # the caller's own session: use it and leave it running
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(num_cpus=workers, **quiet)
    except Exception as exc:  # connection and start-up failures surface as assorted types
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise EngineError(f"could not start {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}.") \
            from exc
    return True


def embed_into_cache_ray(todo, backbone, cache, batch_size=64, workers=None, address=None, progress=True):
    """Embed the paths in `todo` on a pool of `workers` Ray actors, storing each batch in `cache`."""
    ray = import_ray()
    workers = workers or os.cpu_count() or 1
    started = _start(ray, address, workers)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the driver draws its own bar on stderr
        logging.getLogger("ray.data").setLevel(logging.ERROR)  # no execution plans or notices on stderr
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join([*WORKER_PATHS, os.environ.get("PYTHONPATH", "")])}} \
            if WORKER_PATHS else None
        data = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=-(-len(todo) // batch_size))
        results = data.map_batches(
            BackboneActor, fn_constructor_args=(BACKBONE_FACTORY, backbone.name, backbone.fingerprint),
            batch_size=batch_size, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=1,
            **({"runtime_env": env} if env else {}))
        with progress_bar(len(todo), "embedding", enabled=progress) as bar:
            for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                cache.store((str(p), None, None, e) if e else (str(p), f, lg, None)
                            for p, f, lg, e in zip(batch["path"], batch["features"], batch["logits"], batch["error"]))
                bar.update(len(batch["path"]))
    except EngineError:
        raise
    except Exception as exc:  # Ray wraps worker failures in its own types; keep the message to one line
        cause = getattr(exc, "cause", None) or exc
        raise EngineError(f"the Ray embedding job failed: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}") \
            from exc
    finally:
        if started:
            ray.shutdown()
