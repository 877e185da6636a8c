"""A Milvus store through pymilvus: each index version is a collection, an alias names the live one.

    --uri photos.db                  Milvus Lite, embedded (one process per .db file)
    --uri http(s)://host:19530       a Milvus server or cluster; the token comes from $MILVUS_TOKEN

A version's rows are its items (id, path, class, size, mtime_ns, fields as
JSON) with a "words" and a "features" vector each. Writing a version fills
a fresh collection; switching the alias `devise_<name>` to it is Milvus's
own atomic swap, made before devise's CURRENT pointer moves, so a build
killed half-way leaves the previous version serving on both sides. The
manifest records the URI and the collection, never the token.

pymilvus is imported on first use, in index.stores.milvus_client.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from devise.core.errors import SearchIndexError
from devise.core.index_manifest import IndexManifest
from devise.index.stores import milvus_filter
from devise.index.stores.base import ItemTable, VectorSpace, VersionStore
from devise.index.stores.milvus_client import TIMEOUT_S, call, check_uri, client, close, literal

KIND = "milvus"
MODES = ("exact", "hnsw")          # FLAT and HNSW indexes
BATCH = 2000                       # rows per insert and per query: far below gRPC's 64 MB message limit
MAX_TOPK = 16384                   # Milvus's largest limit for one search
HNSW = {"M": 16, "efConstruction": 200}
ITEM_FIELDS = ["id", "path", "class", "size", "mtime_ns", "fields"]
__all__ = ["KIND", "MODES", "MilvusVersion", "alias_of", "check_uri", "client", "close", "literal"]


def _slug(name):
    """Collection names allow [A-Za-z0-9_]: the index name made safe, plus a hash so a-b and a_b differ."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:60] + "_" + hashlib.sha1(name.encode()).hexdigest()[:6]


def alias_of(name: str) -> str:
    return f"devise_{_slug(name)}"


def _id_chunks(ids):
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


class MilvusItems(ItemTable):
    def __init__(self, version: MilvusVersion):
        self.version, self.count = version, version.count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.count:
            raise IndexError(i)
        rows = self.version.query(f"id == {int(i)}", ITEM_FIELDS)
        if not rows:
            raise SearchIndexError(f"item {i} is missing from {self.version.where}; {self.version.reindex_hint}.")
        return _item(rows[0])

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, self.count, BATCH):
            rows = self.version.query(f"id >= {start} and id < {start + BATCH}", ITEM_FIELDS)
            yield from (_item(row) for row in sorted(rows, key=lambda row: row["id"]))

    def find(self, path: str) -> int | None:
        rows = self.version.query(f"path == {literal(str(path))}", ["id"])
        return int(rows[0]["id"]) if rows else None


def _item(row):
    return {"id": int(row["id"]), "path": row["path"], "class": row["class"] or None, "size": int(row["size"]),
            "mtime_ns": int(row["mtime_ns"]), "fields": row.get("fields") or {}}


class MilvusRows:
    """Rows of one vector field by id: rows[ids] fetches those rows; np.asarray(rows) fetches them all, once."""

    dtype = np.dtype(np.float32)

    def __init__(self, version: MilvusVersion, kind: str, dim: int):
        self.version, self.kind, self.shape = version, kind, (version.count, dim)
        self._all = None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if self._all is not None:
            return self._all[key]
        if isinstance(key, (int, np.integer)):
            return self[np.array([key])][0]
        ids = np.arange(self.shape[0])[key] if isinstance(key, slice) else np.asarray(key, np.int64).reshape(-1)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.shape[0]):
            raise IndexError(f"ids out of range 0..{self.shape[0] - 1}")
        found = {}
        for chunk in _id_chunks(np.unique(ids)):
            for row in self.version.query(f"id in {chunk.tolist()}", ["id", self.kind]):
                found[int(row["id"])] = row[self.kind]
        out = np.empty((len(ids), self.shape[1]), np.float32)
        for j, i in enumerate(ids.tolist()):
            out[j] = found[i]
        return out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if self._all is None:
            self._all = self[np.arange(self.shape[0])]
        return self._all if dtype is None else self._all.astype(dtype)


