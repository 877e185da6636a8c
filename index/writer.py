"""Write one complete index version and publish it.

Shared by the image indexer and by edits (removing items, adding fields),
which rebuild from the stored vectors instead of re-embedding images.
"""
import os
import sys
import time

import numpy as np

from devise.core import atomic, manifest
from devise.core.errors import SearchIndexError
from devise.core.vectors import unit_rows
from devise.index import ann, layout, tuning
from devise.index import items as items_file

KIND = "index"
WORDS_ANN, FEATURES_ANN = "words.ann", "features.ann"
WORDS_NPY, FEATURES_NPY = "vectors_words.npy", "features.npy"
TOMBSTONES = "tombstones.json"
ARRAYS = (WORDS_NPY, FEATURES_NPY, WORDS_ANN, FEATURES_ANN)
CHECKED = ARRAYS + (items_file.ITEMS, items_file.OFFSETS, TOMBSTONES)


def write_version(name, vectors, features, items, tombstones=(), trees=None, seed=tuning.SEED,
                  link_arrays_from=None, make_default=True, progress=False, **fields):
    """Build `<name>/v-...` from unit word-space `vectors`, unit `features` and `items`, then swap it in.

    `link_arrays_from`: a version whose vectors and .ann files are reused as
    they are (hard links), when only the item metadata changes.
    """
    count = len(items)
    if count == 0:
        raise SearchIndexError(f"index {name!r}: no images left to index.")
    trees = int(trees or tuning.DEFAULT_TREES)
    version = layout.new_version(name)
    try:
        if link_arrays_from is not None:
            for filename in ARRAYS:
                os.link(link_arrays_from / filename, version / filename)
        else:
            vectors, features = unit_rows(vectors), unit_rows(features)
            if vectors.shape[0] != count or features.shape[0] != count:
                raise ValueError("vectors, features and items disagree in length")
            atomic.save_npy(version / WORDS_NPY, vectors)
            atomic.save_npy(version / FEATURES_NPY, features)
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
        (mode, reason), features_mode = tuning.choose_mode(count, word_dim), tuning.choose_mode(count, feature_dim)
        data = manifest.write(
            version, KIND, name=name, version=version.name,
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            word_dim=word_dim, feature_dim=feature_dim, metric=ann.METRIC, n_trees=trees, seed=int(seed),
            # "mode"/"reason": the word space (text search); "features": image-to-image search.
            search={"mode": mode, "reason": reason, "search_k": tuning.search_k_rule(word_dim),
                    "features": {"mode": features_mode[0], "reason": features_mode[1],
                                 "search_k": tuning.search_k_rule(feature_dim)}},
            count=count, files={f: ann.fingerprint(version / f) for f in CHECKED}, **fields)
    except BaseException:
        layout.discard(version)
        raise
    layout.publish(name, version, make_default)
    return version, data
