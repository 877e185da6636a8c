"""Write one complete index version and publish it.

Shared by the image indexer and by edits (removing items, adding fields),
which rebuild from the stored vectors instead of re-embedding images.
Every file is recorded in the manifest with the SHA-1 of all its bytes
(core.integrity), which readers check before they use it.
"""
import os
import sys
import time

import numpy as np

from devise.core import atomic, integrity, manifest
from devise.core.errors import SearchIndexError
from devise.core.vectors import unit_rows
from devise.index import ann, layout, tuning
from devise.index import items as items_file

KIND = "index"
WORDS_ANN, FEATURES_ANN = "words.ann", "features.ann"
WORDS_NPY, FEATURES_NPY = "vectors_words.npy", "features.npy"
# Each image's TOP_K most probable ImageNet-1k classes under the backbone (int16) and their softmax
# probabilities (float16): any WordNet category's probability mass is then a sparse sum (search.categories).
TOP_CLASSES_NPY, TOP_PROBS_NPY = "imagenet_top_classes.npy", "imagenet_top_probs.npy"
TOP_K = 20
TOMBSTONES = "tombstones.json"
ARRAYS = (WORDS_NPY, FEATURES_NPY, WORDS_ANN, FEATURES_ANN)
OPTIONAL = (TOP_CLASSES_NPY, TOP_PROBS_NPY)  # absent from indexes built before them
CHECKED = ARRAYS + (items_file.ITEMS, items_file.OFFSETS, TOMBSTONES)
REINDEX = "re-index the folder with `devise index`"


def _linked(source, version):
    """Hard-link the arrays of version `source` into `version`; their records, checked, carry over."""
    recorded = manifest.read(source, KIND, SearchIndexError)
    files = recorded.get("files") if isinstance(recorded.get("files"), dict) else {}
    present = ARRAYS + tuple(f for f in OPTIONAL if f in files)
    for filename in present:
        # Checked before they are linked: a record must never vouch for bytes that changed since.
        integrity.check(source / filename, files.get(filename), error=SearchIndexError, fix=REINDEX)
        os.link(source / filename, version / filename)
    search = recorded.get("search") if isinstance(recorded.get("search"), dict) else {}
    method = search.get("method")
    return {f: files[f] for f in present}, method if method in tuning.METHODS else "auto"


def top_classes(logits, k=TOP_K):
    """([N, k] int16 class indices, [N, k] float16 softmax probabilities), most probable first."""
    logits = np.asarray(logits, np.float32)
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = z / z.sum(axis=1, keepdims=True)
    k = min(k, probs.shape[1])
    top = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(-np.take_along_axis(probs, top, axis=1), axis=1), axis=1)
    return top.astype(np.int16), np.take_along_axis(probs, top, axis=1).astype(np.float16)


def write_version(name, vectors, features, items, tombstones=(), trees=None, seed=tuning.SEED,
                  link_arrays_from=None, make_default=True, progress=False, method=None, top=None, **fields):
    """Build `<name>/v-...` from unit word-space `vectors`, unit `features` and `items`, then swap it in.

    `top`: (classes, probabilities) from top_classes, one row per item, or
    None to write an index without them (category search then falls back).
    `link_arrays_from`: a version whose vectors and .ann files are reused as
    they are (hard links), when only the item metadata changes.
    `method`: "auto" (exact search below tuning.EXACT_BELOW, else Annoy),
    "annoy" or "exact"; None keeps the linked version's, else "auto".
    """
    count = len(items)
    if count == 0:
        raise SearchIndexError(f"index {name!r}: no images left to index.")
    trees = int(trees or tuning.DEFAULT_TREES)
    version = layout.new_version(name)
    try:
        files, fresh = {}, [items_file.ITEMS, items_file.OFFSETS, TOMBSTONES]
        if link_arrays_from is not None:
            files, linked_method = _linked(link_arrays_from, version)
            method = method or linked_method
        else:
            fresh += list(ARRAYS)
            vectors, features = unit_rows(vectors), unit_rows(features)
            if vectors.shape[0] != count or features.shape[0] != count:
                raise ValueError("vectors, features and items disagree in length")
            atomic.save_npy(version / WORDS_NPY, vectors)
            atomic.save_npy(version / FEATURES_NPY, features)
            if top is not None:
                if len(top[0]) != count or len(top[1]) != count:
                    raise ValueError("ImageNet top classes and items disagree in length")
                atomic.save_npy(version / TOP_CLASSES_NPY, np.asarray(top[0], np.int16))
                atomic.save_npy(version / TOP_PROBS_NPY, np.asarray(top[1], np.float16))
                fresh += list(OPTIONAL)
            start = time.perf_counter()
            for target, matrix in ((WORDS_ANN, vectors), (FEATURES_ANN, features)):
                if progress:
                    print(f"building {target}: {count} x {matrix.shape[1]}-d, {trees} trees ...", file=sys.stderr)
                ann.build_annoy(matrix, version / target, trees, seed)
            if progress:
                print(f"built the Annoy indexes in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        items_file.write(version, items)
        atomic.write_json(version / TOMBSTONES, {"paths": sorted(set(tombstones))})
        word_dim, feature_dim = (int(np.load(version / f, mmap_mode="r").shape[1]) for f in (WORDS_NPY, FEATURES_NPY))
        method = method or "auto"
        (mode, reason), features_mode = (tuning.choose_mode(count, dim, method) for dim in (word_dim, feature_dim))
        files.update(integrity.seal(version, fresh))
        data = manifest.write(
            version, KIND, name=name, version=version.name,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            word_dim=word_dim, feature_dim=feature_dim, metric=ann.METRIC, n_trees=trees, seed=int(seed),
            # "mode"/"reason": the word space (text search); "features": image-to-image search.
            search={"method": method, "mode": mode, "reason": reason, "search_k": tuning.search_k_rule(word_dim),
                    "features": {"mode": features_mode[0], "reason": features_mode[1],
                                 "search_k": tuning.search_k_rule(feature_dim)}},
            count=count, files={f: files[f] for f in CHECKED + OPTIONAL if f in files}, **fields)
    except BaseException:
        layout.discard(version)
        raise
    layout.publish(name, version, make_default)
    return version, data
