"""Index items as the page shows them: ids for thumbnails, labels for captions, tags without TensorFlow.

Results name images by path (the CLI's --json), while thumbnails are
served by id only, so the page asks `describe` which id and label each
path has. A few paths are looked up one by one in the item file (a byte
search each); the whole path -> id table, which takes a second or two to
read on a 100k-image index, is read once per version in the background
(a version is immutable) and kept for the few versions in use.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from devise.core.errors import SearchIndexError
from devise.index.store import open_index
from devise.models.backbones import input_size_of
from devise.models.backbones.preprocessing import weights_fingerprint
from devise.models.projector import Projector
from devise.search.tag import tag

KEPT_VERSIONS = 8
FIND_AT_MOST = 64  # paths looked up one by one while the version's table is not read yet
_ids: OrderedDict = OrderedDict()     # version dir -> {path: id}
_projectors: OrderedDict = OrderedDict()  # version dir -> Projector whose backbone is CachedFeaturesOnly
_reading: set = set()  # version dirs whose table a background thread is reading
_lock = threading.Lock()


def _remember(table, key, make):
    with _lock:
        if key in table:
            table.move_to_end(key)
            return table[key]
    value = make()
    with _lock:
        table[key] = value
        while len(table) > KEPT_VERSIONS:
            table.popitem(last=False)
    return value


def ids_of(idx) -> dict:
    """{path: id} of an open index's version."""
    return _remember(_ids, str(idx.version_dir), lambda: {item["path"]: i for i, item in enumerate(idx.items)})


def _read_later(idx):
    key = str(idx.version_dir)
    with _lock:
        if key in _ids or key in _reading:
            return
        _reading.add(key)

    def read():
        try:
            ids_of(idx)
        finally:
            with _lock:
                _reading.discard(key)

    threading.Thread(target=read, name="devise-web-items", daemon=True).start()


def _lookup(idx, paths):
    """{path: id or None}: from the version's table when it is read, else one by one (and the table read later)."""
    with _lock:
        table = _ids.get(str(idx.version_dir))
    if table is None and len(paths) <= FIND_AT_MOST:
        _read_later(idx)
        return {path: idx.items.find(path) for path in paths}
    table = table if table is not None else ids_of(idx)
    return {path: table.get(path) for path in paths}


def describe(paths, index=None) -> dict:
    """Id, class folder and assigned label of each path in the index (id None when it is not there)."""
    idx = open_index(index)
    ids, out = _lookup(idx, paths), []
    for path in paths:
        i = ids[path]
        item = idx.items[i] if i is not None else {}
        out.append({"path": path, "id": i, "class": item.get("class"),
                    "label": (item.get("fields") or {}).get("label")})
    return {"index": idx.name, "version": idx.version_dir.name, "items": out}


class NotCached(Exception):
    """An image's features are not in the feature cache, so the real backbone is needed."""


class CachedFeaturesOnly:
    """The index's backbone as the feature cache knows it, with no network behind it.

    `embed_paths` reads cached features before it touches the network, and
    every indexed image was cached when it was indexed: tagging it needs no
    TensorFlow. A cache miss reaches `predict`, which raises NotCached.
    """

    def __init__(self, name, embedding_fingerprint, feature_dim):
        self.name, self.feature_dim, self.input_size = name, feature_dim, input_size_of(name)
        self.fingerprint = weights_fingerprint(self, embedding_fingerprint)

    def predict(self, batch):
        raise NotCached(self.name)


def _cached_projector(idx):
    projector = Projector(idx.model_dir, words=None if idx.model_dir else idx.manifest.words)
    projector.backbone = CachedFeaturesOnly(idx.manifest.backbone, idx.manifest.backbone_fingerprint,
                                            idx.manifest.feature_dim)
    return projector


def tag_indexed(image_id: int, *, index=None, top=10, labels=None):
    """`devise tag PATH --index NAME` for an indexed image, from its cached features when they are there."""
    idx = open_index(index)
    path = _path_of(idx, image_id)
    if idx.manifest.backbone_fingerprint:
        projector = _remember(_projectors, str(idx.version_dir), lambda: _cached_projector(idx))
        try:
            return tag([path], projector=projector, top=top, labels=labels)
        except NotCached:
            pass  # changed on disk since it was indexed: embed it as `devise tag` would
    return tag([path], index=idx.name, top=top, labels=labels)


def item_path(image_id: int, index=None) -> str:
    """The path of item `image_id`; a SearchIndexError (404) for an id the index does not hold."""
    return _path_of(open_index(index), image_id)


def _path_of(idx, image_id):
    if not 0 <= image_id < len(idx):
        raise SearchIndexError(f"index {idx.name!r} has no image {image_id} (it holds ids 0 to {len(idx) - 1}).")
    return idx.items[image_id]["path"]
