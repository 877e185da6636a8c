"""`devise index`: embed a folder, project it into word space, build and swap in a new version.

Incremental: an image whose path, size and mtime match the live version,
built with the same model, keeps its stored vectors; only new or changed
files go through the backbone (and the feature cache may still spare some
of those). Files that disappeared, or that were deleted through the index
(tombstones), are left out.
"""
from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devise.core.errors import DataError, SearchIndexError
from devise.core.progress import warn
from devise.core.results import Result
from devise.core.vectors import unit_rows
from devise.data.folders import scan
from devise.engines.base import Engine
from devise.engines.choice import engine_for
from devise.engines.ray_engine import RayEngine
from devise.engines.ray_runtime import ray_session
from devise.index import items as items_file
from devise.index import layout, noise, previous, stores, tuning, writer
from devise.index.store import CONSE, model_key
from devise.models import backbones
from devise.models.backbones.preprocessing import embedding_fingerprint
from devise.models.embed import embed_paths
from devise.models.projector import Projector


def model_fingerprint(projector: Projector) -> str:
    """Changes whenever the projection would: retraining a model in place re-projects every image."""
    if projector.model is None:
        return f"conse:{projector.words.name}:{projector.conse.identity}"
    digest = hashlib.sha1(projector.conse.identity.encode())  # the model blends in ConSE
    for filename in ("manifest.json", "head.npz"):
        digest.update((Path(projector.model.directory) / filename).read_bytes())
    return f"model:{digest.hexdigest()[:16]}"


def _embed(paths, projector, progress, options):
    """({path: (word-space vector, features, (top classes, probabilities))}, freshly computed count, bad files).

    options: embed_paths' engine and batch_size.
    """
    emb = embed_paths(paths, backbones.get_backbone(projector.backbone), progress=progress, **options)
    vectors = projector.project(emb.features, emb.logits)
    classes, probs = writer.top_classes(emb.logits)
    fresh = {p: (vectors[i], emb.features[i], (classes[i], probs[i])) for i, p in enumerate(emb.paths)}
    return fresh, emb.computed, emb.bad


def _backbone_fingerprint(projector):
    """The weights + recipe fingerprint the index's features are made with now."""
    return embedding_fingerprint(backbones.get_backbone(projector.backbone))


@dataclass
class IndexSummary(Result):
    name: str
    version: str
    root: str
    model: str                 # a model directory, or "conse"
    items: int
    embedded: int              # images put through the backbone now (not found in the feature cache)
    reused: int                # images whose stored vectors were still valid
    removed: int               # images of the previous version that are gone
    skipped: int               # unreadable files
    tombstoned: int            # paths removed through the index (dedupe), kept out of re-indexing
    text_search: str           # "exact" or "annoy"
    text_search_reason: str
    image_search: str
    method: str                # "auto" (by size), or the mode forced with --method
    seconds: float
    default_index: str | None = None  # the default index after this build
    projected: int = 0         # images projected now from features already in the cache (a new model, say)
    store: str = "annoy"       # where the vectors live: "annoy" (files in the home) or "milvus"


