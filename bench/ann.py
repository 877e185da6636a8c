"""Annoy recall@10 and speed against exact NumPy search, and where exact search wins.

    python bench/ann.py [--json] [--no-doc] [--queries 200] [--images 100000] [--features-db CACHE.sqlite]

Three measurements, one run, through the library's own code (index.ann):
1. GloVe 6B 50-d (400k words): recall@10 against exact search and queries
   per second over n_trees x search_k; queries are frequent words, each
   left out of its own answer.
2. 100k image vectors (1280-d): real backbone features from a feature cache
   when there is one (held-out rows are the queries, the rest are mixed
   pairwise with a little noise to reach 100k), else synthetic clusters.
3. Single-query latency of exact vs Annoy (default settings) over
   collection sizes in both spaces: the crossovers set index.tuning.EXACT_BELOW.
"""
import argparse
import glob
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_doc import add_doc_option, publish

from devise.core.vectors import unit_rows
from devise.index import ann, tuning
from devise.index.stores.annoy_space import AnnoySpace

import common  # noqa: F401 (puts the repo on sys.path)

K = 10


def exact_topk(base, queries, k, exclude=None):
    out = []
    for start in range(0, len(queries), 50):
        sims = queries[start:start + 50] @ base.T
        if exclude is not None:
            sims[np.arange(len(sims)), exclude[start:start + 50]] = -np.inf
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        out.extend(set(row) for row in top)
    return out


def timed_build(base, path, trees):
    start = time.perf_counter()
    ann.build_annoy(base, path, trees)
    return time.perf_counter() - start, path.stat().st_size / 1e6


def run_queries(space, queries, truth, exclude=None, per_result=None):
    """(recall@10, queries/s, median ms); search_k = max(n_trees, per_result) * k (None: the library default, 0: Annoy's own)."""
    saved = dict(tuning.SEARCH_K_PER_RESULT)
    if per_result is not None:
        tuning.SEARCH_K_PER_RESULT.update(words=per_result, features=per_result)
    try:
        hits, times = 0, []
        for i, q in enumerate(queries):
            start = time.perf_counter()
            found = space.nearest(q, K, exclude=() if exclude is None else (int(exclude[i]),))
            times.append(time.perf_counter() - start)
            hits += len({j for j, _ in found} & truth[i])
    finally:
        tuning.SEARCH_K_PER_RESULT.update(saved)
    return hits / (K * len(queries)), len(queries) / sum(times), 1000 * statistics.median(times)


def sweep(label, base, queries, exclude, trees_list, per_results, tmp):
    """Rows of the recall/QPS table; the default-trees .ann is kept for the crossover."""
    truth = exact_topk(base, queries, K, exclude)
    rows = []
    for trees in trees_list:
        path = Path(tmp) / f"{label}-{trees}.ann"
        build_s, mb = timed_build(base, path, trees)
        space = AnnoySpace(base, "annoy", path, trees)
        for per in per_results:
            recall, qps, _ = run_queries(space, queries, truth, exclude, per)
            default = trees == tuning.DEFAULT_TREES and per == tuning.SEARCH_K_PER_RESULT[tuning.space_kind(base.shape[1])]
            rows.append({"dataset": label, "n": len(base), "dim": base.shape[1], "method": "annoy", "trees": trees,
                         "search_k": f"{max(trees, per)}*k", "recall@10": round(recall, 4), "qps": round(qps),
                         "build_s": round(build_s, 1), "file_mb": round(mb), "default": default})
            print(_row(rows[-1]), file=sys.stderr, flush=True)
        if trees != tuning.DEFAULT_TREES:
            path.unlink()
    exact = AnnoySpace(base, "exact")
    recall, qps, _ = run_queries(exact, queries[:50], truth[:50], exclude)
    rows.append({"dataset": label, "n": len(base), "dim": base.shape[1], "method": "exact (1 query at a time)",
                 "recall@10": round(recall, 4), "qps": round(qps)})
    start = time.perf_counter()
    exact_topk(base, queries, K, exclude)
    rows.append({"dataset": label, "n": len(base), "dim": base.shape[1], "method": "exact (batches of 50)",
                 "recall@10": 1.0, "qps": round(len(queries) / (time.perf_counter() - start))})
    return rows


