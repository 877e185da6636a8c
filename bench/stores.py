"""Index stores side by side: Annoy at devise's defaults, Annoy on PCA-256 trees with an exact re-rank, Milvus Lite.

    DEVISE_HOME=/work/bench-home nice -n 10 python bench/stores.py [--queries 200] [--collections same,real,100k,1m]
        [--engines annoy,pca,FLAT,HNSW,IVF_SQ8] [--engines-100k annoy,pca,IVF_SQ8] [--engines-1m pca] [--no-doc]

Collections, one run:
- same: the home's Caltech-101 index written to both stores by devise's own
  writer (Annoy exact, Milvus Lite FLAT): same top 10 for text and image
  queries, a filtered image search through devise (on Milvus, a boolean
  expression), and a cold CLI `devise similar IMAGE` on each store;
- real: every image feature of that index (1280-d, all of it), queries are
  200 of its own rows, each left out of its own answer;
- 100k and 1m: clustered non-negative unit vectors (1000 clusters, 1280-d,
  as bench/ann.py), held-out queries; 1M rows are a 5 GB memory map.
Engines: "annoy" (plain trees, the old default), "pca" (PCA-256 trees and an
exact re-rank: devise's default now), or a Milvus Lite index type. Milvus
Lite ingests ~2,000 rows/s over gRPC and holds ~3.5x the vectors in memory:
1M rows are 8+ minutes of ingest and ~18 GB, past this shared 24 GB machine.

For each engine: build or ingest seconds, disk MB, resident memory added
(MB), recall@10 against exact search, single-query p50/p95 ms, batch QPS
(100 queries a call where the engine has a batch call, else one at a
time), filtered search (10% of ids allowed) p50 and recall, and the cost
of +10k / -1k rows (Annoy: a full rebuild; Milvus: insert and delete).
Annoy goes through the library's own index.stores.annoy_space.AnnoySpace, so the figures are
those of `devise similar`. The table goes to docs/results.md ("Index stores").
"""
import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_doc import publish
from stores_same import K, same_answers

from devise.core.vectors import unit_rows
from devise.index import ann, tuning
from devise.index.stores.annoy_space import AnnoySpace

import common  # noqa: F401 (puts the repo on sys.path)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def exact_topk(base, queries, k, exclude=None, allowed=None, chunk=65536):
    """Exact top-k id sets, one pass over `base` (which may be a memory map) for all queries at once."""
    queries = np.asarray(queries, np.float32)
    best_ids = np.full((len(queries), k), -1, np.int64)
    best = np.full((len(queries), k), -np.inf, np.float32)
    rows = np.arange(len(base)) if allowed is None else np.asarray(allowed, np.int64)
    for start in range(0, len(rows), chunk):
        ids = rows[start:start + chunk]
        sims = (np.asarray(base[ids[0]:ids[-1] + 1] if allowed is None else base[ids], np.float32) @ queries.T).T
        if exclude is not None:
            sims[ids[None, :] == np.asarray(exclude)[:, None]] = -np.inf
        both = np.concatenate([best, sims], axis=1)
        both_ids = np.concatenate([best_ids, np.broadcast_to(ids, sims.shape)], axis=1)
        top = np.argpartition(-both, k - 1, axis=1)[:, :k]
        best, best_ids = np.take_along_axis(both, top, 1), np.take_along_axis(both_ids, top, 1)
    return [set(r.tolist()) for r in best_ids]


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
    space = AnnoySpace(base, "annoy", path, tuning.DEFAULT_TREES, projection=projection)
    ex = [(int(e),) if exclude is not None else () for e in (exclude if exclude is not None else [None] * len(queries))]
    it = iter(ex)
    found, p50, p95, qps = timed(lambda q: space.nearest(q, K, exclude=next(it)), queries)
    it = iter(ex)
    ffound, fp50, _, _ = timed(lambda q: space.nearest_among(q, K, allowed, exclude=next(it)), queries)
    # +10k / -1k: Annoy cannot add to built trees; the new version is a full rebuild.
    grown = _grown(base, tmp)
    start = time.perf_counter()
    grown_on = ann.project(grown, ann.pca_projection(grown)) if compressed else grown
    ann.build_annoy(grown_on, Path(tmp) / "grown.ann", tuning.DEFAULT_TREES)
    update_s = time.perf_counter() - start
    (Path(tmp) / "grown.ann").unlink()
    del grown
    row = {"collection": label, "n": len(base), "engine": name, "build_s": round(build_s, 1),
           "disk_mb": disk_mb(path, *([Path(tmp) / "pca.npy"] if compressed else [])) + round(base.nbytes / 1e6, 1),
           "memory_mb": round(rss_mb() - before, 1), "recall@10": recall(found, truth), "p50_ms": p50,
           "p95_ms": p95, "qps": qps, "filtered_p50_ms": fp50, "filtered_recall@10": recall(ffound, ftruth),
           "update_+10k-1k_s": round(update_s, 1), "update_how": "full rebuild"}
    space._ann.unload()
    path.unlink()
    return row


def _grown(base, tmp):
    """The rows after +10k (near copies of rows at both ends) and -1k (the first 1000): what an update holds."""
    extra = base[:10_000] * 0.98 + 0.02 * base[-10_000:]
    shape = (len(base) - 1000 + len(extra), base.shape[1])
    out = (np.lib.format.open_memmap(Path(tmp) / "grown.npy", "w+", np.float32, shape)
           if isinstance(base, np.memmap) else np.empty(shape, np.float32))
    for start in range(1000, len(base), 65536):
        out[start - 1000:start - 1000 + len(base[start:start + 65536])] = base[start:start + 65536]
    out[len(base) - 1000:] = extra
    return out


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