def build_index(images_dir: str | Path, *, model: str | Path | None = None, name: str | None = None,
                trees: int | None = None, rebuild: bool = False, method: str | None = None,
                progress: bool = True, engine: Engine | str = "local", address: str | None = None,
                workers: int | None = None, batch_size: int = 64, backbone: str | None = None,
                gpus_per_worker: float = 0.0, store: str | None = None, uri: str | None = None,
                default: bool = False, words: str | None = None) -> IndexSummary:
    """Index `images_dir` under `name` (default: the folder's name).

    The index becomes the default one (what search and the other verbs use
    when no index is named) when `default` is true, or when there is no
    default index yet; building a second index never moves the default
    silently.

    Only new or changed files are embedded. model: a trained model
    directory, "conse", or None (the index's current model, else ConSE).
    rebuild: re-project every image, e.g. to switch to another model.
    method: "auto" (exact search for small collections, Annoy for large
    ones), "annoy" or "exact"; None keeps the index's method, else "auto".
    engine: "local" (this process) or "ray" (a pool of `workers` Ray actors
    on a local Ray, or on the cluster at `address`, each given
    `gpus_per_worker` GPUs), or an engine object (engines.local.LocalEngine, engines.ray_engine.RayEngine),
    embedding `batch_size` images at a time; both give the same index. backbone: ConSE's (None: the
    one the index was built on, else the default); a trained model brings its own.
    store: "annoy" (files in the home) or "milvus" (a collection at `uri`:
    a .db path for Milvus Lite, or http(s)://host:port); None keeps the
    index's store, else "annoy". Rows whose files did not change carry over
    from the previous version, whichever store held it.
    words: ConSE's word vectors (data.words.load_words: None is the ones the
    index was built in, else GloVe 6B 50-d; "spacy-en-md" once converted).
    """
    if method not in (None, *tuning.METHODS):
        raise SearchIndexError(f"method {method!r}: use one of {', '.join(tuning.METHODS)}.")
    engine = engine_for(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    engine.check()  # say what to install before scanning the folder
    backbone = backbones.canonical_name(backbone) if backbone else None
    engine_options = dict(engine=engine, batch_size=batch_size)
    start = time.perf_counter()
    folder = scan(images_dir)
    name = layout.check_name(name or folder.root.name)
    if store is not None:
        stores.writer_for({"kind": store, "uri": uri}, name)  # a bad URI or a server that is down: say so now
    with layout.build_lock(name), contextlib.ExitStack() as held:
        make_default = default or layout.default_name() in (None, name)
        prev = previous.open_live(name)
        target = previous.store_record(prev, store, uri)
        ray = {"address": engine.address, "workers": engine.workers} if isinstance(engine, RayEngine) else None
        if ray and stores.rows_from_ray(target):  # one Ray for embedding and for writing the rows
            held.enter_context(ray_session(ray["address"], ray["workers"], notice=progress))
        key = model_key(model if model is not None else (prev.manifest.model if prev else None))
        previous.check_target(prev, name, key, model, folder.root, rebuild)
        projector = Projector(None if key == CONSE else key, backbone=previous.backbone_for(prev, key, backbone, rebuild),
                              words=previous.words_for(prev, key, words))
        fingerprint = model_fingerprint(projector)
        tombstones = previous.tombstones_of(prev, rebuild)
        entries = previous.files_kept(folder, tombstones)
        reuse = previous.reusable(prev, entries, fingerprint, projector.words.name, rebuild)
        backbone_fp = _backbone_fingerprint(projector)
        # Checked even when nothing is new, so an upgrade that changes the pixels updates the index.
        if reuse and prev is not None and backbone_fp != prev.manifest.backbone_fingerprint:
            warn(f"the {projector.backbone} weights or preprocessing changed since index {name!r} was built; "
                 "re-embedding it all.")
            reuse = {}
        todo = [p for p, *_ in entries if p not in reuse]
        fresh, embedded, bad = {}, 0, []
        if todo:
            fresh, embedded, bad = _embed(todo, projector, progress, engine_options)
        kept = sorted(e for e in entries if e[0] in reuse or e[0] in fresh)
        if not kept:
            raise DataError(f"{folder.root}: none of the {len(entries)} image(s) could be read; nothing to index.")
        vectors, features, top, items = _assemble(kept, reuse, fresh, prev)
        removed = len({item["path"] for item in prev.items} - {e[0] for e in kept}) if prev else 0
        version, data = writer.write_version(
            name, vectors, features, items, tombstones, top=top, trees=trees or (prev.manifest.n_trees if prev else None),
            progress=progress and len(items) >= 10_000,
            method=method or (prev.manifest.method if prev else "auto"), make_default=make_default, store=target,
            ray=ray,
            root=str(folder.root), model=key, model_fingerprint=fingerprint, backbone=projector.backbone,
            backbone_fingerprint=backbone_fp, words=projector.words.name, seen_margin=projector.seen_margin,
            noise=noise.profile(projector.words, vectors),
            counts={"items": len(items), "embedded": embedded, "reused": len(reuse), "removed": removed,
                    "skipped": len(bad), "tombstoned": len(tombstones)})
    counts = data.counts
    return IndexSummary(name, version.name, str(folder.root), key, counts["items"], counts["embedded"],
                        counts["reused"], counts["removed"], counts["skipped"], counts["tombstoned"],
                        data.mode_of("words"), data.reason_of("words"), data.mode_of("features"),
                        data.method, round(time.perf_counter() - start, 2), layout.default_name(),
                        counts["items"] - counts["embedded"] - counts["reused"], stores.kind_of(data.store) or "annoy")


def _assemble(kept, reuse, fresh, prev):
    """Vectors, features, ImageNet top classes and items in path order; reused rows are copied from the
    previous version."""
    sample = next(iter(fresh.values()), None)
    if sample is None:
        dims = prev.manifest.word_dim, prev.manifest.feature_dim
    else:
        dims = len(sample[0]), len(sample[1])
    vectors, features = np.empty((len(kept), dims[0]), np.float32), np.empty((len(kept), dims[1]), np.float32)
    top = np.zeros((len(kept), writer.TOP_K), np.int16), np.zeros((len(kept), writer.TOP_K), np.float16)
    old = [(i, reuse[e[0]]["id"]) for i, e in enumerate(kept) if e[0] in reuse]
    if old:
        new_rows, old_rows = (np.array(x) for x in zip(*old))
        vectors[new_rows] = prev.vectors("words")[old_rows]
        features[new_rows] = prev.vectors("features")[old_rows]
        for mine, theirs in zip(top, prev.imagenet_top()):  # previous.reusable reuses nothing from an index without them
            mine[new_rows] = theirs[old_rows]
    items = []
    for i, (path, cls, size, mtime) in enumerate(kept):
        if path in fresh:
            vectors[i], features[i], (top[0][i], top[1][i]) = fresh[path]
        fields = reuse[path].get("fields", {}) if path in reuse else {}
        items.append(items_file.make_item(i, path, cls, size, mtime, fields))
    return unit_rows(vectors), unit_rows(features), top, items
