"""Scale-out: `--engine local` against `--engine ray` with 1 and 2 workers, and the driver's ingest rate, in one run.

Ray runs twice with 2 workers: once starting its own local Ray, as
`devise index --engine ray` does on a laptop, and once joining a Ray that
is already up, as on a cluster (`--address`), where nobody waits for Ray
itself to start.

The same images (a fixed-seed sample of Caltech-101) go through
models.embed.embed_paths once per engine, each time into a fresh, cold
feature cache (a new DEVISE_HOME). Every commit to the cache is timed, so
each run splits into start-up (until the first batch is committed: Ray's
start, the actors loading their backbones, the first batch) and steady state
(first commit to last). The driver ingest rate is FeatureCache.store fed with
synthetic rows shaped as the actors send them, no model: the most rows per
second any number of workers can deliver through one driver. "driver CPU s"
is the CPU time of the driver process during a run (for the local engine,
all of the work; for Ray, what the driver takes from the actors' cores).

Ray's floor: the same jobs again with the model taken out (`ModelFree`: each
image is still read and decoded by the backbone's recipe, the backbone is
still loaded, but predict returns zeros), and `ray.init` plus
`ray.shutdown` alone. What Ray adds over the local engine without a model is
the fixed price of running on Ray at all; set against the local job's time,
it says how large a job must be before a whole-job ratio (start-up
included) can reach the 0.85 goal on this machine.

Ray's goals (issue 32), printed with a mark under each job size:
- steady state: the rate with 2 workers, start-up left out, >= 0.95 x local's;
- whole job: all of Caltech-101 (`--images all`) on a Ray already up, start-up
  included, >= 0.85 x local's. A smaller job is shown but not judged.

    python bench/scale_out.py [--images all | 1000 [5000 ...]] [--batch-size 64] [--no-floor] [--json] [--no-doc]
"""
import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path

import numpy as np
from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, cold_home
from ray_floor import ModelFree, print_floor, ray_init_seconds, smallest_job

RUNS = (("local", None, False), ("ray", 1, False), ("ray", 2, False), ("ray", 2, True))
STEADY_GOAL, WHOLE_GOAL = 0.95, 0.85  # issue 32's goals for 2 workers (ray_floor.GOAL is the whole-job one)
FLOOR_RUNS = (("local", None, False), ("ray", 2, False), ("ray", 2, True))


def sample(folder, count, seed=0):
    from devise.data.folders import scan

    found = scan(folder, exclude=["BACKGROUND_Google"], warn=False)
    rng = np.random.default_rng(seed)
    count = len(found.paths) if count is None else min(count, len(found.paths))
    return [found.paths[i] for i in rng.choice(len(found.paths), count, replace=False)]


def timed_commits():
    """Wrap FeatureCache.store to record (time, rows) of every commit; returns the list it fills."""
    from devise.data.feature_cache import FeatureCache

    commits, original = [], FeatureCache.store

    def store(self, entries):
        entries = list(entries)
        original(self, entries)
        commits.append((time.perf_counter(), len(entries)))

    FeatureCache.store = store
    return commits


def one_run(paths, backbone, engine, workers, running, batch_size, commits, converted):
    from devise.engines.choice import engine_for
    from devise.models.embed import embed_paths

    with cold_home("devise-scale-", converted):
        commits.clear()
        ray = _started_ray(workers) if running else None
        t0, cpu0 = time.perf_counter(), _driver_cpu()
        done = embed_paths(paths, backbone, batch_size=batch_size, progress=False, warn_bad=False,
                           engine=engine_for(engine, workers=workers))
        total, driver_cpu = time.perf_counter() - t0, _driver_cpu() - cpu0
        if ray is not None:
            ray.shutdown()
    first = commits[0][0]
    last = commits[-1][0]
    steady_rows = sum(rows for _, rows in commits[1:])
    # With fewer than 3 commits the batches after the first may have run side by side with it.
    steady = round(steady_rows / (last - first), 1) if len(commits) >= 3 and last > first else None
    return {"engine": engine, "workers": workers or "threads", "ray_already_running": running, "embedded": done.computed,
            "seconds": round(total, 2), "img_s": round(len(paths) / total, 1), "startup_s": round(first - t0, 2),
            "steady_img_s": steady, "after_last_commit_s": round(t0 + total - last, 2), "commits": len(commits),
            "driver_cpu_s": round(driver_cpu, 1)}


