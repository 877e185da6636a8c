"""Feature-extraction throughput: every backbone runtime, the full pipeline and the machine's peak, in one run.

- Runtimes: each variant (runtime x threads x batch size, the tflite
  interpreter's images per invoke, and Keras on the
  JAX and PyTorch backends where installed) runs in its own process on the
  same pre-decoded tensors, after a warm-up batch; best and median of
  --repeats timed passes. Slow variants (xla, jax, torch on CPU) time fewer images.
- GFLOP/s: Lite0's multiply-accumulates are counted analytically from the
  Keras model (every Conv2D, DepthwiseConv2D and Dense; 1 MAC = 2 FLOPs;
  BatchNorm, ReLU6, adds and pooling are left out), times images/s.
- Peak: a float32 NumPy matmul (n x n, best of 5), 2 n^3 / t.
- Pipeline: decoding threads + the default runtime + the feature cache
  (embed_paths), vs the model-only bound and decoding alone; and the same
  with 64 images per tflite invoke (best of 2 each, alternated).

A fresh DEVISE_HOME keeps the feature cache cold; the tflite flatbuffer is
converted once in it and reused by every tflite variant.

    python bench/embed_throughput.py [--folder DIR] [--images 512] [--model-images 256] [--repeats 3]
"""
import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from results_doc import add_doc_option, publish

from devise.models.backbones.tflite_runtime import INVOKE_BATCH

from common import DEFAULT_DATA_ROOT, cold_home

CPUS = len(os.sched_getaffinity(0))
# (label, KERAS_BACKEND, DEVISE_RUNTIME, DEVISE_THREADS, batch size, image cap, DEVISE_INVOKE_BATCH)
VARIANTS = [
    ("keras tf.function", "tensorflow", "keras", None, 64, None, None),
    ("keras tf.function, 1 thread", "tensorflow", "keras", 1, 64, None, None),
    ("keras tf.function, batch 16", "tensorflow", "keras", None, 16, None, None),
    ("xla (jit_compile)", "tensorflow", "xla", None, 16, 16, None),
    ("tflite xnnpack", "tensorflow", "tflite", None, 64, None, None),
    ("tflite xnnpack, 1 thread", "tensorflow", "tflite", 1, 64, None, None),
    ("tflite xnnpack, invoke 8", "tensorflow", "tflite", None, 64, None, 8),
    ("tflite xnnpack, invoke 64", "tensorflow", "tflite", None, 64, None, 64),
    ("tflite xnnpack, 1 thr, invoke 64", "tensorflow", "tflite", 1, 64, None, 64),
    ("keras on jax (cpu)", "jax", None, None, 32, 64, None),
    ("keras on torch (cpu)", "torch", None, None, 32, 64, None),
]


def timed_passes(predict, images, batch, repeats):
    """Images/s of `repeats` full passes over `images`, after one warm-up batch."""
    predict(images[:batch])
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for start in range(0, len(images), batch):
            predict(images[start:start + batch])
        rates.append(len(images) / (time.perf_counter() - t0))
    return rates


def worker(args):
    """One variant in this process (settings from the environment); prints a JSON line."""
    from devise.models.backbones import get_backbone

    images = np.load(args.worker)
    t0 = time.perf_counter()
    backbone = get_backbone()
    backbone.batch_size = args.batch_size
    load_s = time.perf_counter() - t0
    rates = timed_passes(backbone.predict, images, args.batch_size, args.repeats)
    print(json.dumps({"runtime": backbone.runtime, "load_s": load_s, "rates": rates}))


