"""Cold-start latency of `python cli.py tag PHOTO` on a photo devise has not embedded yet, per runtime.

    python bench/tag_latency.py [--runs 7] [--json]

In a throw-away DEVISE_HOME, every run is a new Python process tagging a new
copy of a photo (so the feature cache misses and the backbone really runs),
with ConSE, as a user tags a fresh photo. The default runtime (TFLite) loads
the backbone from its converted model, converted once by an untimed first
run; `DEVISE_RUNTIME=keras` builds the Keras model and imports TensorFlow.
Runs alternate between the runtimes, so load from elsewhere hits both alike.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_doc import add_doc_option, publish

import common  # noqa: F401 (puts the repo on sys.path)

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES = (("tflite (default)", {}), ("keras graph", {"DEVISE_RUNTIME": "keras"}))
CHECK = ("import sys\nfrom devise.cli import cli\ncli(['tag', %r, '--top', '3'], standalone_mode=False)\n"
         "print('TF_IMPORTED', 'tensorflow' in sys.modules, file=sys.stderr)")


def photo():
    """A real photo that ships with scikit-image (a test dependency), as a JPEG."""
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.chelsea())


def tag_once(env, folder, image, count):
    path = folder / f"photo{count:03d}.jpg"
    image.save(path, quality=92)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "cli.py", "tag", str(path), "--top", "3"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"tag failed:\n{out.stderr}")
    return seconds, out.stdout.strip().partition(": ")[2]  # the tags, without the throw-away path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    add_doc_option(parser)
    args = parser.parse_args()
    image = photo()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        base = {**os.environ, "DEVISE_HOME": str(Path(tmp) / "home")}
        envs = {label: {**base, **extra} for label, extra in RUNTIMES}
        count = 0
        first = {}
        for label, env in envs.items():  # untimed: converts the backbone, warms the page cache
            first[label], _ = tag_once(env, folder, image, count)
            count += 1
        times = {label: [] for label in envs}
        for _ in range(args.runs):
            for label, env in envs.items():
                seconds, shown = tag_once(env, folder, image, count)
                times[label].append(seconds)
                count += 1
        path = folder / "check.jpg"
        image.save(path, quality=92)
        check = subprocess.run([sys.executable, "-c", CHECK % str(path)], cwd=ROOT, env=envs[RUNTIMES[0][0]],
                               capture_output=True, text=True).stderr
        shutil.rmtree(folder)
    report = {"runs": args.runs, "tags": shown, "tensorflow_imported_by_default": "TF_IMPORTED True" in check,
              "runtimes": {label: {"median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
                                   "max_s": round(max(t), 3), "first_run_s": round(first[label], 2)}
                           for label, t in times.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lines = [f"cold `python cli.py tag PHOTO --top 3`, a photo not embedded yet, ConSE, {args.runs} runs each "
             f"(tags: {shown})"]
    # The first run of all also sets up the new home (word vectors) and converts the backbone.
    lines.append(f"{'runtime':<20}{'median s':>10}{'min s':>8}{'max s':>8}{'first run s':>13}")
    for label, r in report["runtimes"].items():
        lines.append(f"{label:<20}{r['median_s']:>10.3f}{r['min_s']:>8.3f}{r['max_s']:>8.3f}{r['first_run_s']:>13.2f}")
    lines.append(f"TensorFlow imported by the default runtime: {'yes' if report['tensorflow_imported_by_default'] else 'no'}")
    publish("tag-latency", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
