"""Rows into Milvus: the driver writing them, against Ray actors writing them (index.stores.milvus_rows).

    nice -n 10 python bench/milvus_ingest.py [--rows 20000] [--workers 2]

The same synthetic rows (1280-d features, 50-d word vectors, one item each)
go through devise's MilvusWriter.write three ways:
- driver -> Milvus Lite .db (embedded; the only way a .db can be written);
- driver -> a Milvus server (here Milvus Lite's own gRPC server on a port,
  `python -m milvus_lite server`: a real server URI, pure Python inside);
- Ray actors -> the same server, on a Ray already up (as on a cluster).
Rows/s is of the whole write (create, insert, flush); "driver CPU s" is what
the writing process itself spent. A Milvus server in C++ and Go takes far
more than this one-process Python server can; what the Ray path shows here
is how much of the work leaves the driver.
"""
import argparse
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_doc import publish

from devise.core.vectors import unit_rows
from devise.engines.ray_runtime import ray_session
from devise.index.items import make_item
from devise.index.stores import milvus, milvus_writer

import common  # noqa: F401 (puts the repo on sys.path)


def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server(data_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the Milvus Lite server did not start")


def write(uri, name, vectors, features, items, tmp, ray):
    writer = milvus_writer.MilvusWriter(uri, name, ray)
    modes = {"words": ("exact", ""), "features": ("exact", "")}
    cpu, start = cpu_s(), time.perf_counter()
    writer.write(Path(tmp) / f"v-{name}", vectors, features, items, trees=1, seed=0, progress=False, modes=modes)
    seconds = time.perf_counter() - start
    return {"path": name, "rows": len(items), "seconds": round(seconds, 1), "rows_s": round(len(items) / seconds),
            "driver_cpu_s": round(cpu_s() - cpu, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    features = unit_rows(np.abs(rng.normal(size=(args.rows, 1280))).astype(np.float32))
    vectors = unit_rows(rng.normal(size=(args.rows, 50)).astype(np.float32))
    items = [make_item(i, f"/photos/c{i % 100}/img{i:07d}.jpg", f"c{i % 100}", 1000 + i, i) for i in range(args.rows)]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(write(str(Path(tmp) / "lite.db"), "driver -> Milvus Lite .db", vectors, features, items, tmp,
                             None))
        milvus.close()
        proc, uri = server(Path(tmp) / "server")
        try:
            results.append(write(uri, "driver -> server", vectors, features, items, tmp, None))
            with ray_session(None, args.workers, notice=False):
                ray_path = f"{args.workers} Ray actors -> server (Ray up)"
                results.append(write(uri, ray_path, vectors, features, items, tmp, {"workers": args.workers}))
        finally:
            milvus.close()
            proc.terminate()
            proc.wait(timeout=60)
    lines = ["| path | rows | seconds | rows/s | driver CPU s |", "|---|---|---|---|---|"]
    lines += [f"| {r['path']} | {r['rows']} | {r['seconds']} | {r['rows_s']} | {r['driver_cpu_s']} |" for r in results]
    lines.append(f"\n1280-d features and 50-d word vectors per row; {os.cpu_count()} cores, 1-minute load "
                 f"{os.getloadavg()[0]:.1f} at the end.")
    publish("Milvus ingest: driver or Ray actors", "\n".join(lines), doc=not args.no_doc, fence=False)


if __name__ == "__main__":
    main()
