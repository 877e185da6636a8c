"""Writing an index version to Milvus: a fresh collection per version, then the alias switched to it.

The collection is created with its schema and its vector indexes (FLAT for
exact search, HNSW otherwise), filled with the version's rows
(index.stores.milvus_rows) and flushed; a write that fails drops what it
made. `switch` moves the alias `devise_<name>` (Milvus's own atomic swap);
`sweep` drops this index's collections that no version keeps.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from devise.core.errors import SearchIndexError, option
from devise.core.index_manifest import IndexManifest
from devise.index import filters, tuning
from devise.index.stores import milvus_filter, milvus_rows
from devise.index.stores.base import StoreWriter
from devise.index.stores.milvus import BATCH, HNSW, KIND, MilvusVersion, alias_of
from devise.index.stores.milvus_client import call, check_uri, client


class MilvusWriter(StoreWriter):
    kind = KIND

    def __init__(self, uri: str | None, name: str, ray: dict[str, Any] | None = None):
        """ray: {"address", "workers"} when the index is embedded on Ray: a Milvus server then takes its rows
        from Ray actors (index.stores.milvus_rows)."""
        self.ray = ray
        if not uri:
            raise SearchIndexError(f"{option('store', 'milvus')} needs {option('uri')}: a path ending in .db "
                                   "(Milvus Lite) or http(s)://host:port (a Milvus server).")
        self.uri, self.name, self.alias = check_uri(uri), name, alias_of(name)
        client(self.uri)  # connect now: a server that is down is reported before any image is embedded

    def modes(self, count: int, dims: dict[str, int], method: str) -> dict[str, tuple[str, str]]:
        out = {}
        for kind, dim in dims.items():
            mode, reason = tuning.choose_mode(count, dim, method)
            out[kind] = ("exact", f"Milvus FLAT: {reason}") if mode == "exact" else \
                ("hnsw", f"Milvus HNSW (M={HNSW['M']}): {reason.replace('Annoy', 'an ANN index')}")
        return out

    def write(self, version_dir: Path, vectors: Any, features: Any, items: list[dict[str, Any]], *,
              source: Path | None = None, trees: int, seed: int, progress: bool,
              modes: dict[str, tuple[str, str]]) -> dict[str, Any]:
        c = client(self.uri)
        if source is not None:  # the same rows, new item metadata: carried over from the source collection
            linked = MilvusVersion(IndexManifest.read(source), "re-index", f"index {self.name!r}")
            vectors, features = np.asarray(linked.vectors("words")), np.asarray(linked.vectors("features"))
        order = np.array([item["id"] for item in items], np.int64)
        if not np.array_equal(order, np.arange(len(vectors))):  # each item names its row
            vectors, features = vectors[order], features[order]
        collection = f"{self.alias}_{Path(version_dir).name.replace('-', '_')}"
        record = {"kind": KIND, "uri": self.uri, "collection": collection, "alias": self.alias,
                  "filters": milvus_filter.SCHEMA, "field_names": sorted(filters.field_names(items))}
        try:
            call(self.uri, "create_collection", c.create_collection, collection,
                  schema=_schema(c, vectors.shape[1], features.shape[1]),
                  index_params=_index_params(c, modes), consistency_level="Strong")
            if not (self.ray is not None and milvus_rows.insert_on_ray(
                    self.uri, collection, vectors, features, items, batch=BATCH, progress=progress, **self.ray)):
                done = [0]

                def report(n):
                    done[0] += n
                    if progress:
                        print(f"milvus: {done[0]}/{len(items)} rows in {collection}", file=sys.stderr)
                milvus_rows.insert(c, self.uri, collection, vectors, features, items, BATCH, report)
            call(self.uri, "flush", c.flush, collection)
        except BaseException:
            self.discard(record)
            raise
        return {"files": {}, "store": record}

    def switch(self, name: str, version_dir: Path, store_record: dict[str, Any]) -> None:
        c = client(self.uri)
        aliases = call(self.uri, "list_aliases", c.list_aliases).get("aliases", [])
        swap = c.alter_alias if self.alias in aliases else c.create_alias
        call(self.uri, "alias switch", swap, store_record["collection"], self.alias)

    def sweep(self, name: str, keep_records: Iterable[dict[str, Any] | None]) -> None:
        keep = {r.get("collection") for r in keep_records if isinstance(r, dict) and r.get("uri") == self.uri}
        c = client(self.uri)
        for collection in call(self.uri, "list_collections", c.list_collections):
            # Only this index's own versions; what a build killed half-way left goes too.
            if collection.startswith(self.alias + "_v_") and collection not in keep:
                call(self.uri, "drop_collection", c.drop_collection, collection)

    def discard(self, store_record: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # best effort: the next build's sweep drops it too
            client(self.uri).drop_collection(store_record["collection"])


def _schema(c, word_dim, feature_dim):
    from pymilvus import DataType

    schema = c.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("path", DataType.VARCHAR, max_length=65535)
    schema.add_field("class", DataType.VARCHAR, max_length=4096)
    schema.add_field("size", DataType.INT64)
    schema.add_field("mtime_ns", DataType.INT64)
    schema.add_field("fields", DataType.JSON)  # labels and scores, as given
    schema.add_field("class_key", DataType.VARCHAR, max_length=4096)  # what filters compare: see milvus_filter
    schema.add_field("terms", DataType.JSON)
    schema.add_field("label_key", DataType.VARCHAR, max_length=65535)
    schema.add_field("numbers", DataType.JSON)
    schema.add_field("words", DataType.FLOAT_VECTOR, dim=int(word_dim))
    schema.add_field("features", DataType.FLOAT_VECTOR, dim=int(feature_dim))
    return schema


def _index_params(c, modes):
    params = c.prepare_index_params()
    for kind, (mode, _) in modes.items():
        if mode == "hnsw":
            params.add_index(kind, index_type="HNSW", metric_type="COSINE", params=dict(HNSW))
        else:
            params.add_index(kind, index_type="FLAT", metric_type="COSINE")
    return params
