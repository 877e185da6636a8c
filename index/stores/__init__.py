"""Index stores: where a version's vectors and items live (Annoy files by default, or Milvus).

The manifest's "store" record names it: {"kind": "annoy"} (also what a
manifest without the record means), or {"kind": "milvus", "uri": ...,
"collection": ...}. pymilvus is imported only when a Milvus store is used.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from devise.core.errors import SearchIndexError
from devise.core.index_manifest import IndexManifest
from devise.index.stores import annoy, milvus, milvus_client, milvus_writer
from devise.index.stores.base import SPACES, ItemTable, StoreWriter, VectorSpace, VersionStore

KINDS = (annoy.KIND, milvus.KIND)
MODES = {annoy.KIND: ("exact", "annoy"), milvus.KIND: milvus.MODES}
__all__ = [
    "KINDS",
    "SPACES",
    "ItemTable",
    "StoreWriter",
    "VectorSpace",
    "VersionStore",
    "kind_of",
    "open_version",
    "rows_from_ray",
    "writer_for",
]


def kind_of(record: Any) -> str | None:
    return annoy.KIND if record is None else record.get("kind") if isinstance(record, dict) else None


def writer_for(record: Any, name: str, ray: dict[str, Any] | None = None) -> StoreWriter:
    """The writer for store `record` ({"kind": ..., "uri": ...}; None: Annoy) of index `name`;
    `ray` ({"address", "workers"}): the Ray engine's, when the index is embedded on Ray."""
    kind = kind_of(record)
    if kind == annoy.KIND:
        return annoy.AnnoyWriter()
    if kind == milvus.KIND:
        return milvus_writer.MilvusWriter(record.get("uri"), name, ray)
    raise SearchIndexError(f"store {record!r}: use one of {', '.join(KINDS)}.")


def rows_from_ray(record: Any) -> bool:
    """Whether store `record`, written by the Ray engine, takes its rows from Ray actors (a Milvus server)."""
    return kind_of(record) == milvus.KIND and not milvus_client.is_lite(record.get("uri") or "")


def open_version(version_dir: Path, data: IndexManifest, check: Callable[..., None], reindex_hint: str,
                 label: str) -> VersionStore:
    """Read access to the version whose manifest is `data`; `check(file)` verifies a sealed file."""
    kind = kind_of(data.store)
    if kind == annoy.KIND:
        return annoy.AnnoyVersion(version_dir, data, check, reindex_hint, label)
    if kind == milvus.KIND:
        return milvus.MilvusVersion(data, reindex_hint, label)
    raise SearchIndexError(f"{version_dir}/manifest.json: store {data.store!r} is not one this devise reads; "
                           f"{reindex_hint}.")
