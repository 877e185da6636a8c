"""The default store: NumPy arrays, Annoy files and items.jsonl in the version's directory.

    vectors_words.npy / features.npy    unit float32 rows, memory-mapped
    words.ann / features.ann            Annoy trees (searched when the mode is "annoy")
    items.jsonl + items.offsets.npy     the items (index.items)

Every file is sealed in the manifest with its SHA-1 (core.integrity) and
checked before it is used: Annoy trusts its files completely.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from devise.core import atomic, integrity, manifest
from devise.core.errors import SearchIndexError
from devise.index import ann, tuning
from devise.index import items as items_file
from devise.index.stores.base import StoreWriter, VersionStore

KIND = "annoy"
WORDS_ANN, FEATURES_ANN = "words.ann", "features.ann"
WORDS_NPY, FEATURES_NPY = "vectors_words.npy", "features.npy"
ARRAYS = (WORDS_NPY, FEATURES_NPY, WORDS_ANN, FEATURES_ANN)
FILES = ARRAYS + (items_file.ITEMS, items_file.OFFSETS)
SPACE_FILES = {"words": (WORDS_NPY, WORDS_ANN, "word_dim"), "features": (FEATURES_NPY, FEATURES_ANN, "feature_dim")}
REINDEX = "re-index the folder with `devise index`"


class AnnoyVersion(VersionStore):
    """A version directory's arrays and Annoy files; `check(filename)` verifies a file against the manifest."""

    def __init__(self, version_dir, data, check, reindex_hint, label):
        self.version_dir, self.manifest, self.check = version_dir, data, check
        self.reindex_hint, self.label = reindex_hint, label
        for filename in (items_file.ITEMS, items_file.OFFSETS):
            check(filename)
        self.items = items_file.Items(version_dir, data["count"])
        self._spaces, self._vectors = {}, {}

    def vectors(self, kind):
        if kind in self._spaces:
            return self._spaces[kind].vectors
        if kind not in self._vectors:
            self._vectors[kind] = self._load_vectors(kind)
        return self._vectors[kind]

    def _load_vectors(self, kind):
        npy, _, dim_key = SPACE_FILES[kind]
        self.check(npy)
        path, count, dim = self.version_dir / npy, self.manifest["count"], self.manifest[dim_key]
        try:
            vectors = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"{path}: unreadable ({exc}); {self.reindex_hint}.") from None
        if vectors.shape != (count, dim) or vectors.dtype != np.float32:
            raise SearchIndexError(f"{path}: shape {vectors.shape} does not match the manifest "
                                   f"({count} x {dim}); {self.reindex_hint}.")
        return vectors

    def space(self, kind):
        if kind not in self._spaces:
            vectors, ann_file = self.vectors(kind), SPACE_FILES[kind][1]
            self.check(ann_file)  # in exact mode too: a damaged index says so before it is relied on
            search = self.manifest["search"]
            mode = search["mode"] if kind == "words" else search["features"]["mode"]
            self._spaces[kind] = ann.Space(vectors, mode, self.version_dir / ann_file, self.manifest["n_trees"],
                                           label=self.label)
        return self._spaces[kind]


class AnnoyWriter(StoreWriter):
    kind = KIND

    def record(self):
        return {"kind": KIND}

    def modes(self, count, dims, method):
        return {kind: tuning.choose_mode(count, dims[kind], method) for kind in dims}

    def write(self, version_dir, vectors, features, items, *, source=None, trees, seed, progress, modes):
        if source is not None:
            files = _linked(source, version_dir)
        else:
            atomic.save_npy(version_dir / WORDS_NPY, vectors)
            atomic.save_npy(version_dir / FEATURES_NPY, features)
            start = time.perf_counter()
            for target, matrix in ((WORDS_ANN, vectors), (FEATURES_ANN, features)):
                if progress:
                    print(f"building {target}: {len(matrix)} x {matrix.shape[1]}-d, {trees} trees ...",
                          file=sys.stderr)
                ann.build_annoy(matrix, version_dir / target, trees, seed)
            if progress:
                print(f"built the Annoy indexes in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            files = integrity.seal(version_dir, list(ARRAYS))
        items_file.write(version_dir, items)
        files.update(integrity.seal(version_dir, [items_file.ITEMS, items_file.OFFSETS]))
        return {"files": files, "store": self.record()}


    # Annoy's files live in the version directory: layout.publish's CURRENT swap is
    # the switch, and deleting old version directories is the sweep.
    def switch(self, name, version_dir, store_record):
        pass

    def sweep(self, name, keep_records):
        pass

    def discard(self, store_record):
        pass


def _linked(source, version_dir):
    """Hard-link the arrays of version `source` into `version_dir`; their records, checked, carry over."""
    recorded = manifest.read(source, "index", SearchIndexError)
    files = recorded.get("files") if isinstance(recorded.get("files"), dict) else {}
    for filename in ARRAYS:
        # Checked before they are linked: a record must never vouch for bytes that changed since.
        integrity.check(source / filename, files.get(filename), error=SearchIndexError, fix=REINDEX)
        os.link(source / filename, version_dir / filename)
    return {f: files[f] for f in ARRAYS}
