"""Open a built index: resolve its live version once, check its manifest, search its spaces.

Imports only NumPy, Annoy and the standard library (plus `data.words` when
a query needs word vectors, and pymilvus for a Milvus-backed index):
`devise search` must not pay for TensorFlow.
"""
from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devise.core import integrity
from devise.core.errors import BadImageError, SearchIndexError, option
from devise.core.index_manifest import IndexManifest
from devise.core.results import Listing, Result
from devise.data.word_sources import DEFAULT_WORDS
from devise.data.words import load_words
from devise.index import layout, stores, writer
from devise.index.checked_manifest import read_checked
from devise.index.stores.base import VectorSpace
from devise.models import backbones
from devise.models.embed import embed_paths

if TYPE_CHECKING:
    import numpy as np

    from devise.data.words import WordVectors

CONSE = "conse"


def model_key(model: str | Path | None) -> str:
    """How a model is named in a manifest: "conse", or its directory's absolute path."""
    if model in (None, CONSE):
        return CONSE
    return str(Path(model).expanduser().resolve())


class OpenIndex:
    """One live index version: its manifest, tombstones and store (index.stores: Annoy files or Milvus)."""

    def __init__(self, name: str, version_dir: str | Path, data: IndexManifest):
        self.name, self.version_dir, self.manifest = name, Path(version_dir), data
        self.reindex_hint = f"re-index it with `devise index {shlex.quote(data.root)} --name {name}`"
        self.store = stores.open_version(self.version_dir, data, self._check, self.reindex_hint,
                                         label=f"index {name!r}")
        self.items = self.store.items

    def _check(self, filename, fix=None):
        """Raise unless the file still holds the bytes the manifest recorded (see core.integrity)."""
        integrity.check(self.version_dir / filename, self.manifest.files.get(filename),
                        error=SearchIndexError, fix=fix or self.reindex_hint)

    def __repr__(self) -> str:
        return f"OpenIndex({self.name!r}, {len(self)} items, model={self.manifest.model!r}, mode={self.mode!r})"

    def __len__(self) -> int:
        return self.manifest.count

    @property
    def model_dir(self) -> str | None:
        """None for ConSE, else the trained model's directory (what `tag --model` takes)."""
        model = self.manifest.model
        return None if model == CONSE else model

    @property
    def root(self) -> str:
        return self.manifest.root

    @property
    def seen_phrases(self) -> tuple[str, ...]:
        """The trained model's class phrases, the classes text search treats as seen; () for ConSE."""
        return tuple((self.manifest.seen_margin or {}).get("phrases") or ())

    @property
    def store_kind(self) -> str | None:
        return stores.kind_of(self.manifest.store)

    @property
    def mode(self) -> str:
        """Search mode of the word space ("exact" or "annoy"); see mode_of for either space."""
        return self.mode_of("words")

    def mode_of(self, kind: str) -> str:
        return self.manifest.mode_of(kind)

    def vectors(self, kind: str) -> Any:
        """The rows of the "words" or the "features" space by id, checked once; no search structure is opened."""
        return self.store.vectors(kind)

    def imagenet_top(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(classes [N, k] int16, probabilities [N, k] float16): each image's most probable ImageNet classes
        under the backbone, memory-mapped; None for an index built before they were stored."""
        if not hasattr(self, "_top"):
            self._top = self._load_top() if writer.TOP_CLASSES_NPY in self.manifest.files else None
        return self._top

    def _load_top(self):
        import numpy as np

        arrays = []
        for filename, dtype in ((writer.TOP_CLASSES_NPY, np.int16), (writer.TOP_PROBS_NPY, np.float16)):
            self._check(filename)
            path = self.version_dir / filename
            try:
                array = np.load(path, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise SearchIndexError(f"{path}: unreadable ({exc}); {self.reindex_hint}.") from None
            if array.ndim != 2 or len(array) != len(self) or array.dtype != dtype:
                raise SearchIndexError(f"{path}: shape {array.shape} {array.dtype} does not match the manifest "
                                       f"({len(self)} rows of {np.dtype(dtype).name}); {self.reindex_hint}.")
            arrays.append(array)
        if arrays[0].shape != arrays[1].shape:
            raise SearchIndexError(f"index {self.name!r}: its ImageNet class and probability tables differ in "
                                   f"shape; {self.reindex_hint}.")
        return tuple(arrays)

    def space(self, kind: str) -> VectorSpace:
        """The "words" space (images projected into word space) or the "features" space."""
        return self.store.space(kind)

    def word_vectors(self) -> WordVectors:
        """The word vectors this index's model lives in; queries must use the same ones."""
        name = self.manifest.words
        wv = load_words(None if name == DEFAULT_WORDS else name)
        if wv.dim != self.manifest.word_dim:
            raise SearchIndexError(f"index {self.name!r}: built in {self.manifest.word_dim}-d word space but "
                                   f"word vectors {name} are {wv.dim}-d; re-index.")
        return wv

    def tombstones(self) -> set[str]:
        """Paths removed through the index (dedupe), which re-indexing keeps out."""
        fix = (f"rebuild it with `devise index {shlex.quote(self.root)} --name {self.name} --rebuild`, which forgets "
               f"which files were removed from it")
        self._check(writer.TOMBSTONES, fix)
        path = self.version_dir / writer.TOMBSTONES
        try:
            paths = json.loads(path.read_bytes())["paths"]
        except (OSError, ValueError, TypeError, KeyError):
            paths = None
        if not (isinstance(paths, list) and all(isinstance(p, str) for p in paths)):
            raise SearchIndexError(f"{path}: not a list of removed paths; {fix}.")
        return set(paths)

    def image_features(self, image: str | Path) -> tuple[np.ndarray, set[int]]:
        """(feature vector, ids to leave out of its neighbours) for any image file.

        An indexed file whose size and mtime still match is read from the
        index with no model loaded (and is left out of its own neighbours);
        any other file is embedded through the index's backbone.
        """
        import os

        path = os.path.abspath(image)
        found = self.items.find(path)
        if found is not None:
            item = self.items[found]
            try:
                st = os.stat(path)
            except OSError:
                st = None  # gone since it was indexed: embedding it says so in one line
            if st is not None and (item["size"], item["mtime_ns"]) == (st.st_size, st.st_mtime_ns):
                return self.space("features").vector(found), {found}

        backbone = backbones.get_backbone(self.manifest.backbone)
        if backbone.feature_dim != self.manifest.feature_dim:
            raise SearchIndexError(f"index {self.name!r} holds {self.manifest.feature_dim}-d features but "
                                   f"{backbone.name} gives {backbone.feature_dim}-d; re-index.")
        emb = embed_paths([path], backbone, progress=False, warn_bad=False)
        if not emb.paths:
            raise BadImageError(emb.bad[0][1] if emb.bad else f"{image}: could not be embedded.")
        return emb.features[0], set()


def open_index(name: str | None = None, model: str | Path | None = None) -> OpenIndex:
    """The live version of index `name` (None: the default one).

    `model` (a directory or "conse"), when given, must be the model the index
    was built with: vectors from another model live in another space.
    """
    if name is None:
        name = layout.default_name()
        if name is None:
            found = layout.names()
            hint = f" Several exist ({', '.join(found)}); pass {option('index', 'NAME')}." if found else \
                " Build one with `devise index IMAGES_DIR`."
            raise SearchIndexError("no default index." + hint)
    for attempt in range(3):
        version = layout.current_version(name)
        if version is None:
            found = layout.names()
            raise SearchIndexError(f"no index named {name!r}" + (f"; known: {', '.join(found)}." if found else
                                   "; build one with `devise index IMAGES_DIR --name NAME`."))
        try:
            data = read_checked(name, version)
            break
        except SearchIndexError:
            # Two rebuilds may have swapped versions between our reads of CURRENT
            # and the manifest; only a version that is still live is broken.
            if attempt == 2 or layout.current_version(name) == version:
                raise
    if model is not None and model_key(model) != data.model:
        raise SearchIndexError(
            f"index {name!r} was built with model {data.model}, not {model_key(model)}; "
            f"drop {option('model')}, or rebuild it: `devise index {data.root} --name {name} --model {model} --rebuild`.")
    return OpenIndex(name, version, data)


@dataclass
class IndexInfo(Result):
    name: str
    default: bool
    count: int | None = None
    model: str | None = None
    mode: str | None = None
    image_mode: str | None = None
    method: str | None = None    # "auto", or the mode forced with `devise index --method`
    root: str | None = None
    version: str | None = None
    error: str | None = None     # set instead of the rest when the index cannot be read
    store: str | None = None     # "annoy" or "milvus"


@dataclass
class IndexList(Listing):
    ITEMS = "indexes"

    indexes: list[IndexInfo] = field(default_factory=list)


def list_indexes() -> IndexList:
    """Every index under the home, with its model, size and search modes; `default` marks the default one."""
    default, out = layout.default_name(), []
    for name in layout.names():
        version = layout.current_version(name)
        if version is None:
            continue  # removed since names() listed it
        try:
            data = read_checked(name, version)
            out.append(IndexInfo(name, name == default, data.count, data.model, data.mode_of("words"),
                                 data.mode_of("features"), data.method, data.root, data.version,
                                 store=stores.kind_of(data.store)))
        except SearchIndexError as exc:
            out.append(IndexInfo(name, name == default, error=str(exc)))
    return IndexList(out)
