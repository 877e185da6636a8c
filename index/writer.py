"""Write one complete index version into its store and publish it.

Shared by the image indexer and by edits (removing items, adding fields),
which rebuild from the stored vectors instead of re-embedding images. The
version directory always holds the manifest and the tombstones; the store
(index.stores) holds the vectors and items: files beside them (Annoy, the
default) or a Milvus collection. Every file is recorded in the manifest with
the SHA-1 of all its bytes (core.integrity), which readers check before use.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from devise.core import atomic, integrity
from devise.core.errors import SearchIndexError
from devise.core.index_manifest import IndexManifest
from devise.core.vectors import unit_rows
from devise.index import ann, layout, stores, tuning
from devise.index.stores.annoy import FEATURES_ANN, FEATURES_NPY, WORDS_ANN, WORDS_NPY  # noqa: F401 (their home)

KIND = "index"
TOMBSTONES = "tombstones.json"
REINDEX = "re-index the folder with `devise index`"
# Each image's TOP_K most probable ImageNet-1k classes under the backbone (int16) and their softmax
# probabilities (float16), kept beside the manifest whatever the store: any WordNet category's
# probability mass is then a sparse sum (search.categories).
TOP_CLASSES_NPY, TOP_PROBS_NPY = "imagenet_top_classes.npy", "imagenet_top_probs.npy"
TOP_K = 20
OPTIONAL = (TOP_CLASSES_NPY, TOP_PROBS_NPY)  # absent from indexes built before them


def top_classes(logits: npt.ArrayLike, k: int = TOP_K) -> tuple[np.ndarray, np.ndarray]:
    """([N, k] int16 class indices, [N, k] float16 softmax probabilities), most probable first."""
    logits = np.asarray(logits, np.float32)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    k = min(k, probs.shape[1])
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(probs, top, axis=1), axis=1), axis=1)
    return top.astype(np.int16), np.take_along_axis(probs, top, axis=1).astype(np.float16)


def _imagenet_top(version, top, count, source):
    """Write the top-class arrays (or, for an edit that keeps the rows, link them from version `source`);
    returns their file records, {} for an index without them."""
    names = []
    if source is not None:
        recorded = IndexManifest.read(source).files
        for filename in OPTIONAL:
            if filename in recorded:
                # Checked before they are linked: a record must never vouch for bytes that changed since.
                integrity.check(source / filename, recorded[filename], error=SearchIndexError, fix=REINDEX)
                os.link(source / filename, version / filename)
                names.append(filename)
    elif top is not None:
        if len(top[0]) != count or len(top[1]) != count:
            raise ValueError("ImageNet top classes and items disagree in length")
        atomic.save_npy(version / TOP_CLASSES_NPY, np.asarray(top[0], np.int16))
        atomic.save_npy(version / TOP_PROBS_NPY, np.asarray(top[1], np.float16))
        names = list(OPTIONAL)
    return integrity.seal(version, names) if names else {}


def _linked_facts(source):
    """(store record, method) of version `source`, whose rows an edit carries over."""
    recorded = IndexManifest.read(source)
    return recorded.store, recorded.method if recorded.method in tuning.METHODS else "auto"


def write_version(name: str, vectors: np.ndarray | None, features: np.ndarray | None,
                  items: list[dict[str, Any]], tombstones: Iterable[str] = (), trees: int | None = None,
                  seed: int = tuning.SEED, link_arrays_from: Path | None = None, make_default: bool = True,
                  progress: bool = False, method: str | None = None, store: dict[str, Any] | None = None,
                  top: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
                  ray: dict[str, Any] | None = None, **fields: Any) -> tuple[Path, IndexManifest]:
    """Build `<name>/v-...` from unit word-space `vectors`, unit `features` and `items`, then swap it in.

    `link_arrays_from`: a version whose vectors (and Annoy files) are reused
    as they are, when only the item metadata changes; items then name their
    row there by "id" (kept order). `method`: "auto" (exact search below
    tuning.EXACT_BELOW, else approximate), "annoy" or "exact"; None keeps the
    linked version's, else "auto". `store`: {"kind": "annoy"} (the default)
    or {"kind": "milvus", "uri": ...}; None keeps the linked version's.
    `top`: (classes, probabilities) from top_classes, one row per item, or
    None for an index without them (category search then falls back).
    `ray`: {"address", "workers"} when the images were embedded on Ray (a Milvus server store then
    takes its rows from Ray actors), else None.
    """
    count = len(items)
    if count == 0:
        raise SearchIndexError(f"index {name!r}: no images left to index.")
    trees = int(trees or tuning.DEFAULT_TREES)
    if link_arrays_from is not None:
        linked_store, linked_method = _linked_facts(link_arrays_from)
        store, method = store or linked_store, method or linked_method
    out = stores.writer_for(store, name, ray)
    if link_arrays_from is None:
        if vectors is None or features is None:
            raise ValueError("vectors and features are needed unless link_arrays_from names their version")
        vectors, features = unit_rows(vectors), unit_rows(features)
        if vectors.shape[0] != count or features.shape[0] != count:
            raise ValueError("vectors, features and items disagree in length")
        dims = {"words": int(vectors.shape[1]), "features": int(features.shape[1])}
    else:
        linked = IndexManifest.read(link_arrays_from)
        dims = {"words": linked.word_dim, "features": linked.feature_dim}
    method = method or "auto"
    modes = out.modes(count, dims, method)
    version = layout.new_version(name)
    written = None
    try:
        written = out.write(version, vectors, features, items, source=link_arrays_from, trees=trees, seed=seed,
                            progress=progress, modes=modes)
        atomic.write_json(version / TOMBSTONES, {"paths": sorted(set(tombstones))})
        files = {**written["files"], **_imagenet_top(version, top, count, link_arrays_from),
                 **integrity.seal(version, [TOMBSTONES])}
        (mode, reason), features_mode = modes["words"], modes["features"]
        data = IndexManifest.parse(dict(
            name=name, version=version.name,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            word_dim=dims["words"], feature_dim=dims["features"], metric=ann.METRIC, n_trees=trees, seed=int(seed),
            # "mode"/"reason": the word space (text search); "features": image-to-image search.
            search={"method": method, "mode": mode, "reason": reason, "search_k": tuning.search_k_rule(dims["words"]),
                    "features": {"mode": features_mode[0], "reason": features_mode[1],
                                 "search_k": tuning.search_k_rule(dims["features"])}},
            count=count, files=files, store=written["store"], **fields), version / "manifest.json")
        data.write(version)
        out.switch(name, version, written["store"])
    except BaseException:
        if written is not None:
            out.discard(written["store"])
        layout.discard(version)
        raise
    previous = layout.publish(name, version, make_default)
    out.sweep(name, [written["store"], _store_of(previous)])
    return version, data


def _store_of(version_dir):
    """The store record of a kept version, or None (no previous version, or an unreadable one)."""
    if version_dir is None:
        return None
    try:
        return IndexManifest.read(version_dir).store
    except SearchIndexError:
        return None
