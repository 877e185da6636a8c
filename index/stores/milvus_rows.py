"""Rows into a Milvus collection: from the driver, or from Ray actors so that the driver is not the bottleneck.

Building each row (lists of floats from the arrays) and encoding it for
gRPC is per-row Python work, about as costly as Milvus's own. With the Ray
engine and a Milvus server, `workers` actors each hold their own client and
insert the shards of rows they are handed, while the driver only slices the
arrays. Milvus Lite lets one process open a .db file, so there the driver
writes, and says so in one line.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np

from devise.core.errors import EngineError, SearchIndexError
from devise.engines.ray_runtime import job_error, ray_session
from devise.index.stores import milvus_filter
from devise.index.stores.milvus_client import TOKEN_ENV, call, client, is_lite

SHARD = 20_000                     # rows per actor call: large enough to amortise a call, small enough to balance
__all__ = ["SHARD", "insert", "insert_on_ray", "row"]


def row(item: Mapping[str, Any], vector: np.ndarray, feature: np.ndarray) -> dict[str, Any]:
    """One collection row: the item's fields, what filters compare (milvus_filter) and its two vectors."""
    return {"id": int(item["id"]), "path": item["path"], "class": item.get("class") or "",
            "size": int(item.get("size") or 0), "mtime_ns": int(item.get("mtime_ns") or 0),
            "fields": item.get("fields") or {}, **milvus_filter.row_fields(item),
            "words": vector.tolist(), "features": feature.tolist()}


def insert(c: Any, uri: str, collection: str, vectors: np.ndarray, features: np.ndarray,
           items: Sequence[Mapping[str, Any]], batch: int, done: Callable[[int], None] | None = None) -> None:
    """Insert `items`, row j with vectors[j] and features[j], `batch` rows a call; done(n) after each call."""
    for start in range(0, len(items), batch):
        part = items[start:start + batch]
        rows = [row(item, vectors[j], features[j]) for j, item in enumerate(part, start)]
        call(uri, "insert", c.insert, collection, rows)
        if done:
            done(len(part))


class RowWriter:
    """A Ray actor with its own client to a Milvus server, inserting the shards it is handed."""

    def __init__(self, uri: str, token: str) -> None:
        if token:  # the driver's token, handed over in memory: never written down
            os.environ[TOKEN_ENV] = token
        self.uri, self.client = uri, client(uri)

    def insert(self, collection: str, vectors: np.ndarray, features: np.ndarray,
               items: Sequence[Mapping[str, Any]], batch: int) -> int:
        insert(self.client, self.uri, collection, vectors, features, items, batch)
        return len(items)


def insert_on_ray(uri: str, collection: str, vectors: np.ndarray, features: np.ndarray,
                  items: Sequence[Mapping[str, Any]], *, batch: int, address: str | None = None,
                  workers: int | None = None, progress: bool = True) -> bool:
    """Insert all rows from Ray actors when `uri` is a Milvus server; False (nothing done) for Milvus Lite."""
    if is_lite(uri):
        print("Milvus Lite: one process per .db file, so the driver writes the rows (Ray's actors write into a "
              "Milvus server: --uri http://host:port)", file=sys.stderr)
        return False
    workers = workers or os.cpu_count() or 1
    size = max(1, min(SHARD, -(-len(items) // workers)))  # every actor gets work, even on a small version
    shards = [(start, min(start + size, len(items))) for start in range(0, len(items), size)]
    try:
        with ray_session(address, workers, notice=progress) as ray:
            actor = ray.remote(num_cpus=1)(RowWriter)
            pool = ray.util.ActorPool([actor.remote(uri, os.environ.get(TOKEN_ENV, ""))
                                       for _ in range(min(workers, len(shards)))])
            written: int = 0
            for count in pool.map_unordered(
                    lambda a, s: a.insert.remote(collection, vectors[s[0]:s[1]], features[s[0]:s[1]],
                                                 items[s[0]:s[1]], batch), shards):
                written += cast(int, count)  # RowWriter.insert returns the rows it wrote
                if progress:
                    print(f"milvus: {written}/{len(items)} rows in {collection} (from Ray)", file=sys.stderr)
    except (EngineError, SearchIndexError):
        raise
    except Exception as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SearchIndexError):
            raise SearchIndexError(str(cause)) from None
        raise job_error(exc, "Milvus insert") from exc
    return True
