"""The "same" collection of bench/stores.py: the Annoy and Milvus Lite stores answer alike through devise.

The home's Caltech-101 index is written to both stores by devise's own writer (Annoy exact, Milvus Lite FLAT):
same top 10 for text and image queries, a filtered image search through devise (on Milvus, a boolean
expression), and a cold CLI `devise similar IMAGE` on each store.
"""
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 10


def same_answers(n_queries, rng):
    """Top-10 agreement of the Annoy store (exact mode) and the Milvus Lite store (FLAT) on the real collection.

    Both versions are written by devise's own writer from the home's Caltech-101
    index (into a throwaway home), and queried through index.selection.nearest:
    image queries in the features space, text queries in the words space.
    """
    from devise.core.home import set_home
    from devise.index import writer
    from devise.index.selection import nearest
    from devise.index.store import open_index
    from devise.index.stores import milvus
    from devise.search.query import query_vector

    src = open_index("caltech101-conse")
    words_model = src.word_vectors()
    vectors = {kind: np.array(src.vectors(kind), np.float32) for kind in ("words", "features")}
    items = list(src.items)
    texts = ["airplane", "piano", "sunflower", "motorbike", "watch", "face", "leopard", "dolphin", "chair", "camera"]
    text_q = [query_vector(t, words_model)[0] for t in texts]
    image_q = list(rng.choice(len(items), n_queries, replace=False))
    carried = {k: getattr(src.manifest, k) for k in ("root", "model", "model_fingerprint", "backbone",
                                                "backbone_fingerprint", "words", "seen_margin", "counts")}
    with tempfile.TemporaryDirectory() as home:
        set_home(home)
        uri = str(Path(home) / "same.db")
        for name, store in (("a", None), ("m", {"kind": "milvus", "uri": uri})):
            start = time.perf_counter()
            writer.write_version(name, vectors["words"], vectors["features"], items, method="exact", store=store,
                                 **carried)
            print(f"same answers: wrote {name} in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        a, m = open_index("a"), open_index("m")
        same = {"text": 0, "image": 0}
        max_diff = 0.0
        for kind, queries, space in (("text", text_q, "words"), ("image", image_q, "features")):
            for q in queries:
                vec, ex = (q, ()) if kind == "text" else (vectors["features"][q], (int(q),))
                ra, rm = (nearest(idx.space(space), vec, K, exclude=ex) for idx in (a, m))
                same[kind] += [i for i, _ in ra] == [i for i, _ in rm]
                max_diff = max(max_diff, max(abs(x[1] - y[1]) for x, y in zip(ra, rm)))
        filtered = filtered_search(a, m, vectors["features"], image_q)
        milvus.close()  # Milvus Lite: one process per .db file, and the CLI is another process
        cold = {store: cold_similar(home, name, items[int(image_q[0])]["path"]) for name, store in
                (("a", "annoy"), ("m", "milvus"))}
        set_home(None)  # back to $DEVISE_HOME, where the real collection is
    return {"collection": "caltech101-real", "n": len(items), "text_queries": len(text_q),
            "text_same_top10": same["text"], "image_queries": len(image_q), "image_same_top10": same["image"],
            "max_score_diff": round(max_diff, 7), **filtered,
            **{f"cold_cli_similar_{store}_s": seconds for store, seconds in cold.items()}}


FILTER = "label:Faces OR label:airplanes OR path:*/watch/*"  # Milvus: a boolean expression, no id list


def filtered_search(a, m, features, image_q):
    """Filtered image search through devise's own selection on both stores: same top 10, and p50 ms each."""
    from devise.index.selection import filtered_ids, nearest

    times, same = {"annoy": [], "milvus": []}, 0
    for q in image_q:
        found = []
        for idx, store in ((a, "annoy"), (m, "milvus")):
            start = time.perf_counter()
            found.append([i for i, _ in nearest(idx.space("features"), features[q], K, filtered_ids(idx, FILTER),
                                                (int(q),))])
            times[store].append(time.perf_counter() - start)
        same += found[0] == found[1]
    return {"filter": FILTER, "filtered_same_top10": same,
            **{f"filtered_{store}_p50_ms": round(float(np.median(t)) * 1000, 2) for store, t in times.items()}}


def cold_similar(home, name, image, runs=3):
    """Median seconds of `devise similar IMAGE --index NAME` in a fresh process (imports, opening, search)."""
    import subprocess

    env = {**os.environ, "DEVISE_HOME": str(home)}
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "devise", "similar", image, "--index", name, "--top", "10",
                               "--json"], env=env, capture_output=True, text=True, timeout=300)
        seconds.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"cold similar on {name}: {done.stderr.strip()[-300:]}")
    return round(float(np.median(seconds)), 2)
