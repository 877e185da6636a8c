"""Feature-extraction throughput: the full pipeline vs the model-only bound, in one run.

The pipeline decodes JPEGs in a thread pool while the backbone runs, and
writes every batch to the feature cache. The bound runs the same backbone on
tensors that were decoded beforehand. A fresh DEVISE_HOME keeps the cache cold.

    python bench/embed_throughput.py [--folder DIR] [--images 512]
"""
import argparse
import json
import os
import tempfile
import time

import numpy as np

from common import DEFAULT_DATA_ROOT


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", default=str(DEFAULT_DATA_ROOT / "caltech101"))
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ["DEVISE_HOME"] = tempfile.mkdtemp(prefix="devise-bench-")

    from devise.data.folders import scan
    from devise.data.images import load_square
    from devise.models.backbones import get_backbone
    from devise.models.embed import embed_paths

    folder = scan(args.folder, exclude=["BACKGROUND_Google"], warn=False)
    rng = np.random.default_rng(0)
    paths = [folder.paths[i] for i in rng.choice(len(folder.paths), min(args.images, len(folder.paths)), replace=False)]
    backbone = get_backbone()
    backbone.predict(np.zeros((args.batch_size, backbone.input_size, backbone.input_size, 3), np.uint8))  # warm-up trace

    decoded = np.stack([load_square(p, backbone.input_size) for p in paths])
    t0 = time.perf_counter()
    for start in range(0, len(decoded), args.batch_size):
        backbone.predict(decoded[start:start + args.batch_size])
    model_only = len(decoded) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    emb = embed_paths(paths, backbone, batch_size=args.batch_size, progress=False)
    pipeline = len(emb.paths) / (time.perf_counter() - t0)

    t0 = time.perf_counter()
    for p in paths:
        load_square(p, backbone.input_size)
    decode_only = len(paths) / (time.perf_counter() - t0)

    result = {"images": len(paths), "backbone": backbone.name, "cpus": os.cpu_count(),
              "pipeline_img_s": round(pipeline, 1), "model_only_img_s": round(model_only, 1),
              "decode_only_img_s_1thread": round(decode_only, 1), "ratio": round(pipeline / model_only, 3)}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['images']} images from {args.folder}, {backbone.name}, {result['cpus']} CPUs")
        print(f"{'pipeline (decode + model + cache)':<38}{pipeline:8.1f} img/s")
        print(f"{'model only (pre-decoded tensors)':<38}{model_only:8.1f} img/s")
        print(f"{'decode only (1 thread)':<38}{decode_only:8.1f} img/s")
        print(f"{'pipeline / model-only':<38}{result['ratio']:8.3f}")


if __name__ == "__main__":
    main()
