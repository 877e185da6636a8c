"""Nearest words: an index over a whole vocabulary, built once per word vectors.

It lives beside the converted vectors, in `<home>/words/<name>/`:
`word_norms.npy` (for exact search over the raw mmapped rows),
`words.ann` (only when the vocabulary is large enough for Annoy to be the
faster one) and `word_index.json`, written last, which marks it complete
and records each file's checksum. It is derived data: one that is missing,
damaged or from an older devise is built again.
"""
from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import numpy as np

from devise.core import atomic, home, integrity
from devise.core.errors import SearchIndexError
from devise.core.progress import note, warn
from devise.core.vectors import unit_rows
from devise.index import ann, layout, tuning
from devise.index.stores.annoy_space import AnnoySpace

if TYPE_CHECKING:
    from devise.data.words import WordVectors

KIND, FORMAT_VERSION = "word-index", 2  # 2: whole-file checksums
META, ANN, NORMS = "word_index.json", "words.ann", "word_norms.npy"


def _valid(directory, wv, report=False):
    """The index's metadata if it is complete and intact for `wv`, else None (`report`: warn why)."""
    try:
        meta = json.loads((directory / META).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        meta = None
    again = f"building the nearest-word index for {wv.name} again"
    try:
        if not isinstance(meta, dict) or meta.get("kind") != KIND:
            raise SearchIndexError(f"{directory / META}: damaged; {again}.")
        if (meta.get("format_version"), meta.get("count"), meta.get("dim")) != (FORMAT_VERSION, len(wv), wv.dim):
            return None  # an older devise's, or other word vectors': not damage, just out of date
        search, files = meta.get("search"), meta.get("files")
        if not isinstance(search, dict) or search.get("mode") not in ("exact", "annoy") \
                or not isinstance(files, dict) or not isinstance(meta.get("n_trees"), int) or meta["n_trees"] < 1:
            raise SearchIndexError(f"{directory / META}: damaged; {again}.")
        for filename in [NORMS] + ([ANN] if search["mode"] == "annoy" else []):
            integrity.check(directory / filename, files.get(filename), error=SearchIndexError, fix=again)
    except SearchIndexError as exc:
        if report:
            warn(str(exc))
        return None
    return meta


def _build(directory, wv, trees, progress):
    mode, reason = tuning.choose_mode(len(wv), wv.dim)
    start = time.perf_counter()
    if progress:
        extra = f", {trees} trees; once, this takes a while" if mode == "annoy" else ""
        note(f"building the nearest-word index for {wv.name} ({len(wv)} words{extra}) ...")
    vectors = np.asarray(wv.vectors, np.float32)
    atomic.save_npy(directory / NORMS, np.linalg.norm(vectors, axis=1).astype(np.float32))
    files = [NORMS]
    if mode == "annoy":
        ann.build_annoy(unit_rows(vectors), directory / ANN, trees, tuning.SEED)
        files.append(ANN)
    meta = {"kind": KIND, "format_version": FORMAT_VERSION, "words": wv.name, "count": len(wv), "dim": wv.dim,
            "metric": ann.METRIC, "n_trees": trees, "seed": tuning.SEED,
            "search": {"mode": mode, "reason": reason, "search_k": tuning.search_k_rule(wv.dim)},
            "files": integrity.seal(directory, files)}
    atomic.write_json(directory / META, meta)
    if progress:
        note(f"built it in {time.perf_counter() - start:.1f} s")
    return meta


def open_vocabulary(wv: WordVectors, trees: int | None = None, progress: bool = True) -> AnnoySpace:
    """A Space over every word of `wv` (a data.words.WordVectors), building it on first use."""
    directory = home.subdir("words", wv.name)
    meta = _valid(directory, wv)
    if meta is None:
        with layout.file_lock(directory / layout.LOCK):
            meta = _valid(directory, wv, report=True) or _build(directory, wv, int(trees or tuning.DEFAULT_TREES),
                                                                progress)
    norms = np.load(directory / NORMS, mmap_mode="r")
    return AnnoySpace(wv.vectors, meta["search"]["mode"], directory / ANN, meta["n_trees"], norms=norms,
                     label=f"word vectors {wv.name}")