def _driver_cpu():
    """CPU seconds of this process (all its threads): what the driver takes from the cores the actors use."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _started_ray(workers):
    """A local Ray started before the clock, as a cluster is up before a job joins it."""
    from devise.engines.ray_runtime import QUIET, import_ray

    ray = import_ray()
    ray.init(num_cpus=workers, **QUIET)
    return ray


def ingest_rate(backbone, batch_size, rows=20000):
    """FeatureCache.store rows/s for synthetic rows (batches of `batch_size`), as the Ray driver commits them."""
    from devise.data.feature_cache import FeatureCache

    with cold_home("devise-ingest-") as home:
        files = home / "files"
        files.mkdir()
        for i in range(rows):  # the cache stats every path it stores; empty files are enough
            (files / f"{i:06d}.jpg").touch()
        rng = np.random.default_rng(0)
        feats = rng.standard_normal((batch_size, backbone.feature_dim)).astype(np.float32)
        logits = rng.standard_normal((batch_size, 1000)).astype(np.float16)
        names = [str(files / f"{i:06d}.jpg") for i in range(rows)]
        with FeatureCache(backbone.fingerprint) as cache:
            t0 = time.perf_counter()
            for start in range(0, rows, batch_size):
                batch = names[start:start + batch_size]
                cache.store((p, f, lg, None) for p, f, lg in zip(batch, feats, logits))
            seconds = time.perf_counter() - t0
    return {"rows": rows, "batch_size": batch_size, "seconds": round(seconds, 2), "rows_s": round(rows / seconds)}


def floor(paths, backbone, batch_size, commits, converted, local):
    """FLOOR_RUNS with ModelFree: what Ray costs over the local engine when there is no model to run,
    and the smallest job at which that fits the goal at the rate of `local`, the real local run."""
    from devise.engines import ray_embed

    saved = ray_embed.BACKBONE_FACTORY, list(ray_embed.WORKER_PATHS)
    ray_embed.BACKBONE_FACTORY = "ray_floor:model_free_factory"
    ray_embed.WORKER_PATHS[:] = [str(Path(__file__).resolve().parent)]
    try:
        runs = [one_run(paths, ModelFree(backbone), engine, workers, running, batch_size, commits, converted)
                for engine, workers, running in FLOOR_RUNS]
    finally:
        ray_embed.BACKBONE_FACTORY, ray_embed.WORKER_PATHS[:] = saved
    for run in runs[1:]:
        run["overhead_s"] = round(run["seconds"] - runs[0]["seconds"], 2)
        run["smallest_job_for_goal"] = smallest_job(local, run["overhead_s"])
    return {"runs": runs, "ray_init": ray_init_seconds(2)}


def measure(folder, count, backbone, batch_size, commits, converted, with_floor=True):
    """Every engine of RUNS on the same `count` images (None: all); the ratios are against the local engine's run."""
    paths = sample(folder, count)
    everything = len(paths) == len(sample(folder, None))
    load_before = os.getloadavg()[0]
    runs = [one_run(paths, backbone, engine, workers, running, batch_size, commits, converted)
            for engine, workers, running in RUNS]
    model_free = floor(paths, backbone, batch_size, commits, converted, runs[0]) if with_floor else None
    local = runs[0]
    for run in runs[1:]:
        run["ratio_vs_local"] = round(run["img_s"] / local["img_s"], 3)
        if run["steady_img_s"] and local["steady_img_s"]:
            run["steady_ratio_vs_local"] = round(run["steady_img_s"] / local["steady_img_s"], 3)
    return {"images": len(paths), "all_of_the_folder": everything, "load_before": load_before,
            "load_after": os.getloadavg()[0], "runs": runs, "floor": model_free, "goals": goals(runs, everything)}


def goals(runs, everything):
    """Issue 32's goals for Ray with 2 workers: [{goal, run, ratio, met}]; met is None where not judged."""
    out = []
    for run in runs:
        if run["engine"] != "ray" or run["workers"] != 2:
            continue
        ratio = run.get("steady_ratio_vs_local")
        out.append({"goal": f"steady-state rate >= {STEADY_GOAL} x local", "run": run_name(run), "ratio": ratio,
                    "met": None if ratio is None else ratio >= STEADY_GOAL})
        if run["ray_already_running"]:
            out.append({"goal": f"whole job, all of Caltech-101, Ray already up, >= {WHOLE_GOAL} x local",
                        "run": run_name(run), "ratio": run["ratio_vs_local"],
                        "met": run["ratio_vs_local"] >= WHOLE_GOAL if everything else None})
    return out