def glove(n_queries, rng):
    from devise.data.words import load_words

    base = unit_rows(np.asarray(load_words().vectors))
    rows = rng.choice(50_000, n_queries, replace=False)  # frequent words: the ones people query
    return base, base[rows], rows


def image_vectors(n, n_queries, rng, db=None):
    """(base, queries, source): real cached features augmented to n rows, else synthetic clusters."""
    from devise.core.home import home

    for path in [db] if db else sorted(glob.glob(str(home() / "cache" / "features" / "*.sqlite"))):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        blobs = [b for (b,) in con.execute("SELECT features FROM features WHERE error IS NULL")]
        con.close()
        feats = np.stack([np.frombuffer(b, np.float32) for b in blobs]) if blobs else np.zeros((0, 0))
        if len(feats) >= 1000 and feats.shape[1] >= 512:
            order = rng.permutation(len(feats))
            held, pool = feats[order[:n_queries]], feats[order[n_queries:]]
            a, b = rng.integers(0, len(pool), n), rng.integers(0, len(pool), n)
            lam = rng.uniform(0, 0.3, (n, 1)).astype(np.float32)
            noise = rng.normal(0, 0.1, (n, feats.shape[1])).astype(np.float32) * pool.std(axis=0)
            base = np.maximum((1 - lam) * pool[a] + lam * pool[b] + noise, 0)
            return unit_rows(base), unit_rows(held), f"{len(feats)} cached features ({Path(path).name[:40]}) mixed to {n}"
    centres = np.maximum(rng.normal(0, 1, (1000, 1280)), 0).astype(np.float32) ** 2
    labels = rng.integers(0, 1000, n + n_queries)
    data = np.maximum(centres[labels] + rng.normal(0, 0.6, (n + n_queries, 1280)).astype(np.float32), 0)
    data = unit_rows(data)
    return data[:n], data[n:], "synthetic: 1000 non-negative clusters (no feature cache found)"


def crossover(label, base, queries, sizes, full_ann, rng, tmp):
    """Median single-query ms, exact vs Annoy at the defaults, for growing n in one space.

    The two are timed alternately, query by query, so that load from other
    processes hits both alike.
    """
    rows = []
    for n in sizes:
        sub = base[np.sort(rng.choice(len(base), n, replace=False))] if n < len(base) else base
        path = full_ann if n >= len(base) else Path(tmp) / "x.ann"
        if n < len(base):
            ann.build_annoy(sub, path, tuning.DEFAULT_TREES)
        spaces = AnnoySpace(sub, "exact"), AnnoySpace(sub, "annoy", path, tuning.DEFAULT_TREES)
        truth = exact_topk(sub, queries[:50], K)
        times, hits = ([], []), 0
        for q, want in zip(queries[:50], truth):
            for space, bucket in zip(spaces, times):
                start = time.perf_counter()
                found = space.nearest(q, K)
                bucket.append(time.perf_counter() - start)
            hits += len({j for j, _ in found} & want)
        e, a = (1000 * statistics.median(t) for t in times)
        rows.append({"space": label, "n": n, "exact_ms": round(e, 3), "annoy_ms": round(a, 3),
                     "annoy_recall@10": round(hits / (K * 50), 3), "faster": "exact" if e < a else "annoy"})
        print(f"  {label:>6} n={n:<7} exact {e:7.3f} ms  annoy {a:7.3f} ms (recall {rows[-1]['annoy_recall@10']:.3f})",
              file=sys.stderr, flush=True)
        if n < len(base):
            path.unlink()
    return rows


