"""Server-side latency of `devise serve`'s /api/search on a 100,000-vector index, next to the cold CLI search.

    python bench/web_latency.py [--items 100000] [--requests 300] [--cli-runs 5] [--json] [--no-doc]

In a throw-away DEVISE_HOME it builds the synthetic 100k index of
bench/search_latency.py (its `build_index`: the library's own writer, GloVe
nouns plus noise), serves it with uvicorn on loopback in this process, and
sends --requests varied text queries (words, phrases, + and - parts,
weights) one after another. Server-side time is what the app itself
reports in its Server-Timing header (request in, response headers out);
the round trip through HTTP is shown beside it. The first request is
reported apart: it maps the word vectors. In the same run it times the
cold CLI, `python cli.py search QUERY` (a new process each time, as in
search_latency.py), and the page's follow-up /api/items call.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# A sibling script: its index builder and its process timer are reused, not copied.
import search_latency
from results_doc import add_doc_option, publish

GOAL_MS = 100.0


def percentile(values, q):
    return float(np.percentile(np.asarray(values, np.float64), q))


def queries(wv, n, rng):
    """Varied queries in the CLI's language, from common nouns."""
    from devise.data.vocabulary import tag_vocabulary

    nouns = [wv.words[r] for r in tag_vocabulary(wv, 3000)]
    pick = lambda: nouns[int(rng.integers(len(nouns)))]  # noqa: E731
    shapes = [lambda: pick(), lambda: f"{pick()} {pick()}", lambda: f"{pick()} + {pick()} - {pick()}",
              lambda: f"{pick()}:2 {pick()}", lambda: f'"{pick()} {pick()}" {pick()}']
    return [shapes[i % len(shapes)]() for i in range(n)]


def server_ms(response):
    """The app's own time for the request, from its Server-Timing header."""
    return float(response.headers["server-timing"].split("dur=")[1])


def timed(send, count):
    """(server-side ms, round-trip ms) of `count` calls of `send(i)`, which makes request i and returns its response."""
    server, trip = [], []
    for i in range(count):
        start = time.perf_counter()
        response = send(i)
        trip.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{response.request.url}: HTTP {response.status_code}: {response.text[:300]}")
        server.append(server_ms(response))
    return server, trip


def summary(values):
    return {"p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2),
            "max": round(max(values), 2), "n": len(values)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--feature-dim", type=int, default=1280)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cli-runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    add_doc_option(parser)
    args = parser.parse_args()
    import httpx

    from devise.web.app import BackgroundServer, create_app

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DEVISE_HOME": str(Path(tmp) / "home"), "TF_CPP_MIN_LOG_LEVEL": "3"}
        os.environ["DEVISE_HOME"] = env["DEVISE_HOME"]
        _, data, build_s, wv, _ = search_latency.build_index(args.items, args.feature_dim, rng)
        print(f"built {args.items} items in {build_s:.1f} s ({data.mode_of('words')} search)", file=sys.stderr)
        asked = queries(wv, args.requests + 1, rng)
        token = "bench"
        with BackgroundServer(create_app("bench100k", token=token)) as server, \
                httpx.Client(base_url=server.url, timeout=60) as client:
            search = lambda i: client.get("/api/search", params={"q": asked[i], "top": 10})  # noqa: E731
            first_server, first_trip = timed(search, 1)
            server_times, trips = timed(lambda i: search(i + 1), args.requests)
            paths = [hit["path"] for hit in client.get("/api/search", params={"q": "dog", "top": 24}).json()["results"]]
            describe = lambda i: client.post("/api/items", json={"paths": paths}, headers={"X-Devise-Token": token})  # noqa: E731
            items_first, _ = timed(describe, 1)
            items_times, _ = timed(describe, 50)
        cmd = [sys.executable, "cli.py", "search", search_latency.QUERY, "--index", "bench100k"]
        search_latency.wall(cmd, env, 1)  # page cache warm, as for the server
        cli_s, _ = search_latency.wall(cmd, env, args.cli_runs)
    report = {
        "index_items": args.items, "search_mode": data.mode_of("words"),
        "web_search_server_ms": summary(server_times), "web_search_round_trip_ms": summary(trips),
        "web_first_request_ms": {"server": round(first_server[0], 1), "round_trip": round(first_trip[0], 1)},
        "web_items_server_ms": {**summary(items_times), "first": round(items_first[0], 1)},
        "cli_cold_search_s": {"median": round(statistics.median(cli_s), 3), "min": round(min(cli_s), 3),
                              "runs": len(cli_s)},
    }
    report["goal_met"] = report["web_search_server_ms"]["p95"] < GOAL_MS
    if args.json:
        print(json.dumps(report, indent=2))
        return
    w, t, c = report["web_search_server_ms"], report["web_search_round_trip_ms"], report["cli_cold_search_s"]
    lines = [f"/api/search on a {args.items:,}-vector index ({report['search_mode']}), {w['n']} varied queries:",
             f"  server-side  p50 {w['p50']:.1f} ms  p95 {w['p95']:.1f} ms  (max {w['max']:.1f})  goal p95 < {GOAL_MS:.0f} ms: "
             f"{'met' if report['goal_met'] else 'NOT met'}",
             f"  round trip   p50 {t['p50']:.1f} ms  p95 {t['p95']:.1f} ms  (HTTP over loopback, same process as the client)",
             f"  first request (maps the word vectors): {report['web_first_request_ms']['server']:.1f} ms at the server"]
    i = report["web_items_server_ms"]
    lines.append(f"  /api/items for 24 result paths: p50 {i['p50']:.1f} ms  p95 {i['p95']:.1f} ms; first {i['first']:.1f} ms "
                 f"(reads the path table of the version once)")
    lines.append(f'cold CLI `python cli.py search "{search_latency.QUERY}"`, same index: median {c["median"] * 1000:.0f} ms '
                 f'(min {c["min"] * 1000:.0f}; {c["runs"]} runs)')
    name = f"web-latency items {args.items}" + (f" feature-dim {args.feature_dim}" if args.feature_dim != 1280 else "")
    publish(name, "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
