"""`devise export`: an index's vectors as .npy shards with Parquet metadata, the clip-retrieval layout.

    OUT/img_emb/img_emb_0000.npy         float32 [rows, feature_dim], unit rows (backbone features)
    OUT/word_emb/word_emb_0000.npy       float32 [rows, word_dim], the images projected into word space
    OUT/metadata/metadata_0000.parquet   id, image_path, class, size, mtime_ns, fields (JSON text)
    OUT/manifest.json                    what was exported, from which index version

Shard i of every folder holds the same rows, in id order, so autofaiss
(`autofaiss build_index --embeddings OUT/img_emb`) and clip-retrieval read
it as they read their own output. Loads of millions into Milvus go by its
bulk insert from such files, not row by row over gRPC.

The export is written into a temporary folder beside OUT and renamed into
place: an interrupted export leaves no half-written OUT, and an existing
OUT is never overwritten.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devise.core import manifest
from devise.core.errors import OutputError
from devise.core.results import Result
from devise.index.store import open_index

KIND = "export"
SHARD_ROWS = 100_000
FOLDERS = {"features": "img_emb", "words": "word_emb"}


@dataclass
class ExportSummary(Result):
    index: str
    version: str
    out: str
    rows: int
    shards: int
    feature_dim: int
    word_dim: int


def _metadata_table(items):
    import pyarrow as pa

    return pa.table({
        "id": pa.array([it["id"] for it in items], pa.int64()),
        "image_path": pa.array([it["path"] for it in items], pa.string()),
        "class": pa.array([it.get("class") for it in items], pa.string()),
        "size": pa.array([it.get("size") for it in items], pa.int64()),
        "mtime_ns": pa.array([it.get("mtime_ns") for it in items], pa.int64()),
        "fields": pa.array([json.dumps(it.get("fields") or {}, sort_keys=True) for it in items], pa.string()),
    })


def export_index(out: str | Path, *, index: str | None = None, shard_rows: int = SHARD_ROWS) -> ExportSummary:
    """Write index `index` (default: the default one) to the new folder `out`, `shard_rows` rows a shard."""
    import pyarrow.parquet as pq

    out = Path(out).expanduser().resolve()
    if out.exists() or out.is_symlink():
        raise OutputError(f"{out}: already exists; export writes a new folder: pass a path that does not exist.")
    if shard_rows < 1:
        raise ValueError("shard_rows must be at least 1")
    idx = open_index(index)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for folder in (*FOLDERS.values(), "metadata"):
            (staging / folder).mkdir()
        items, count = iter(idx.items), len(idx)
        shards = 0
        for start in range(0, count, shard_rows):
            ids = np.arange(start, min(start + shard_rows, count))
            for kind, folder in FOLDERS.items():
                np.save(staging / folder / f"{folder}_{shards:04d}.npy",
                        np.ascontiguousarray(idx.vectors(kind)[ids], np.float32))
            batch = [next(items) for _ in ids]
            pq.write_table(_metadata_table(batch), staging / "metadata" / f"metadata_{shards:04d}.parquet")
            shards += 1
        manifest.write(staging, KIND, index=idx.name, version=idx.version_dir.name, rows=count, shards=shards,
                       shard_rows=shard_rows, feature_dim=idx.manifest.feature_dim,
                       word_dim=idx.manifest.word_dim, model=idx.manifest.model,
                       backbone=idx.manifest.backbone, words=idx.manifest.words, folders=FOLDERS,
                       metadata="metadata", normalized=True)
        os.rename(staging, out)  # fails, leaving OUT alone, if something appeared there meanwhile
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportSummary(idx.name, idx.version_dir.name, str(out), count, shards, idx.manifest.feature_dim,
                         idx.manifest.word_dim)