def print_goals(size):
    print("Ray's goals (issue 32):")
    for g in size["goals"]:
        mark = "✓" if g["met"] else "✗" if g["met"] is False else "-"
        note = "" if g["met"] is not None else (
            " (not judged: a sample, not all of Caltech-101; run --images all)" if g["ratio"] is not None
            else " (not judged: too few commits for a steady state)")
        print(f"  {mark} {g['goal']}: {g['run']}: {g['ratio'] if g['ratio'] is not None else 'n/a'}{note}")


def print_table(size, backbone, batch_size):
    print(f"{size['images']} Caltech-101 images (seed 0), {backbone.name}, {os.cpu_count()} CPUs, "
          f"batch {batch_size}, 1-min load before: {size['load_before']:.2f}")
    print(f"{'engine':<34}{'total s':>9}{'img/s':>8}{'start-up s':>12}{'steady img/s':>14}{'ratio':>7}"
          f"{'steady ratio':>14}{'driver CPU s':>14}")
    for run in size["runs"]:
        print(f"{run_name(run):<34}{run['seconds']:>9.1f}{run['img_s']:>8.1f}{run['startup_s']:>12.1f}"
              f"{run['steady_img_s'] or float('nan'):>14.1f}{run.get('ratio_vs_local', 1.0):>7.3f}"
              f"{run.get('steady_ratio_vs_local', 1.0 if run['engine'] == 'local' else float('nan')):>14.3f}"
              f"{run['driver_cpu_s']:>14.1f}")
    print(f"1-min load after: {size['load_after']:.2f}")
    print_goals(size)
    if size["floor"]:
        print_floor(size, run_name)


def run_name(run):
    name = "local" if run["engine"] == "local" else f"ray, {run['workers']} worker(s)"
    return name + (", Ray already up" if run["ray_already_running"] else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", default=str(DEFAULT_DATA_ROOT / "caltech101"))
    ap.add_argument("--images", nargs="+", default=[1000], type=lambda v: None if v == "all" else int(v),
                    help="job sizes, or 'all' (all of Caltech-101, what the whole-job goal is judged on); several "
                         "show how a longer job amortises Ray's start-up")
    ap.add_argument("--no-floor", action="store_true", help="leave out Ray's floor (the runs without a model)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    from devise.models.backbones import get_backbone
    from devise.models.backbones.tflite_runtime import cache_folder

    backbone = get_backbone()
    commits, converted = timed_commits(), cache_folder()
    sizes = [measure(args.folder, count, backbone, args.batch_size, commits, converted, not args.no_floor)
             for count in args.images]
    result = {"backbone": backbone.name, "cpus": os.cpu_count(), "batch_size": args.batch_size, "sizes": sizes,
              "driver_ingest": [ingest_rate(backbone, size) for size in sorted({args.batch_size, 512})]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    report = io.StringIO()
    with contextlib.redirect_stdout(report):  # the table printers (ray_floor's too) print; their text is the report
        for size in sizes:
            print_table(size, backbone, args.batch_size)
            print()
        if len(sizes) > 1:
            print("whole-job ratio to local by job size (img/s, start-up included)")
            print(f"{'engine':<34}" + "".join(f"{size['images']:>10,}" for size in sizes))
            for i, run in enumerate(sizes[0]["runs"][1:], start=1):
                print(f"{run_name(run):<34}" + "".join(f"{size['runs'][i]['ratio_vs_local']:>10.3f}" for size in sizes))
            print()
        for ingest in result["driver_ingest"]:
            print(f"driver ingest (FeatureCache.store, synthetic rows, commits of {ingest['batch_size']}): "
                  f"{ingest['rows_s']:,} rows/s ({ingest['rows']:,} rows in {ingest['seconds']} s)")
    publish(section_name(args), report.getvalue().rstrip("\n"), doc=not args.no_doc)


def section_name(args):
    """One section per job-size list, batch size, folder and floor choice, so runs of another shape keep theirs."""
    images = ",".join("all" if count is None else str(count) for count in args.images)
    parts = ["scale-out", f"images {images}", f"batch {args.batch_size}"]
    if Path(args.folder).resolve() != (DEFAULT_DATA_ROOT / "caltech101").resolve():
        parts.append(f"folder {Path(args.folder).name}")
    return " ".join(parts + (["no floor"] if args.no_floor else []))


if __name__ == "__main__":
    main()
