"""The default store: NumPy arrays, Annoy files and items.jsonl in the version's directory.

    vectors_words.npy / features.npy    unit float32 rows, memory-mapped
    words.ann / features.ann            Annoy trees (searched when the mode is "annoy")
    features.pca.npy                    [feature_dim, 256]: features.ann indexes the features projected
                                        by it, and each query's candidates are re-ranked exactly
    items.jsonl + items.offsets.npy     the items (index.items)

Every file is sealed in the manifest with its SHA-1 (core.integrity) and
checked before it is used: Annoy trusts its files completely.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from devise.core import atomic, integrity
from devise.core.errors import SearchIndexError
from devise.core.index_manifest import IndexManifest
from devise.index import ann, tuning
from devise.index import items as items_file
from devise.index.stores.annoy_space import AnnoySpace
from devise.index.stores.base import StoreWriter, VersionStore

KIND = "annoy"
WORDS_ANN, FEATURES_ANN = "words.ann", "features.ann"
WORDS_NPY, FEATURES_NPY = "vectors_words.npy", "features.npy"
FEATURES_PCA = "features.pca.npy"
ARRAYS = (WORDS_NPY, FEATURES_NPY, WORDS_ANN, FEATURES_ANN)
FILES = ARRAYS + (items_file.ITEMS, items_file.OFFSETS)
SPACE_FILES = {"words": (WORDS_NPY, WORDS_ANN), "features": (FEATURES_NPY, FEATURES_ANN)}
REINDEX = "re-index the folder with `devise index`"


class AnnoyVersion(VersionStore):
    """A version directory's arrays and Annoy files; `check(filename)` verifies a file against the manifest."""

    def __init__(self, version_dir: Path, data: IndexManifest, check: Callable[..., None], reindex_hint: str,
                 label: str):
        self.version_dir, self.manifest, self.check = version_dir, data, check
        self.reindex_hint, self.label = reindex_hint, label
        for filename in (items_file.ITEMS, items_file.OFFSETS):
            check(filename)
        self.items = items_file.Items(version_dir, data.count)
        self._spaces, self._vectors = {}, {}

    def vectors(self, kind: str) -> np.ndarray:
        if kind in self._spaces:
            return self._spaces[kind].vectors
        if kind not in self._vectors:
            self._vectors[kind] = self._load_vectors(kind)
        return self._vectors[kind]

    def _load_vectors(self, kind):
        npy = SPACE_FILES[kind][0]
        self.check(npy)
        path, count, dim = self.version_dir / npy, self.manifest.count, self.manifest.dim_of(kind)
        try:
            vectors = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"{path}: unreadable ({exc}); {self.reindex_hint}.") from None
        if vectors.shape != (count, dim) or vectors.dtype != np.float32:
            raise SearchIndexError(f"{path}: shape {vectors.shape} does not match the manifest "
                                   f"({count} x {dim}); {self.reindex_hint}.")
        return vectors

    def space(self, kind: str) -> AnnoySpace:
        if kind not in self._spaces:
            vectors, ann_file = self.vectors(kind), SPACE_FILES[kind][1]
            self.check(ann_file)  # in exact mode too: a damaged index says so before it is relied on
            mode = self.manifest.mode_of(kind)
            self._spaces[kind] = AnnoySpace(vectors, mode, self.version_dir / ann_file, self.manifest.n_trees,
                                           label=self.label, projection=self._projection(kind))
        return self._spaces[kind]


    def _projection(self, kind):
        """The PCA matrix the space's trees were built on, or None (plain trees)."""
        compressed = ((self.manifest.store or {}).get("compressed") or {}).get(kind)
        if not compressed:
            return None
        self.check(FEATURES_PCA)
        dim = self.manifest.dim_of(kind)
        try:
            projection = np.load(self.version_dir / FEATURES_PCA)
        except (OSError, ValueError) as exc:
            raise SearchIndexError(f"{self.version_dir / FEATURES_PCA}: unreadable ({exc}); {self.reindex_hint}.") from None
        if projection.ndim != 2 or projection.shape[0] != dim or projection.dtype != np.float32:
            raise SearchIndexError(f"{self.version_dir / FEATURES_PCA}: shape {projection.shape} does not fit "
                                   f"{dim}-d rows; {self.reindex_hint}.")
        return projection


class AnnoyWriter(StoreWriter):
    kind = KIND

    def record(self) -> dict[str, Any]:
        return {"kind": KIND}

    def modes(self, count: int, dims: dict[str, int], method: str) -> dict[str, tuple[str, str]]:
        return {kind: tuning.choose_mode(count, dims[kind], method) for kind in dims}

    def write(self, version_dir: Path, vectors: Any, features: Any,  # arrays, or None with `source`
              items: list[dict[str, Any]], *, source: Path | None = None, trees: int, seed: int, progress: bool,
              modes: dict[str, tuple[str, str]]) -> dict[str, Any]:
        record = self.record()
        if source is not None:
            files, linked_record = _linked(source, version_dir)
            if linked_record.get("compressed"):
                record["compressed"] = linked_record["compressed"]
        else:
            atomic.save_npy(version_dir / WORDS_NPY, vectors)
            atomic.save_npy(version_dir / FEATURES_NPY, features)
            start = time.perf_counter()
            tree_rows, sealed = {WORDS_ANN: vectors, FEATURES_ANN: features}, list[str](ARRAYS)
            if len(features) >= tuning.COMPRESS_FROM and features.shape[1] > tuning.COMPRESS_DIMS:
                projection = ann.pca_projection(features, seed=seed)
                atomic.save_npy(version_dir / FEATURES_PCA, projection)
                tree_rows[FEATURES_ANN] = ann.project(features, projection)
                record["compressed"] = {"features": {"file": FEATURES_PCA, "dims": int(projection.shape[1]),
                                                     "rule": tuning.compressed_rule()}}
                sealed.append(FEATURES_PCA)
            for target, matrix in tree_rows.items():
                if progress:
                    print(f"building {target}: {len(matrix)} x {matrix.shape[1]}-d, {trees} trees ...",
                          file=sys.stderr)
                ann.build_annoy(matrix, version_dir / target, trees, seed)
            if progress:
                print(f"built the Annoy indexes in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            files = integrity.seal(version_dir, sealed)
        items_file.write(version_dir, items)
        files.update(integrity.seal(version_dir, [items_file.ITEMS, items_file.OFFSETS]))
        return {"files": files, "store": record}


    # Annoy's files live in the version directory: layout.publish's CURRENT swap is
    # the switch, and deleting old version directories is the sweep.
    def switch(self, name: str, version_dir: Path, store_record: dict[str, Any]) -> None:
        pass

    def sweep(self, name: str, keep_records: Iterable[dict[str, Any] | None]) -> None:
        pass

    def discard(self, store_record: dict[str, Any]) -> None:
        pass


def _linked(source: Path, version_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Hard-link the arrays of version `source` into `version_dir`: (their checked records, its store record)."""
    recorded = IndexManifest.read(source)
    files, record = recorded.files, recorded.store or {}
    arrays = ARRAYS + ((FEATURES_PCA,) if record.get("compressed") else ())
    for filename in arrays:
        # Checked before they are linked: a record must never vouch for bytes that changed since.
        integrity.check(source / filename, files.get(filename), error=SearchIndexError, fix=REINDEX)
        os.link(source / filename, version_dir / filename)
    return {f: files[f] for f in arrays}, record
