"""Index stores side by side: Annoy at devise's defaults, Annoy on PCA-256 trees with an exact re-rank, Milvus Lite.

    DEVISE_HOME=/work/bench-home nice -n 10 python bench/stores.py [--json] [--synthetic 100000]
        [--milvus-rows 20000] [--queries 200]

Collections, one run:
- real: every image feature of the home's Caltech-101 index (1280-d, all of
  it), queries are 200 of its own rows, each left out of its own answer;
- synthetic: clustered non-negative unit vectors (1000 clusters, 1280-d,
  as bench/ann.py), held-out queries.
Milvus Lite is measured up to --milvus-rows (its ingest runs at about
2,000 rows/s over gRPC and it holds ~3.5x the vectors in memory; past that
it is the server's job). 1M synthetic rows need 5 GB for the float32 rows
alone, plus the exact answers: not run on a 24 GB machine shared by 9
processes.

For each engine: build or ingest seconds, disk MB, resident memory added
(MB), recall@10 against exact search, single-query p50/p95 ms, batch QPS
(100 queries a call where the engine has a batch call, else one at a
time), filtered search (10% of ids allowed) p50 and recall, and the cost
of +10k / -1k rows (Annoy: a full rebuild; Milvus: insert and delete).
Annoy goes through the library's own index.ann.Space, so the figures are
those of `devise similar`.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from devise.core.vectors import unit_rows
from devise.index import ann, tuning

import common  # noqa: F401 (puts the repo on sys.path)

K = 10


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def exact_topk(base, queries, k, exclude=None, allowed=None):
    out = []
    for i, q in enumerate(queries):
        sims = base @ q if allowed is None else base[allowed] @ q
        ids = np.arange(len(base)) if allowed is None else allowed
        if exclude is not None:
            sims = np.where(ids == exclude[i], -np.inf, sims)
        out.append(set(ids[np.argpartition(-sims, k)[:k]].tolist()))
    return out


def disk_mb(*paths):
    return round(sum(Path(p).stat().st_size for p in paths if Path(p).exists()) / 1e6, 1)


def timed(fn, queries):
    times, found = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(fn(q))
        times.append(time.perf_counter() - start)
    ms = np.array(times) * 1000
    return found, round(float(np.median(ms)), 3), round(float(np.percentile(ms, 95)), 3), round(len(ms) / ms.sum() * 1000)


def recall(found, truth):
    return round(sum(len({i for i, _ in f} & t) for f, t in zip(found, truth)) / (K * len(truth)), 4)


def annoy_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, compressed):
    """One Annoy row: plain trees at the defaults, or PCA trees + exact re-rank (what devise builds now)."""
    name = "annoy PCA-256 + re-rank" if compressed else "annoy (plain trees, old default)"
    before = rss_mb()
    start = time.perf_counter()
    projection = ann.pca_projection(base) if compressed else None
    trees_on = ann.project(base, projection) if compressed else base
    path = Path(tmp) / f"{label}-{int(compressed)}.ann"
    ann.build_annoy(trees_on, path, tuning.DEFAULT_TREES)
    build_s = time.perf_counter() - start
    if compressed:
        np.save(Path(tmp) / "pca.npy", projection)
    space = ann.Space(base, "annoy", path, tuning.DEFAULT_TREES, projection=projection)
    ex = [(int(e),) if exclude is not None else () for e in (exclude if exclude is not None else [None] * len(queries))]
    it = iter(ex)
    found, p50, p95, qps = timed(lambda q: space.nearest(q, K, exclude=next(it)), queries)
    it = iter(ex)
    ffound, fp50, _, _ = timed(lambda q: space.nearest_among(q, K, allowed, exclude=next(it)), queries)
    # +10k / -1k: Annoy cannot add to built trees; the new version is a full rebuild.
    grown = np.concatenate([base, base[:10_000] * 0.98 + 0.02 * base[-10_000:]])[1000:]
    start = time.perf_counter()
    grown_on = ann.project(grown, ann.pca_projection(grown)) if compressed else grown
    ann.build_annoy(grown_on, Path(tmp) / "grown.ann", tuning.DEFAULT_TREES)
    update_s = time.perf_counter() - start
    (Path(tmp) / "grown.ann").unlink()
    row = {"collection": label, "n": len(base), "engine": name, "build_s": round(build_s, 1),
           "disk_mb": disk_mb(path, *([Path(tmp) / "pca.npy"] if compressed else [])) + round(base.nbytes / 1e6, 1),
           "memory_mb": round(rss_mb() - before, 1), "recall@10": recall(found, truth), "p50_ms": p50,
           "p95_ms": p95, "qps": qps, "filtered_p50_ms": fp50, "filtered_recall@10": recall(ffound, ftruth),
           "update_+10k-1k_s": round(update_s, 1), "update_how": "full rebuild"}
    space._ann.unload()
    path.unlink()
    return row


def milvus_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, index_type):
    from pymilvus import DataType, MilvusClient

    uri = str(Path(tmp) / f"{label}-{index_type}.db")
    before = rss_mb()
    client = MilvusClient(uri)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("features", DataType.FLOAT_VECTOR, dim=base.shape[1])
    params = client.prepare_index_params()
    extra = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_SQ8": {"nlist": 256}}.get(index_type, {})
    params.add_index("features", index_type=index_type, metric_type="COSINE", params=extra)
    start = time.perf_counter()
    client.create_collection("c", schema=schema, index_params=params, consistency_level="Strong")
    for s in range(0, len(base), 2000):
        client.insert("c", [{"id": i, "features": base[i].tolist()} for i in range(s, min(s + 2000, len(base)))])
    client.flush("c")
    client.search("c", data=[queries[0].tolist()], anns_field="features", limit=K)  # the index is built by now
    build_s = time.perf_counter() - start
    search = {"metric_type": "COSINE", "params": {"HNSW": {"ef": 64}, "IVF_SQ8": {"nprobe": 16}}.get(index_type, {})}
    ex = list(exclude) if exclude is not None else [None] * len(queries)

    def one(q, i, flt=""):
        terms = [t for t in (flt, f"id != {ex[i]}" if ex[i] is not None else "") if t]
        hits = client.search("c", data=[q.tolist()], anns_field="features", limit=K, filter=" and ".join(terms),
                             search_params=search, output_fields=["id"])[0]
        return [(int(h["id"]), h["distance"]) for h in hits]

    it = iter(range(len(queries)))
    found, p50, p95, _ = timed(lambda q: one(q, next(it)), queries)
    start = time.perf_counter()
    for s in range(0, len(queries), 100):
        client.search("c", data=[q.tolist() for q in queries[s:s + 100]], anns_field="features", limit=K,
                      search_params=search, output_fields=["id"])
    batch_qps = round(len(queries) / (time.perf_counter() - start))
    allowed_expr = f"id in {allowed.tolist()}"
    it = iter(range(len(queries)))
    ffound, fp50, _, _ = timed(lambda q: one(q, next(it), allowed_expr), queries)
    start = time.perf_counter()
    n = len(base)
    extra_rows = base[:10_000] * 0.98 + 0.02 * base[-10_000:]
    for s in range(0, len(extra_rows), 2000):
        client.insert("c", [{"id": n + s + j, "features": extra_rows[s + j].tolist()}
                            for j in range(min(2000, len(extra_rows) - s))])
    client.delete("c", filter=f"id < {1000}")
    client.flush("c")
    update_s = time.perf_counter() - start
    row = {"collection": label, "n": n, "engine": f"milvus lite {index_type}", "build_s": round(build_s, 1),
           "disk_mb": round(sum(f.stat().st_size for f in Path(uri).rglob("*") if f.is_file()) / 1e6, 1)
           if Path(uri).is_dir() else disk_mb(uri),
           "memory_mb": round(rss_mb() - before, 1), "recall@10": recall(found, truth), "p50_ms": p50, "p95_ms": p95,
           "qps": batch_qps, "filtered_p50_ms": fp50, "filtered_recall@10": recall(ffound, ftruth),
           "update_+10k-1k_s": round(update_s, 1), "update_how": "insert + delete"}
    client.close()
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(uri)
    return row


def real_features():
    from devise.index.store import open_index

    try:
        idx = open_index("caltech101-conse")
    except Exception as exc:
        print(f"no real features ({exc}); skipping them", file=sys.stderr)
        return None
    return np.array(idx.vectors("features"), np.float32)


def synthetic(n, n_queries, rng):
    centres = np.maximum(rng.normal(0, 1, (1000, 1280)), 0).astype(np.float32) ** 2
    labels = rng.integers(0, 1000, n + n_queries)
    data = unit_rows(np.maximum(centres[labels] + rng.normal(0, 0.6, (n + n_queries, 1280)).astype(np.float32), 0))
    return data[:n], data[n:]


def measure(label, base, queries, exclude, args, rng, tmp, milvus_ok):
    allowed = np.sort(rng.choice(len(base), len(base) // 10, replace=False))
    print(f"{label}: exact answers for {len(queries)} queries over {len(base)} rows ...", file=sys.stderr, flush=True)
    truth = exact_topk(base, queries, K, exclude)
    ftruth = exact_topk(base, queries, K, exclude, allowed)
    rows = []
    for compressed in (False, True):
        rows.append(annoy_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, compressed))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if milvus_ok and len(base) <= args.milvus_rows:
        for index_type in ("FLAT", "HNSW", "IVF_SQ8"):
            rows.append(milvus_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, index_type))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


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
        milvus.close()
    return {"collection": "caltech101-real", "n": len(items), "text_queries": len(text_q),
            "text_same_top10": same["text"], "image_queries": len(image_q), "image_same_top10": same["image"],
            "max_score_diff": round(max_diff, 7)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=100_000)
    parser.add_argument("--milvus-rows", type=int, default=20_000)
    parser.add_argument("--collections", default="real,small,big",
                        help="Which to run: real (Caltech-101 features), small (synthetic, --milvus-rows), "
                             "big (synthetic, --synthetic rows), same (top-10 of both stores, exact/FLAT).")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
        milvus_ok = True
    except ImportError:
        milvus_ok = False
        print("pymilvus / milvus-lite not installed: Annoy only", file=sys.stderr)
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        which = set(args.collections.split(","))
        if "same" in which:
            report_same = same_answers(min(args.queries, 100), rng)
            print(json.dumps(report_same), file=sys.stderr, flush=True)
            rows.append(report_same)
        real = real_features() if "real" in which else None
        if real is not None:
            pick = rng.choice(len(real), args.queries, replace=False)
            rows += measure("caltech101-real", unit_rows(real), unit_rows(real[pick]), pick, args, rng, tmp, milvus_ok)
        if "small" in which:
            small, small_q = synthetic(min(args.milvus_rows, args.synthetic), args.queries, rng)
            rows += measure(f"synthetic-{len(small) // 1000}k", small, small_q, None, args, rng, tmp, milvus_ok)
            del small, small_q
        if "big" in which:
            big, big_q = synthetic(args.synthetic, args.queries, rng)
            rows += measure(f"synthetic-{len(big) // 1000}k", big, big_q, None, args, rng, tmp, milvus_ok)
    report = {"k": K, "queries": args.queries, "rows": rows, "seconds": round(time.perf_counter() - started),
              "load_1min": os.getloadavg()[0], "command": " ".join(["python", "bench/stores.py", *sys.argv[1:]])}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    cols = ["collection", "n", "engine", "build_s", "disk_mb", "memory_mb", "recall@10", "p50_ms", "p95_ms", "qps",
            "filtered_p50_ms", "filtered_recall@10", "update_+10k-1k_s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    print(f"\n{report['command']}: {report['seconds']} s, 1-minute load {report['load_1min']:.1f} at the end")


if __name__ == "__main__":
    main()
