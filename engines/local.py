"""The local engine: decoding threads feeding this process's backbone, and one pipeline in this process."""
from __future__ import annotations

import collections
import contextlib
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from devise.core.errors import BadImageError, UnreadableFileError
from devise.core.progress import progress_bar
from devise.generation.pipeline import label, load_pipeline, run_batch
from devise.models.backbones.preprocessing import recipe_for


@dataclass(frozen=True)
class LocalEngine:
    """Everything in this process; `workers` decoding threads (default: up to 4) feed the backbone."""
    workers: int | None = None
    name = "local"

    def check(self):
        """Nothing to install: the local engine needs only what devise needs."""

    def embed_into_cache(self, todo, backbone, cache, *, batch_size, progress):
        threads = self.workers or min(4, os.cpu_count() or 2)
        return _embed_into_cache(todo, backbone, cache, batch_size, threads, progress)

    def check_pipelines(self, device, loaded=None):
        """Every device and dtype is the pipeline's to refuse."""

    @contextlib.contextmanager
    def pipelines(self, model, device, dtype, *, loaded=None, notice=True):
        yield LocalRunner(loaded or load_pipeline(model, device, dtype))


@dataclass
class LocalRunner:
    """The pipeline in this process; engines.ray_generate.RayRunner is the same over Ray actors."""
    pipe: object
    workers: int = 1

    @property
    def device(self):
        return label(getattr(self.pipe, "device", None))

    @property
    def dtype(self):
        return label(getattr(self.pipe, "dtype", None))

    def results(self, jobs):
        return (run_batch(self.pipe, *job) for job in jobs)


def _decode(path, recipe):
    try:
        return recipe.load(path)
    except BadImageError as exc:
        return exc


def _embed_into_cache(todo, backbone, cache, batch_size, workers, show):
    """Embed `todo` into the cache; returns {path: message} for the files that could not be opened.

    Those are not cached: making a file readable changes neither its size nor its mtime.
    Decoding runs in a thread pool (Pillow releases the GIL while decoding) ahead of
    the backbone, so the CPU spends its time in the model.
    """
    recipe = recipe_for(backbone)
    unreadable = {}
    lookahead = batch_size * 2
    with ThreadPoolExecutor(workers) as pool, progress_bar(len(todo), "embedding", enabled=show) as bar:
        pending = collections.deque()
        feed = iter(todo)
        for path in itertools.islice(feed, lookahead):
            pending.append((path, pool.submit(_decode, path, recipe)))
        batch, errors = [], []
        while pending:
            path, future = pending.popleft()
            nxt = next(feed, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_decode, nxt, recipe)))
            result = future.result()
            if isinstance(result, UnreadableFileError):
                unreadable[path] = str(result)
                bar.update(1)
            elif isinstance(result, Exception):
                errors.append((path, None, None, str(result)))
            else:
                batch.append((path, result))
            if len(batch) == batch_size or (not pending and batch):
                feats, logits = backbone.predict(np.stack([arr for _, arr in batch]))
                cache.store([(p, f, lg, None) for (p, _), f, lg in zip(batch, feats, logits)] + errors)
                bar.update(len(batch) + len(errors))
                batch, errors = [], []
        if errors:
            cache.store(errors)
            bar.update(len(errors))
    return unreadable
