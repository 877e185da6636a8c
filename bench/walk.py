"""Time the greedy nearest-neighbour walk on 100,000 vectors; tour length vs a random order.

    DEVISE_HOME=/tmp/dh python bench/walk.py [--items 100000] [--json] [--no-doc]

Vectors: the cached Caltech-101 features (1280-d EfficientNet-Lite0) and
their ConSE word vectors (50-d), each resampled to --items rows with
per-row noise (so the data has real cluster structure, not uniform
noise). The timed call is the library's curate.tour.greedy_tour,
including building its k-NN source (PCA to 64-d and Annoy above 4,096
rows); the walk must visit every row exactly once.
"""
import argparse
import json
import os
import sqlite3
import sys
import time

import numpy as np
from results_doc import add_doc_option, publish

import common


def caltech_vectors(data_root):
    from devise.core.home import subdir
    from devise.data.words import load_words
    from devise.models.conse import ConSE

    feats, logits = [], []
    for db_path in subdir("cache", "features").glob("efficientnet-lite0*.sqlite"):
        db = sqlite3.connect(str(db_path))
        for f, lg in db.execute("SELECT features, logits FROM features WHERE error IS NULL AND path LIKE ?",
                                (f"{data_root}/%",)):
            feats.append(np.frombuffer(f, np.float32))
            logits.append(np.frombuffer(lg, np.float16).astype(np.float32))
    if not feats:
        sys.exit(f"no cached Caltech-101 features under {subdir('cache', 'features')}; run bench/zero_shot.py first.")
    return np.stack(feats), ConSE(load_words()).project(np.stack(logits))


def resample(base, n, noise, seed=0):
    rng = np.random.default_rng(seed)
    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    rows = base[rng.integers(0, len(base), n)]
    return (rows + rng.normal(0, noise / np.sqrt(base.shape[1]), rows.shape)).astype(np.float32)


def run(vectors):
    from devise.curate import tour

    start = time.perf_counter()
    source = tour.knn_source(vectors)
    built = time.perf_counter() - start
    order, stats = tour.greedy_tour(vectors, 0, source=source)
    total = time.perf_counter() - start
    assert len(order) == len(vectors) and len(np.unique(order)) == len(vectors), "a row was skipped or repeated"
    length, rand = tour.tour_length(vectors, order), tour.random_length(vectors, len(vectors))
    return {"items": len(vectors), "dim": int(vectors.shape[1]), "seconds": round(total, 1),
            "knn_build_seconds": round(built, 1), "tour_length": round(length, 1), "random_length": round(rand, 1),
            "ratio": round(length / rand, 3), **stats}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    add_doc_option(parser)
    args = parser.parse_args()
    feats, words = caltech_vectors(common.DEFAULT_DATA_ROOT.resolve() / "caltech101")
    results = [run(resample(feats, args.items, 0.5)), run(resample(words, args.items, 0.3, seed=1))]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    lines = [f"{r['items']} x {r['dim']}-d: {r['seconds']} s on {os.cpu_count()} CPUs (k-NN source {r['knn_build_seconds']} s), "
             f"tour {r['tour_length']} vs random {r['random_length']} ({r['ratio']}x); widened {r['widened']} times, "
             f"{r['exact_scans']} exact scans" for r in results]
    publish(f"walk items {args.items}", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    sys.exit(main())
