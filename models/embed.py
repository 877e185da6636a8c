"""Batched feature extraction into a resumable cache, on any engine.

The engine (devise.engines) runs the backbone over what the cache lacks and
commits every batch as soon as it is embedded; this module reads the cache
first and assembles the result in input order.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from devise.core.progress import warn
from devise.data.feature_cache import FeatureCache
from devise.engines.base import Engine
from devise.engines.local import LocalEngine
from devise.models import backbones
from devise.models.backbones.preprocessing import recipe_for

LOCAL = LocalEngine()


@dataclass
class Embedded:
    paths: list                  # images embedded successfully, in input order
    features: np.ndarray         # [N, feature_dim] float32
    logits: np.ndarray           # [N, 1000] float32 ImageNet logits
    bad: list = field(default_factory=list)  # (path, message)
    computed: int = 0            # how many were embedded now rather than read from the cache


def embed_paths(paths, backbone=None, batch_size=64, progress=True, warn_bad=True,
                engine: Engine = LOCAL) -> Embedded:
    """Embed every path (absolute or relative), reading fresh entries from the cache.

    engine: where the backbone runs, e.g. engines.local.LocalEngine(workers=4) (decoding
    threads feeding this process's backbone) or engines.ray_engine.RayEngine(workers=8) (a pool
    of Ray actors); both fill the same feature cache.
    """
    engine.check()  # before loading the backbone, not after
    if backbone is None or isinstance(backbone, str):
        backbone = backbones.get_backbone(backbone or backbones.DEFAULT_BACKBONE)
    paths = [os.path.abspath(p) for p in paths]
    cache = FeatureCache(backbone.fingerprint, recipe_id=recipe_for(backbone).id)
    try:
        known = cache.lookup(paths)
        todo = [p for p in paths if p not in known]
        if todo and getattr(backbone, "members", None):
            todo = _join_members(todo, backbone, cache, known)
        if todo:
            known.update(engine.embed_into_cache(todo, backbone, cache, batch_size=batch_size, progress=progress))
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
    entries = joined_from_members(todo, backbone)
    if entries:
        cache.store(entries)
        known.update(cache.lookup([entry[0] for entry in entries]))
    return [p for p in todo if p not in known]


def joined_from_members(paths, backbone) -> list:
    """Cache entries for the ensemble's `paths` that every member has cached already (features
    joined, logits averaged, as `predict` would give); failures a member recorded stay failures."""
    found = []
    for member in backbone.members:
        with FeatureCache(member.fingerprint, recipe_id=recipe_for(member).id) as cache:
            found.append(cache.lookup(paths))
    entries = []
    for path in paths:
        rows = [known.get(path) for known in found]
        if any(row is None for row in rows):
            continue
        failed = [row for row in rows if isinstance(row, str)]
        if failed:
            entries.append((path, None, None, failed[0]))
        else:
            entries.append((path, np.concatenate([np.asarray(r[0], np.float32) for r in rows]),
                            np.mean([np.asarray(r[1], np.float32) for r in rows], axis=0), None))
    return entries
