"""Backbone images/s through Keras on the current backend (KERAS_BACKEND=torch or jax), GPU when there is one.

Made for a GPU machine with PyTorch and/or JAX, no TensorFlow and no
internet (bench/gpu.sh runs it once per backend). Prints, in one run:

- model only: pre-decoded uint8 tensors through ``Backbone.predict``, per
  batch size, after a warm-up batch (compilation, cuDNN autotuning); best and
  median of --repeats passes;
- with decoding: ``embed_paths`` on JPEG files (decoding threads on every
  core, the backbone, the feature cache), i.e. the pipeline ``devise index`` runs.
  Without --folder the files are synthetic 500x375 JPEGs (Caltech-101's typical
  size) written first; decoding cost depends on pixel counts, not on content.

It also checks that TensorFlow was never imported.

    KERAS_BACKEND=torch python bench/gpu_backbone.py [--batch-sizes 64,128,256] [--images 2048] [--files 2048]
    KERAS_BACKEND=jax python bench/gpu_backbone.py --tiny     # a few images: proves it runs, on the CPU
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def device_name(backend):
    if backend == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return backend


def model_only(backbone, batch, count, repeats):
    """Best and median images/s of `repeats` passes over `count` pre-decoded images."""
    images = np.random.default_rng(0).integers(0, 256, (count, backbone.input_size, backbone.input_size, 3), np.uint8)
    backbone.batch_size = batch
    backbone.predict(images[:batch])  # warm-up: traces and compiles for this batch shape
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        backbone.predict(images)  # predict chunks by backbone.batch_size; results come back to the host
        rates.append(count / (time.perf_counter() - t0))
    return max(rates), statistics.median(rates)


def synthetic_jpegs(folder, count, size=(500, 375)):
    """`count` JPEGs of smooth noise (compressing like photos do, roughly), written once."""
    from PIL import Image

    rng = np.random.default_rng(0)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(count):
        path = os.path.join(folder, f"{i:06d}.jpg")
        if not os.path.exists(path):
            small = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), np.uint8)
            Image.fromarray(small).resize(size, Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def with_decoding(backbone, paths, batch, workers):
    from devise.engines.local import LocalEngine
    from devise.models.embed import embed_paths

    t0 = time.perf_counter()
    done = embed_paths(paths, backbone, batch_size=batch, progress=False, engine=LocalEngine(workers=workers))
    return len(done.paths) / (time.perf_counter() - t0), done.computed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-sizes", default=None, help="comma list (default 32,64,128,256; --tiny: 4)")
    ap.add_argument("--images", type=int, default=None, help="pre-decoded images per pass (default 2048; --tiny 8)")
    ap.add_argument("--files", type=int, default=None, help="files for the decoding run (default 2048; --tiny 8)")
    ap.add_argument("--folder", help="real JPEGs to decode instead of synthetic ones (the first --files found)")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)), help="decoding threads")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="a few images: proves the script runs (CPU is fine)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    batches = [int(b) for b in (args.batch_sizes or ("4" if args.tiny else "32,64,128,256")).split(",")]
    count = args.images or (8 if args.tiny else 2048)
    files = args.files or (8 if args.tiny else 2048)
    os.environ["DEVISE_HOME"] = tempfile.mkdtemp(prefix="devise-gpu-")  # a cold feature cache

    from devise.models.backbones import get_backbone
    from devise.models.tensorflow_env import import_keras

    backend = import_keras().backend.backend()
    t0 = time.perf_counter()
    backbone = get_backbone()
    load_s = time.perf_counter() - t0
    rows = []
    for batch in batches:
        best, median = model_only(backbone, batch, max(count, batch), args.repeats)
        rows.append({"batch": batch, "best_img_s": round(best, 1), "median_img_s": round(median, 1)})
        print(f"  model only, batch {batch}: {best:.1f} img/s", file=sys.stderr, flush=True)

    if args.folder:
        from devise.data.folders import scan

        paths = scan(args.folder, warn=False).paths[:files]
    else:
        paths = synthetic_jpegs(os.path.join(os.environ["DEVISE_HOME"], "jpegs"), files)
    fastest = max(rows, key=lambda r: r["best_img_s"])["batch"]
    pipeline, embedded = with_decoding(backbone, paths, fastest, args.workers)
    result = {"backend": backend, "runtime": backbone.runtime, "device": device_name(backend),
              "backbone": backbone.name, "load_s": round(load_s, 1), "model_only": rows,
              "pipeline": {"files": len(paths), "embedded": embedded, "batch": fastest, "workers": args.workers,
                           "source": args.folder or "synthetic 500x375 JPEGs", "img_s": round(pipeline, 1)},
              "tensorflow_imported": "tensorflow" in sys.modules}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{backbone.name} through Keras on {backend} ({result['device']}), loaded in {result['load_s']} s")
    print(f"{'model only (pre-decoded)':<34}{'batch':>6}{'best img/s':>12}{'median':>10}")
    for r in rows:
        print(f"{'':<34}{r['batch']:>6}{r['best_img_s']:>12}{r['median_img_s']:>10}")
    p = result["pipeline"]
    print(f"{'with decoding (embed_paths)':<34}{p['batch']:>6}{p['img_s']:>12}   "
          f"{p['embedded']} of {p['files']} files ({p['source']}), {p['workers']} decoding threads")
    print(f"TensorFlow imported: {result['tensorflow_imported']}")


if __name__ == "__main__":
    main()
