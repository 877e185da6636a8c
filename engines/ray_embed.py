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
import sys
import warnings

import numpy as np

from devise.core.errors import BadImageError, EngineError, option
from devise.core.home import HOME_ENV, home
from devise.core.progress import progress_bar
from devise.engines.ray_runtime import import_ray, job_error, ray_session
from devise.models.backbones.preprocessing import load_input
from devise.models.backbones.runtimes import INVOKE_ENV, RUNTIME_ENV, THREADS_ENV, keras_backend

# "module:function" the actors call with the backbone's name: backbone objects
# cannot be pickled, so each actor builds its own. Tests point it at a fake.
BACKBONE_FACTORY = "devise.models.backbones:get_backbone"
# Extra sys.path entries for the actors (where BACKBONE_FACTORY's module lives, if not installed).
WORKER_PATHS: list = []


class BackboneActor:
    """Holds one backbone for its lifetime; called with a batch of paths, returns features or errors."""

    def __init__(self, factory, name, fingerprint, env, paths):
        # Set here rather than as a Ray runtime_env: an actor with a runtime_env needs a fresh
        # worker process (about half a second more at start-up), while this one can take an idle one.
        # The actor's process ends with the actor, so nothing else sees these settings.
        os.environ.update(env)
        sys.path[:0] = [p for p in paths if p not in sys.path]
        if _given_gpus() and not os.environ.get(RUNTIME_ENV) and keras_backend() == "tensorflow":
            # TFLite, TensorFlow's default runtime here, runs on the CPU only; its Keras graph runs
            # on the GPU Ray gave this actor. The jax and torch runtimes find the GPU themselves.
            os.environ[RUNTIME_ENV] = "keras"
        module, function = factory.split(":")
        self.backbone = getattr(importlib.import_module(module), function)(name)
        if self.backbone.fingerprint != fingerprint:
            # The driver keys the cache by its own fingerprint: different weights must not slip in.
            raise EngineError(f"the Ray workers load backbone {self.backbone.fingerprint}, the driver "
                              f"{fingerprint}; install the same backbone weights on every node.")

    def __call__(self, batch):
        good, images, bad, errors = [], [], [], []
        for path in batch["path"]:
            try:
                images.append(load_input(str(path), self.backbone))
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


def _given_gpus():
    """Whether Ray gave the calling actor any GPU."""
    return bool(import_ray().get_gpu_ids())


def _check_gpus(ray, gpus_per_worker, actors):
    """An EngineError now, rather than actors that wait for ever, when the cluster lacks the GPUs asked for."""
    have = ray.cluster_resources().get("GPU", 0)
    if gpus_per_worker * actors > have:
        raise EngineError(f"{option('gpus_per_worker', _number(gpus_per_worker))} for {actors} worker(s) needs "
                          f"{gpus_per_worker * actors:g} GPU(s); the Ray cluster has {have:g}: "
                          f"lower --gpus-per-worker or --workers.")


def _actor_env(workers, local):
    """Environment for the actors: the devise home, $DEVISE_INVOKE_BATCH if set, and on a local Ray
    each actor's share of the cores.

    The home is the driver's (--home included): the actors load the backbone's
    converted model from it, or convert and cache it there. On a cluster that
    path is used on every node, like the image paths.
    """
    env = {HOME_ENV: str(home())}
    if os.environ.get(INVOKE_ENV):  # the driver's setting travels, as the home does
        env[INVOKE_ENV] = os.environ[INVOKE_ENV]
    if local and not os.environ.get(THREADS_ENV):
        # Each backbone would otherwise start one thread per core: two actors on two cores would run four.
        env[THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // workers))
    return env


def _map_batches(data, local, fn, **options):
    """`data.map_batches`; on a local Ray, without actor restarts.

    Ray Data restarts actors for ever by default, which matters on a cluster,
    where nodes come and go; there Ray's core also prints an error line for
    each actor (ray-project/ray#57733). On one machine a dead actor means a
    dead machine, so restarts are off and the line is not printed. A job
    stopped by a lost actor keeps every batch already committed: a re-run
    finishes it.
    """
    if not local:
        return data.map_batches(fn, **options)
    try:
        with warnings.catch_warnings():
            # Ray 2.60 names no parameter for it yet and calls the extra keyword deprecated.
            warnings.simplefilter("ignore", DeprecationWarning)
            return data.map_batches(fn, max_restarts=0, **options)
    except TypeError:  # a Ray that no longer takes it: its default, and the line, then
        return data.map_batches(fn, **options)


def embed_into_cache_ray(todo, backbone, cache, batch_size=64, workers=None, address=None, progress=True,
                         gpus_per_worker=0.0):
    """Embed the paths in `todo` on a pool of `workers` Ray actors, storing each batch in `cache`.

    gpus_per_worker: GPUs Ray reserves for each actor (a fraction shares one GPU between actors).
    """
    workers = workers or os.cpu_count() or 1
    if gpus_per_worker < 0:
        raise EngineError(f"{option('gpus_per_worker', _number(gpus_per_worker))}: use 0 or more GPUs per worker.")
    import_ray()  # the install hint before anything else
    try:
        with ray_session(address, workers, notice=progress) as ray:
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # the driver draws its own bar on stderr
            logging.getLogger("ray.data").setLevel(logging.ERROR)  # no execution plans or notices on stderr
            settings = (_actor_env(workers, local=not address), list(WORKER_PATHS))
            blocks = -(-len(todo) // batch_size)
            actors = min(workers, blocks)  # no more than blocks: an idle actor only costs a backbone load
            if gpus_per_worker:
                _check_gpus(ray, gpus_per_worker, actors)
            data = ray.data.from_items([{"path": p} for p in todo], override_num_blocks=blocks)
            # batch_size=None: each block (at most batch_size paths) is one batch; a batch_size
            # a little above the block size would make every batch two blocks, half as many tasks.
            # Ray Data wants an explicit batch size with GPUs: the block size keeps one block a batch.
            gpus = {"num_gpus": gpus_per_worker, "batch_size": batch_size} if gpus_per_worker else {"batch_size": None}
            results = _map_batches(
                data, not address, BackboneActor,
                fn_constructor_args=(BACKBONE_FACTORY, backbone.name, backbone.fingerprint, *settings),
                batch_format="numpy", num_cpus=1, compute=ray.data.ActorPoolStrategy(size=actors), **gpus)
            with progress_bar(len(todo), "embedding", enabled=progress) as bar:
                for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                    cache.store((str(p), None, None, e) if e else (str(p), f, lg, None) for p, f, lg, e
                                in zip(batch["path"], batch["features"], batch["logits"], batch["error"]))
                    bar.update(len(batch["path"]))
    except EngineError:
        raise
    except Exception as exc:
        raise job_error(exc, "embedding") from exc


def _number(value):
    """1.0 as 1 and 0.5 as 0.5: how a user would have typed the option."""
    return int(value) if float(value).is_integer() else value