class MilvusSpace(VectorSpace):
    def __init__(self, version: MilvusVersion, kind: str, mode: str, dim: int):
        self.version, self.kind, self.mode, self.dim = version, kind, mode, dim
        self.count = version.count
        self.vectors = version.vectors(kind)

    def nearest(self, query: np.ndarray, k: int, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        return self.nearest_among(query, k, None, exclude)

    def nearest_among(self, query: np.ndarray, k: int, allowed: Any,
                      exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
        if allowed is not None and not len(allowed):
            return []
        return self._search(query, k, [] if allowed is None else [f"id in {np.asarray(allowed, np.int64).tolist()}"],
                            exclude)

    def nearest_where(self, query: np.ndarray, k: int, flt: Any,
                      exclude: Iterable[int] = ()) -> list[tuple[int, float]] | None:
        if self.version.store.get("filters") != milvus_filter.SCHEMA:
            return None  # a collection written before its rows carried the filter fields
        return self._search(query, k, [milvus_filter.expression(flt.tree, self.version.ids_where)], exclude)

    def _search(self, query, k, terms, exclude):
        exclude = sorted({int(i) for i in exclude})
        if exclude:
            terms = [*terms, f"id not in {exclude}"]
        limit = min(int(k), self.count, MAX_TOPK)
        if limit <= 0:
            return []
        search_params = {"metric_type": "COSINE", "params": {"ef": max(64, limit)} if self.mode == "hnsw" else {}}
        v = self.version
        hits = call(v.uri, "search", v.client.search, v.collection, data=[np.asarray(query, np.float32).tolist()],
                     anns_field=self.kind, limit=limit, filter=" and ".join(terms),
                     output_fields=["id"], search_params=search_params, timeout=TIMEOUT_S * 3)
        return [(int(h["id"]), float(np.clip(h["distance"], -1.0, 1.0))) for h in hits[0]][:k]


class MilvusVersion(VersionStore):
    def __init__(self, data: IndexManifest, reindex_hint: str, label: str):
        record = self.store = data.store or {}
        self.uri, self.collection = check_uri(record.get("uri")), str(record.get("collection"))
        self.manifest, self.count, self.reindex_hint, self.label = data, data.count, reindex_hint, label
        self.where = f"collection {self.collection!r} at {self.uri}"
        self.client = client(self.uri)
        if not call(self.uri, "has_collection", self.client.has_collection, self.collection):
            raise SearchIndexError(f"{label}: {self.where} is gone; {reindex_hint}.")
        state = call(self.uri, "get_load_state", self.client.get_load_state, self.collection)
        if "NotLoad" in str(state.get("state")):  # a server restarted, or Milvus Lite reopened by this process
            call(self.uri, "load_collection", self.client.load_collection, self.collection, timeout=TIMEOUT_S * 30)
        self.items = MilvusItems(self)
        self._rows, self._spaces, self._item_list = {}, {}, None

    def query(self, expr: str, fields: list[str]) -> list[dict[str, Any]]:
        return call(self.uri, "query", self.client.query, self.collection, filter=expr, output_fields=fields,
                     timeout=TIMEOUT_S * 3)

    def ids_where(self, node: Any) -> list[int]:
        """Ids of the items that filter node `node` keeps, by its own test: the part of a filter Milvus cannot say."""
        if self._item_list is None:
            self._item_list = list(self.items)
        return [item["id"] for item in self._item_list if node.test(item)]

    def field_names(self) -> set[str] | None:
        names = self.store.get("field_names")
        return set(names) if self.store.get("filters") == milvus_filter.SCHEMA and isinstance(names, list) else None

    def vectors(self, kind: str) -> MilvusRows:
        if kind not in self._rows:
            self._rows[kind] = MilvusRows(self, kind, self.manifest.dim_of(kind))
        return self._rows[kind]

    def space(self, kind: str) -> MilvusSpace:
        if kind not in self._spaces:
            self._spaces[kind] = MilvusSpace(self, kind, self.manifest.mode_of(kind), self.vectors(kind).shape[1])
        return self._spaces[kind]
