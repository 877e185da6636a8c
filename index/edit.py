"""Edit a live index without re-embedding: drop items (with tombstones), attach per-item fields.

Each edit writes a new version from the stored vectors and swaps it in, like
a build, so readers never see a half-edited index. Tombstoned paths stay out
of every later `devise index` run of the same folder, even though the files
still exist (e.g. duplicates the user chose to hide).
"""
import os

from devise.core.errors import SearchIndexError
from devise.index import layout, store, writer

CARRIED = ("root", "model", "model_fingerprint", "backbone", "backbone_fingerprint", "words")


def _carry(idx, **counts):
    data = idx.manifest
    base = {"items": 0, "embedded": 0, "reused": 0, "removed": 0, "skipped": 0, "tombstoned": 0}
    return {**{k: data.get(k) for k in CARRIED}, "counts": {**base, **counts},
            "trees": data["n_trees"], "seed": data["seed"], "make_default": False}


def _ids(idx, paths):
    """{id: absolute path} for `paths`; one pass over the items, so large edits stay linear."""
    paths = list(paths)
    if len(paths) <= 8:
        lookup = {os.path.abspath(p): idx.items.find(os.path.abspath(p)) for p in paths}
    else:
        by_path = {idx.items[i]["path"]: i for i in range(len(idx))}
        lookup = {os.path.abspath(p): by_path.get(os.path.abspath(p)) for p in paths}
    ids = {}
    for path, found in lookup.items():
        if found is None:
            raise SearchIndexError(f"{path}: not in index {idx.name!r}.")
        ids[found] = path
    return ids


def remove_items(paths, index=None, tombstone=True):
    """Drop `paths` from the index (and, with `tombstone`, from every future re-index). Returns the new count."""
    name = index or store.open_index(None).name
    with layout.build_lock(name):
        idx = store.open_index(name)
        drop = _ids(idx, paths)
        keep = [i for i in range(len(idx)) if i not in drop]
        items = []
        for new_id, old_id in enumerate(keep):
            items.append({**idx.items[old_id], "id": new_id})
        tombstones = idx.tombstones() | (set(drop.values()) if tombstone else set())
        words, feats = idx.space("words").vectors, idx.space("features").vectors
        writer.write_version(name, words[keep], feats[keep], items, tombstones,
                             **_carry(idx, items=len(items), reused=len(items), removed=len(drop),
                                      tombstoned=len(tombstones)))
    return len(items)


def set_fields(updates, index=None):
    """Merge {path: {field: value}} into the items' `fields` (JSON values); vectors are hard-linked, not rebuilt."""
    name = index or store.open_index(None).name
    with layout.build_lock(name):
        idx = store.open_index(name)
        id_of = {path: i for i, path in _ids(idx, updates).items()}
        by_id = {id_of[os.path.abspath(path)]: fields for path, fields in updates.items()}
        items = []
        for i in range(len(idx)):
            item = idx.items[i]
            if i in by_id:
                item["fields"] = {**item.get("fields", {}), **by_id[i]}
            items.append(item)
        writer.write_version(name, None, None, items, idx.tombstones(), link_arrays_from=idx.version_dir,
                             **_carry(idx, **{**idx.manifest["counts"], "embedded": 0}))
    return len(by_id)
