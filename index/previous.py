"""The live version an index update starts from: what the update must match, and what it may keep.

An update keeps the live version's folder, model, backbone and word
vectors unless told to rebuild; its rows carry over for files whose path,
size and mtime did not change (`reusable`), and paths deleted through the
index (tombstones) stay out.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from devise.core.errors import SearchIndexError, option
from devise.core.progress import warn
from devise.data.folders import ImageFolder
from devise.index import layout
from devise.index.store import CONSE, OpenIndex, open_index


def open_live(name: str) -> OpenIndex | None:
    """The live version of index `name`, or None when there is none or it cannot be read (then say so)."""
    if layout.current_version(name) is None:
        return None
    try:
        return open_index(name)
    except SearchIndexError as exc:
        warn(f"{exc} Building index {name!r} from scratch.")
        return None


def check_target(prev: OpenIndex | None, name: str, key: str, model: str | Path | None, root: Path,
                 rebuild: bool) -> None:
    """Refuse an update that would silently swap the live version's model or folder."""
    if prev is None or rebuild:
        return
    if model is not None and key != prev.manifest.model:
        raise SearchIndexError(
            f"index {name!r} was built with model {prev.manifest.model}, not {key}; pass {option('rebuild', flag=True)} to "
            f"rebuild it with the new model, or {option('name')} to build a separate index.")
    if prev.root != str(root):
        raise SearchIndexError(
            f"index {name!r} holds {prev.root}, not {root}; pass {option('name')} to index this folder separately, "
            f"or {option('rebuild', flag=True)} to replace it.")


def backbone_for(prev: OpenIndex | None, key: str, backbone: str | None, rebuild: bool) -> str | None:
    """The backbone asked for; a ConSE index being updated keeps the one it was built on."""
    if key != CONSE or prev is None or prev.manifest.model != CONSE:
        return backbone
    built_on = prev.manifest.backbone
    if backbone is None:
        return built_on
    if backbone != built_on and not rebuild:
        raise SearchIndexError(
            f"index {prev.name!r} was built on backbone {built_on}, not {backbone}; pass {option('rebuild', flag=True)} to re-embed "
            f"it on {backbone}, or {option('name')} to build a separate index.")
    return backbone


def words_for(prev: OpenIndex | None, key: str, words: str | None) -> str | None:
    """The word vectors asked for; a ConSE index being updated keeps the ones it was built in."""
    if words is not None or key != CONSE or prev is None or prev.manifest.model != CONSE:
        return words
    return prev.manifest.words


def files_kept(folder: ImageFolder, tombstones: set[str]) -> list[tuple[str, str, int, int]]:
    """[(path, class, size, mtime_ns)] for the folder's images, minus tombstones and vanished files."""
    out = []
    for path, cls in zip(folder.paths, folder.classes):
        if path in tombstones:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.append((path, cls, st.st_size, st.st_mtime_ns))
    return out


def reusable(prev: OpenIndex | None, entries: list[tuple[str, str, int, int]], fingerprint: str, words_name: str,
             rebuild: bool) -> dict[str, dict[str, Any]]:
    """{path: previous item} for images whose stored vectors are still valid."""
    if prev is None or rebuild or prev.manifest.model_fingerprint != fingerprint \
            or prev.manifest.words != words_name:
        return {}
    old = {item["path"]: item for item in prev.items}
    reuse = {p: old[p] for p, _, size, mtime in entries
             if p in old and (old[p]["size"], old[p]["mtime_ns"]) == (size, mtime)}
    if reuse:
        try:
            prev.vectors("words")
            prev.vectors("features")
            if prev.imagenet_top() is None:
                # Built before ImageNet classes were stored (category search needs them): the feature
                # cache holds the logits, so this costs a cache read, not the backbone, for cached images.
                return {}
        except SearchIndexError as exc:
            warn(f"{exc} Re-embedding every image instead.")
            return {}
    return reuse


def tombstones_of(prev: OpenIndex | None, rebuild: bool) -> set[str]:
    """The previous version's removed paths; a damaged list is an error unless the user chose to rebuild."""
    if prev is None:
        return set()
    try:
        return prev.tombstones()
    except SearchIndexError as exc:
        if not rebuild:
            raise
        warn(f"{exc} Rebuilding without it: files removed from the index come back.")
        return set()


def store_record(prev: OpenIndex | None, kind: str | None, uri: str | None) -> dict[str, Any] | None:
    """Where the new version goes: the store asked for, else the previous version's, else Annoy."""
    if kind is not None:
        return {"kind": kind, "uri": uri} if uri else {"kind": kind}
    record = prev.manifest.store if prev is not None else None
    return {k: v for k, v in record.items() if k in ("kind", "uri")} if isinstance(record, dict) else None
