"""`devise index`: embed a folder, project it into word space, build and swap in a new version.

Incremental: an image whose path, size and mtime match the live version,
built with the same model, keeps its stored vectors; only new or changed
files go through the backbone (and the feature cache may still spare some
of those). Files that disappeared, or that were deleted through the index
(tombstones), are left out.
"""
import hashlib
import os
import time
from pathlib import Path

import numpy as np

from core.errors import DataError, SearchIndexError
from core.progress import warn
from index import ann, items as items_file, layout, store, tuning, writer


def model_fingerprint(projector):
    """Changes whenever the projection would: retraining a model in place re-projects every image."""
    if projector.model is None:
        return f"conse:{projector.words.name}:top{projector.conse.top_t}"
    digest = hashlib.sha1()
    for filename in ("manifest.json", "head.npz"):
        digest.update((Path(projector.model.directory) / filename).read_bytes())
    return f"model:{digest.hexdigest()[:16]}"


def _previous(name):
    if layout.current_version(name) is None:
        return None
    try:
        return store.open_index(name)
    except SearchIndexError as exc:
        warn(f"{exc} Building index {name!r} from scratch.")
        return None


def _check_target(prev, name, key, model, root, rebuild):
    if prev is None or rebuild:
        return
    if model is not None and key != prev.manifest["model"]:
        raise SearchIndexError(
            f"index {name!r} was built with model {prev.manifest['model']}, not {key}; pass --rebuild to "
            f"rebuild it with the new model, or --name to build a separate index.")
    if prev.root != str(root):
        raise SearchIndexError(
            f"index {name!r} holds {prev.root}, not {root}; pass --name to index this folder separately, "
            f"or --rebuild to replace it.")


def _stat(folder, tombstones):
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


def build(images_dir, model=None, name=None, trees=None, rebuild=False, progress=True):
    """Index IMAGES_DIR under `name` (default: the folder's name) and make it the default index.

    model: a trained model directory, "conse", or None (the index's current
    model, else ConSE). Returns a summary dict.
    """
    from data.folders import scan
    from search.projector import Projector

    start = time.perf_counter()
    folder = scan(images_dir)
    name = layout.check_name(name or folder.root.name)
    with layout.build_lock(name):
        prev = _previous(name)
        key = store.model_key(model if model is not None else (prev.manifest["model"] if prev else None))
        _check_target(prev, name, key, model, folder.root, rebuild)
        projector = Projector(None if key == store.CONSE else key)
        fingerprint = model_fingerprint(projector)
        tombstones = prev.tombstones() if prev else set()
        entries = _stat(folder, tombstones)
        old = {item["path"]: item for item in prev.items} if prev else {}
        reuse = {}
        if prev is not None and not rebuild and prev.manifest.get("model_fingerprint") == fingerprint \
                and prev.manifest["words"] == projector.words.name:
            reuse = {p: old[p] for p, _, size, mtime in entries
                     if p in old and (old[p]["size"], old[p]["mtime_ns"]) == (size, mtime)}
        if reuse:
            try:
                prev.space("words"), prev.space("features")
            except SearchIndexError as exc:
                warn(f"{exc} Re-embedding every image instead.")
                reuse = {}
        todo = [p for p, *_ in entries if p not in reuse]
        backbone_fp = prev.manifest.get("backbone_fingerprint") if prev else None
        fresh, embedded, bad = {}, 0, []
        if todo:
            from train.backbones import get_backbone
            from train.embed import embed_paths

            backbone = get_backbone(projector.backbone)
            if reuse and backbone.fingerprint != backbone_fp:
                warn(f"the {projector.backbone} weights changed since index {name!r} was built; re-embedding it all.")
                reuse, todo = {}, [p for p, *_ in entries]
            backbone_fp = backbone.fingerprint
            emb = embed_paths(todo, backbone, progress=progress)
            vectors = projector.project(emb.features, emb.logits)
            fresh = {p: (vectors[i], emb.features[i]) for i, p in enumerate(emb.paths)}
            embedded, bad = emb.computed, emb.bad
        kept = [e for e in entries if e[0] in reuse or e[0] in fresh]
        if not kept:
            raise DataError(f"{folder.root}: none of the {len(entries)} image(s) could be read; nothing to index.")
        vectors, features, items = _assemble(kept, reuse, fresh, prev)
        removed = len(set(old) - {e[0] for e in kept})
        version, data = writer.write_version(
            name, vectors, features, items, tombstones, trees=trees or (prev.manifest["n_trees"] if prev else None),
            progress=progress and len(items) >= tuning.EXACT_BELOW,
            root=str(folder.root), model=key, model_fingerprint=fingerprint, backbone=projector.backbone,
            backbone_fingerprint=backbone_fp, words=projector.words.name,
            counts={"items": len(items), "embedded": embedded, "reused": len(reuse), "removed": removed,
                    "skipped": len(bad), "tombstoned": len(tombstones)})
    return {"name": name, "version": version.name, "root": str(folder.root), "model": key, **data["counts"],
            "search": {k: data["search"][k] for k in ("mode", "reason")},
            "seconds": round(time.perf_counter() - start, 2)}


def _assemble(kept, reuse, fresh, prev):
    """Stack vectors in path order; reused rows come from the previous version's arrays."""
    kept = sorted(kept)
    if reuse:
        old_words, old_feats = prev.space("words").vectors, prev.space("features").vectors
    vectors, features, items = [], [], []
    for i, (path, cls, size, mtime) in enumerate(kept):
        if path in reuse:
            row = reuse[path]["id"]
            vectors.append(old_words[row])
            features.append(old_feats[row])
            fields = reuse[path].get("fields", {})
        else:
            vectors.append(fresh[path][0])
            features.append(fresh[path][1])
            fields = {}
        items.append(items_file.make_item(i, path, cls, size, mtime, fields))
    return ann.unit_rows(np.stack(vectors)), ann.unit_rows(np.stack(features)), items