def synthetic(n, n_queries, rng, tmp=None, chunk=100_000):
    """Clustered non-negative unit rows: (base, queries); base is a memory map in `tmp` when given (1M rows are
    5 GB of float32: on disk, paged in as read, like devise's own features.npy)."""
    centres = np.maximum(rng.normal(0, 1, (1000, 1280)), 0).astype(np.float32) ** 2
    total = n + n_queries
    out = (np.lib.format.open_memmap(Path(tmp) / f"synthetic-{n}.npy", "w+", np.float32, (total, 1280))
           if tmp else np.empty((total, 1280), np.float32))
    for start in range(0, total, chunk):
        labels = rng.integers(0, 1000, min(chunk, total - start))
        noise = rng.normal(0, 0.6, (len(labels), 1280)).astype(np.float32)
        out[start:start + len(labels)] = unit_rows(np.maximum(centres[labels] + noise, 0))
    return out[:n], np.array(out[n:])


def measure(label, base, queries, exclude, args, rng, tmp, annoy_kinds, milvus_types):
    allowed = np.sort(rng.choice(len(base), len(base) // 10, replace=False))
    print(f"{label}: exact answers for {len(queries)} queries over {len(base)} rows ...", file=sys.stderr, flush=True)
    truth = exact_topk(base, queries, K, exclude)
    ftruth = exact_topk(base, queries, K, exclude, allowed)
    rows = []
    for compressed in annoy_kinds:
        rows.append(annoy_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, compressed))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    for index_type in milvus_types:
        rows.append(milvus_rows(label, base, queries, exclude, allowed, truth, ftruth, tmp, index_type))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


ENGINES = {"annoy": False, "pca": True}  # Annoy variants; any other name is a Milvus Lite index type


def engines(text):
    names = [e for e in text.split(",") if e]
    return [ENGINES[e] for e in names if e in ENGINES], [e for e in names if e not in ENGINES]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--synthetic", type=int, default=100_000, help="rows of the '100k' collection")
    parser.add_argument("--huge", type=int, default=1_000_000, help="rows of the '1m' collection (a memory map)")
    parser.add_argument("--engines", default="annoy,pca,FLAT,HNSW,IVF_SQ8", help="on the real collection")
    parser.add_argument("--engines-100k", default="annoy,pca,IVF_SQ8")
    parser.add_argument("--engines-1m", default="pca",
                        help="Milvus Lite at 1M: ~2,000 rows/s of ingest and ~3.5x the vectors in memory")
    parser.add_argument("--collections", default="same,real,100k,1m",
                        help="Which to run: same (top-10 of both stores, exact/FLAT, filtered search and a cold CLI "
                             "similar on each store, all on Caltech-101), real (Caltech-101 features), "
                             "100k and 1m (synthetic).")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/results.md")
    args = parser.parse_args()
    # A run stopped by `timeout` or kill (SIGTERM) still removes its temporary folder: the 1M memory map and
    # Milvus Lite's files there take 8+ GB.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    rng = np.random.default_rng(0)
    rows, same = [], None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        which = set(args.collections.split(","))
        if "same" in which:
            same = same_answers(min(args.queries, 100), rng)
            print(json.dumps(same), file=sys.stderr, flush=True)
        real = real_features() if "real" in which else None
        if real is not None:
            pick = rng.choice(len(real), args.queries, replace=False)
            rows += measure("caltech101-real", unit_rows(real), unit_rows(real[pick]), pick, args, rng, tmp,
                            *engines(args.engines))
        for key, n, chosen in (("100k", args.synthetic, args.engines_100k), ("1m", args.huge, args.engines_1m)):
            if key in which:
                base, queries = synthetic(n, args.queries, rng, tmp if n > 200_000 else None)
                rows += measure(f"synthetic-{n // 1000}k", base, queries, None, args, rng, tmp, *engines(chosen))
                del base, queries
    command = " ".join(["python", "bench/stores.py", *sys.argv[1:]])
    report = {"k": K, "queries": args.queries, "rows": rows, "same": same,
              "seconds": round(time.perf_counter() - started), "load_1min": os.getloadavg()[0], "command": command}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    body = table(report) + f"\n\nHome: {os.environ.get('DEVISE_HOME', '~/.devise')}."
    publish("Index stores", body, doc=not args.no_doc, fence=False)


COLS = ["collection", "n", "engine", "build_s", "disk_mb", "memory_mb", "recall@10", "p50_ms", "p95_ms", "qps",
        "filtered_p50_ms", "filtered_recall@10", "update_+10k-1k_s"]


def table(report):
    lines = ["| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in COLS) + " |" for r in report["rows"]]
    same = report["same"]
    if same:
        lines += ["", f"Both stores through devise on {same['collection']} ({same['n']} items; Annoy exact, Milvus "
                  f"Lite FLAT): same top 10 for {same['text_same_top10']}/{same['text_queries']} text and "
                  f"{same['image_same_top10']}/{same['image_queries']} image queries (largest score difference "
                  f"{same['max_score_diff']}); filtered `{same['filter']}`: same top 10 for "
                  f"{same['filtered_same_top10']}/{same['image_queries']}, p50 {same['filtered_annoy_p50_ms']} ms "
                  f"(Annoy) and {same['filtered_milvus_p50_ms']} ms (Milvus, as a boolean expression); cold CLI "
                  f"`devise similar IMAGE` (a fresh process, median of 3): {same['cold_cli_similar_annoy_s']} s "
                  f"(Annoy), {same['cold_cli_similar_milvus_s']} s (Milvus Lite)."]
    lines += ["", f"qps: Annoy one query a call, Milvus batches of 100. {report['queries']} queries, k={report['k']}; "
              f"{report['seconds']} s in all, 1-minute load {report['load_1min']:.1f} at the end (2 cores, shared)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