def run_variant(variant, tensors, count, repeats):
    label, keras_backend, runtime, threads, batch, cap, invoke = variant
    env = {**os.environ, "KERAS_BACKEND": keras_backend}
    for variable in ("DEVISE_RUNTIME", "DEVISE_THREADS", "DEVISE_INVOKE_BATCH"):
        env.pop(variable, None)
    env.update({k: str(v) for k, v in (("DEVISE_RUNTIME", runtime), ("DEVISE_THREADS", threads),
                                       ("DEVISE_INVOKE_BATCH", invoke)) if v})
    path = tensors if cap is None or cap >= count else tensors.replace(".npy", f"-{cap}.npy")
    if not os.path.exists(path):
        np.save(path, np.load(tensors)[:cap])
    done = subprocess.run([sys.executable, __file__, "--worker", path, "--batch-size", str(batch),
                           "--repeats", str(repeats)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {"label": label, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    out = json.loads(done.stdout.strip().splitlines()[-1])
    default_invoke = INVOKE_BATCH if out["runtime"] == "tflite" else None
    return {"label": label, "runtime": out["runtime"], "threads": threads or CPUS, "batch": batch,
            "invoke": invoke or default_invoke,
            "images": min(count, cap or count), "load_s": round(out["load_s"], 1),
            "best_img_s": round(max(out["rates"]), 1), "median_img_s": round(statistics.median(out["rates"]), 1)}


def pipeline_rate(paths, backbone, batch_size, invoke):
    """Images/s of embed_paths into a cold feature cache (a fresh home, the converted model carried over)."""
    from devise.models.backbones.tflite_runtime import cache_folder
    from devise.models.embed import embed_paths

    tflite = backbone.runtime == "tflite"
    previous_invoke = backbone._run.invoke_batch if tflite else None
    with cold_home("devise-pipeline-", cache_folder()):
        if tflite:
            backbone._run.invoke_batch = invoke
        try:
            t0 = time.perf_counter()
            done = embed_paths(paths, backbone, batch_size=batch_size, progress=False)
            return len(done.paths) / (time.perf_counter() - t0)
        finally:
            if tflite:
                backbone._run.invoke_batch = previous_invoke


def macs_per_image(model):
    """Multiply-accumulates of the model's Conv2D, DepthwiseConv2D and Dense layers for one image."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D"):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            total += h * w * kh * kw * (c_in if kind == "DepthwiseConv2D" else c_in * c_out)
        elif kind == "Dense":
            total += layer.input.shape[-1] * layer.units
    return int(total)


def matmul_peak_gflops(n=2048, tries=5):
    """Float32 peak of this machine as NumPy's BLAS sees it: 2 n^3 / best time."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(tries))
    return 2 * n ** 3 / best / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", default=str(DEFAULT_DATA_ROOT / "caltech101"))
    ap.add_argument("--images", type=int, default=512, help="images for the pipeline and decode-only passes")
    ap.add_argument("--model-images", type=int, default=256, help="pre-decoded images per model-only pass")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3, help="timed passes per variant (best and median shown)")
    ap.add_argument("--variants", default="", help="comma-separated substrings: run only matching variants")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    os.environ["DEVISE_HOME"] = tempfile.mkdtemp(prefix="devise-bench-")
    atexit.register(shutil.rmtree, os.environ["DEVISE_HOME"], True)  # this run's throwaway home

    from devise.data.folders import scan
    from devise.data.images import load_square
    from devise.models.backbones import get_backbone

    folder = scan(args.folder, exclude=["BACKGROUND_Google"], warn=False)
    rng = np.random.default_rng(0)
    paths = [folder.paths[i] for i in rng.choice(len(folder.paths), min(args.images, len(folder.paths)), replace=False)]
    t0 = time.perf_counter()
    backbone = get_backbone()  # the default runtime; converts and caches the tflite flatbuffer once
    first_load = time.perf_counter() - t0
    decoded = np.stack([load_square(p, backbone.input_size) for p in paths])
    tensors = os.path.join(os.environ["DEVISE_HOME"], "decoded.npy")
    np.save(tensors, decoded[:args.model_images])

    peak = matmul_peak_gflops()
    macs = macs_per_image(backbone._model)
    wanted = [w.strip() for w in args.variants.split(",") if w.strip()]
    variants = []
    for variant in VARIANTS:
        if wanted and not any(w in variant[0] for w in wanted):
            continue
        if variant[1] != "tensorflow" and not _installed(variant[1]):
            variants.append({"label": variant[0], "error": f"{variant[1]} is not installed"})
            continue
        variants.append(run_variant(variant, tensors, min(args.model_images, len(decoded)), args.repeats))
        print(f"  measured {variant[0]}", file=sys.stderr, flush=True)
    for v in variants:
        if "best_img_s" in v:
            v["gflop_s"] = round(v["best_img_s"] * 2 * macs / 1e9, 1)
            v["percent_of_peak"] = round(100 * v["gflop_s"] / peak, 1)

    model_only = max(timed_passes(backbone.predict, decoded[:args.model_images], args.batch_size, args.repeats))
    # The pipeline with the default images per invoke and with 64, alternated, each into a cold cache.
    pipelines = {INVOKE_BATCH: [], 64: []}
    for _ in range(2):
        for invoke in pipelines:
            pipelines[invoke].append(pipeline_rate(paths, backbone, args.batch_size, invoke))
    pipeline, pipeline_64 = max(pipelines[INVOKE_BATCH]), max(pipelines[64])
    t0 = time.perf_counter()
    for p in paths:
        load_square(p, backbone.input_size)
    decode_only = len(paths) / (time.perf_counter() - t0)

    result = {"images": len(paths), "backbone": backbone.name, "default_runtime": backbone.runtime, "cpus": CPUS,
              "load_avg_1min": round(os.getloadavg()[0], 2), "first_load_s": round(first_load, 1),
              "gmacs_per_image": round(macs / 1e9, 3), "gflop_per_image": round(2 * macs / 1e9, 3),
              "matmul_peak_gflop_s": round(peak, 1), "variants": variants,
              "pipeline_img_s": round(pipeline, 1), "pipeline_invoke64_img_s": round(pipeline_64, 1),
              "model_only_img_s": round(model_only, 1),
              "decode_only_img_s_1thread": round(decode_only, 1), "ratio": round(pipeline / model_only, 3)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        publish("embed-throughput", table_text(result, args), doc=not args.no_doc)


def table_text(r, args):
    lines = [f"{r['images']} images from {args.folder}, {r['backbone']} (default runtime {r['default_runtime']}), "
             f"{r['cpus']} CPUs, 1-min load average {r['load_avg_1min']} at the end",
             f"Lite0: {r['gmacs_per_image']} GMACs = {r['gflop_per_image']} GFLOP per image (conv + dense, counted); "
             f"float32 matmul peak {r['matmul_peak_gflop_s']} GFLOP/s",
             f"\nmodel only, pre-decoded tensors, best / median of {args.repeats}:",
             f"{'variant':<34}{'thr':>4}{'batch':>6}{'invoke':>7}{'imgs':>6}{'load s':>8}{'best':>8}{'median':>8}{'GFLOP/s':>9}{'%peak':>7}"]
    for v in r["variants"]:
        if "error" in v:
            lines.append(f"{v['label']:<34}  not measured: {v['error']}")
            continue
        lines.append(f"{v['label']:<34}{v['threads']:>4}{v['batch']:>6}{v['invoke'] or '-':>7}{v['images']:>6}{v['load_s']:>8}"
                     f"{v['best_img_s']:>8}{v['median_img_s']:>8}{v['gflop_s']:>9}{v['percent_of_peak']:>7}")
    lines.append(f"\n{'default runtime, first load (converts)':<38}{r['first_load_s']:8.1f} s")
    later = [v["load_s"] for v in r["variants"] if v.get("label") == "tflite xnnpack"]
    if later:
        lines.append(f"{'default runtime, later loads':<38}{later[0]:8.1f} s")
    lines.append(f"{'pipeline (decode + model + cache)':<38}{r['pipeline_img_s']:8.1f} img/s")
    lines.append(f"{'pipeline, 64 images per invoke':<38}{r['pipeline_invoke64_img_s']:8.1f} img/s")
    lines.append(f"{'model only (pre-decoded tensors)':<38}{r['model_only_img_s']:8.1f} img/s")
    lines.append(f"{'decode only (1 thread)':<38}{r['decode_only_img_s_1thread']:8.1f} img/s")
    lines.append(f"{'pipeline / model-only':<38}{r['ratio']:8.3f}")
    return "\n".join(lines)


def _installed(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    main()
