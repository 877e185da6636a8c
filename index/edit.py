"""Edit a live index without re-embedding: drop items (with tombstones), attach per-item fields.

Each edit writes a new version from the stored vectors and swaps it in, like
a build, so readers never see a half-edited index. Tombstoned paths stay out
of every later `devise index` run of the same folder, even though the files
still exist (e.g. duplicates the user chose to hide), until restore_items
takes them off the tombstone list.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from devise.core.errors import SearchIndexError
from devise.index import layout, store, writer

CARRIED = ("root", "model", "model_fingerprint", "backbone", "backbone_fingerprint", "words", "seen_margin", "noise", "store")


def _carry(idx, **counts):
    data = idx.manifest
    base = {"items": 0, "embedded": 0, "reused": 0, "removed": 0, "skipped": 0, "tombstoned": 0}
    # The search method the user chose (--method) survives edits; None lets the writer keep or pick one.
    return {**{k: getattr(data, k) for k in CARRIED}, "counts": {**base, **counts},
            "trees": data.n_trees, "seed": data.seed, "make_default": False,
            "method": data.search.get("method")}


def _ids(idx, paths):
    """{id: absolute path} for `paths`; one pass over the items, so large edits stay linear."""
    paths = list(paths)
    if len(paths) <= 8:
        lookup = {os.path.abspath(p): idx.items.find(os.path.abspath(p)) for p in paths}
    else:
        by_path = {item["path"]: item["id"] for item in idx.items}
        lookup = {os.path.abspath(p): by_path.get(os.path.abspath(p)) for p in paths}
    ids = {}
    for path, found in lookup.items():
        if found is None:
            raise SearchIndexError(f"{path}: not in index {idx.name!r}.")
        ids[found] = path
    return ids


def remove_items(paths: Iterable[str | Path], index: str | None = None, tombstone: bool = True) -> int:
    """Drop `paths` from the index (and, with `tombstone`, from every future re-index). Returns the new count."""
    name = index or store.open_index(None).name
    with layout.build_lock(name):
        idx = store.open_index(name)
        drop = _ids(idx, paths)
        keep = [i for i in range(len(idx)) if i not in drop]
        old_items = list(idx.items)
        items = [{**old_items[old_id], "id": new_id} for new_id, old_id in enumerate(keep)]
        tombstones = idx.tombstones() | (set(drop.values()) if tombstone else set())
        words, feats = idx.vectors("words"), idx.vectors("features")  # no search structure needed: a new one is built
        top = idx.imagenet_top()
        writer.write_version(name, words[keep], feats[keep], items, tombstones,
                             top=None if top is None else (top[0][keep], top[1][keep]),
                             **_carry(idx, items=len(items), reused=len(items), removed=len(drop),
                                      tombstoned=len(tombstones)))
    return len(items)


def _tombstoned(idx, paths):
    """The tombstone entry for each of `paths`, matched as given or through symlinks; unknown ones are an error."""
    tombstones = idx.tombstones()
    by_real = {}
    for entry in sorted(tombstones):
        by_real.setdefault(os.path.realpath(entry), entry)
    found = []
    for path in paths:
        entry = os.path.abspath(path)
        if entry not in tombstones:
            entry = by_real.get(os.path.realpath(path))
        if entry is None:
            raise SearchIndexError(f"{os.path.abspath(path)}: not among the files removed from index {idx.name!r}, "
                                   f"so there is nothing to restore; pass a path that `devise dedupe` removed.")
        found.append(entry)
    return sorted(set(found))


def restore_items(paths: Iterable[str | Path], index: str | None = None) -> list[str]:
    """Take `paths` off the index's tombstones, so that the next `devise index` of its folder adds them back.

    Returns the restored paths as the index stored them. The items and
    vectors stay as they are (hard-linked): restoring embeds nothing.
    """
    name = index or store.open_index(None).name
    with layout.build_lock(name):
        live = store.open_index(name)
        restored = _tombstoned(live, paths)
        tombstones = live.tombstones() - set(restored)
        writer.write_version(name, None, None, list(live.items), tombstones, link_arrays_from=live.version_dir,
                             **_carry(live, **{**live.manifest.counts, "embedded": 0,
                                               "tombstoned": len(tombstones)}))
    return restored


def set_fields(updates: Mapping[str, Mapping[str, Any]], index: str | None = None) -> int:
    """Merge {path: {field: value}} into the items' `fields` (JSON values); returns how many items changed."""
    name = index or store.open_index(None).name
    idx = store.open_index(name)
    by_id = {i: updates[path] for i, path in _ids(idx, updates).items()}
    edit_fields(name, by_id, expect_version=idx.version_dir)
    return len(by_id)


def edit_fields(name: str, updates: Mapping[int, Mapping[str, Any]], drop: Iterable[str] = (),
                expect_version: Path | None = None) -> None:
    """Merge {id: {field: value}} into the items and remove the fields `drop` from every item, as one new version.

    Vectors and Annoy files are hard-linked, not rebuilt. `expect_version`:
    the version the caller read its ids from; if another writer has swapped
    in a new one since, the ids may no longer match, so nothing is written.
    """
    with layout.build_lock(name):
        live = store.open_index(name)
        if expect_version is not None and live.version_dir != expect_version:
            raise SearchIndexError(f"index {name!r} changed while this command ran; run it again.")
        items = []
        for item in live.items:
            fields = {k: v for k, v in item.get("fields", {}).items() if k not in drop}
            fields.update(updates.get(item["id"], {}))
            items.append({**item, "fields": fields})
        writer.write_version(name, None, None, items, live.tombstones(), link_arrays_from=live.version_dir,
                             **_carry(live, **{**live.manifest.counts, "embedded": 0}))