def suggested_threshold(rows):
    """The smallest n from which Annoy stays faster (None: exact won everywhere)."""
    for i, r in enumerate(rows):
        if all(later["faster"] == "annoy" for later in rows[i:]):
            return r["n"]
    return None


def _row(r):
    settings = f"{r.get('trees', ''):>5} {r.get('search_k', ''):>9}"
    extra = f" {r['build_s']:>7.1f} {r['file_mb']:>6}" if "build_s" in r else ""
    star = " *" if r.get("default") else ""
    return f"{r['dataset']:<14} {r['n']:>7} {r['dim']:>5} {r['method']:<26}{settings} {r['recall@10']:>9.3f} {r['qps']:>7}{extra}{star}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--features-db", help="A feature-cache .sqlite to draw real image features from.")
    add_doc_option(parser)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        print("GloVe 400k x 50-d ...", file=sys.stderr)
        g_base, g_queries, g_rows = glove(args.queries, rng)
        rows = sweep("glove-6b-50d", g_base, g_queries, g_rows, [10, 20, 40], [0, 300, 1000, 3000], tmp)
        i_base, i_queries, source = image_vectors(args.images, args.queries, rng, args.features_db)
        print(f"images: {source} ...", file=sys.stderr)
        rows += sweep("images-1280d", i_base, i_queries, None, [10, 20], [0, 1000, 3000, 5000], tmp)
        print("exact vs annoy, single queries ...", file=sys.stderr)
        default_ann = Path(tmp) / f"glove-6b-50d-{tuning.DEFAULT_TREES}.ann"
        cross = crossover("50-d", g_base, g_queries, [20_000, 50_000, 100_000, 150_000, 200_000, len(g_base)],
                          default_ann, rng, tmp)
        default_ann = Path(tmp) / f"images-1280d-{tuning.DEFAULT_TREES}.ann"
        cross += crossover("1280-d", i_base, i_queries, [5_000, 10_000, 20_000, 50_000, 75_000, len(i_base)],
                           default_ann, rng, tmp)
    report = {"k": K, "image_source": source, "rows": rows, "crossover": cross,
              "defaults": {"trees": tuning.DEFAULT_TREES, "search_k": {"50-d": tuning.search_k_rule(50),
                                                                          "1280-d": tuning.search_k_rule(1280)},
                           "exact_below": {"50-d": tuning.EXACT_BELOW["words"], "1280-d": tuning.EXACT_BELOW["features"]}},
              "suggested_exact_below": {s: suggested_threshold([c for c in cross if c["space"] == s])
                                        for s in ("50-d", "1280-d")},
              "seconds": round(time.perf_counter() - started)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lines = [f"{'dataset':<14} {'n':>7} {'dim':>5} {'method':<26}{'trees':>5} {'search_k':>9} {'recall@10':>9} {'qps':>7}"
             f" {'build_s':>7} {'MB':>6}"]
    lines += [_row(r) for r in rows]
    lines.append("  (* = defaults; search_k 'N*k' = nodes inspected per query for k results; Annoy's own default is n_trees*k)")
    lines.append(f"\nimage vectors: {source}")
    lines.append(f"\n{'space':<7} {'n':>7} {'exact ms':>9} {'annoy ms':>9} {'annoy recall':>12}  faster")
    lines += [f"{c['space']:<7} {c['n']:>7} {c['exact_ms']:>9.3f} {c['annoy_ms']:>9.3f} {c['annoy_recall@10']:>12.3f}  {c['faster']}"
              for c in cross]
    lines.append(f"\nAnnoy is faster from n = {report['suggested_exact_below']} (measured); index.tuning uses exact search "
                 f"below {report['defaults']['exact_below']}; {report['seconds']} s in all")
    publish(f"ann images {args.images}" + (f" features-db {Path(args.features_db).name}" if args.features_db else ""),
            "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
