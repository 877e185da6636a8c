"""Batched feature extraction with parallel decoding and a resumable cache.

Decoding runs in a thread pool (Pillow releases the GIL while decoding)
ahead of the backbone, so the CPU spends its time in the model. Every batch
is committed to the feature cache as soon as it is embedded.
"""
import collections
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from devise.core.errors import BadImageError, EngineError, UnreadableFileError
from devise.core.progress import progress_bar, warn
from devise.data.feature_cache import FeatureCache
from devise.models.backbones.preprocessing import recipe_for


@dataclass
class Embedded:
    paths: list                  # images embedded successfully, in input order
    features: np.ndarray         # [N, feature_dim] float32
    logits: np.ndarray           # [N, 1000] float32 ImageNet logits
    bad: list = field(default_factory=list)  # (path, message)
    computed: int = 0            # how many were embedded now rather than read from the cache


def _decode(path, recipe):
    try:
        return recipe.load(path)
    except BadImageError as exc:
        return exc


ENGINES = ("local", "ray")


def check_engine(engine):
    """Raise EngineError for an unknown engine, or for "ray" without Ray installed (saying what to install)."""
    if engine not in ENGINES:
        raise EngineError(f"engine {engine!r}: use one of {', '.join(ENGINES)}.")
    if engine == "ray":
        from devise.models.ray_engine import import_ray

        import_ray()


def embed_paths(paths, backbone=None, batch_size=64, workers=None, progress=True, warn_bad=True,
                engine="local", address=None, gpus_per_worker=0.0) -> Embedded:
    """Embed every path (absolute or relative), reading fresh entries from the cache.

    engine: "local" (decoding threads feeding this process's backbone) or
    "ray" (a pool of `workers` Ray actors, on a local Ray or the cluster at
    `address`, each given `gpus_per_worker` GPUs); both fill the same feature cache.
    """
    from devise.models.backbones import DEFAULT_BACKBONE, get_backbone

    check_engine(engine)  # before loading the backbone, not after
    if gpus_per_worker and engine != "ray":
        raise EngineError("gpus_per_worker needs engine 'ray'; the local engine runs where this process runs.")
    if backbone is None or isinstance(backbone, str):
        backbone = get_backbone(backbone or DEFAULT_BACKBONE)
    paths = [os.path.abspath(p) for p in paths]
    cache = FeatureCache(backbone.fingerprint, recipe_id=recipe_for(backbone).id)
    try:
        known = cache.lookup(paths)
        todo = [p for p in paths if p not in known]
        if todo and getattr(backbone, "members", None):
            todo = _join_members(todo, backbone, cache, known)
        if todo and engine == "ray":
            from devise.models.ray_engine import embed_into_cache_ray

            embed_into_cache_ray(todo, backbone, cache, batch_size, workers, address, progress, gpus_per_worker)
        elif todo:
            unreadable = _embed_into_cache(todo, backbone, cache, batch_size, workers or min(4, os.cpu_count() or 2),
                                           progress)
            known.update(unreadable)
        if todo:
            known.update(cache.lookup(todo))
    finally:
        cache.close()
    good, feats, logits, bad = [], [], [], []
    for p in paths:
        entry = known.get(p)
        if entry is None:
            bad.append((p, f"{p}: vanished while embedding; skipped."))
        elif isinstance(entry, str):
            bad.append((p, entry))
        else:
            good.append(p)
            feats.append(entry[0])
            logits.append(entry[1])
    if warn_bad:
        for _, message in bad:
            warn(message)
    dim = backbone.feature_dim
    return Embedded(
        good,
        np.stack(feats).astype(np.float32) if feats else np.zeros((0, dim), np.float32),
        np.stack(logits).astype(np.float32) if logits else np.zeros((0, 1000), np.float32),
        bad,
        sum(1 for p in todo if not isinstance(known.get(p, ""), str)),  # files that failed were not embedded
    )


def _join_members(todo, backbone, cache, known):
    """An ensemble takes the rows its members have all cached already; returns what is still to embed."""
    from devise.models.backbones.ensemble import joined_from_members

    entries = joined_from_members(todo, backbone)
    if entries:
        cache.store(entries)
        known.update(cache.lookup([entry[0] for entry in entries]))
    return [p for p in todo if p not in known]


def _embed_into_cache(todo, backbone, cache, batch_size, workers, show):
    """Embed `todo` into the cache; returns {path: message} for the files that could not be opened.

    Those are not cached: making a file readable changes neither its size nor its mtime.
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
