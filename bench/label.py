"""Zero-shot `label --assign` on Caltech-101: agreement with the true class, ConSE vs a held-out model.

    DEVISE_HOME=/tmp/dh python bench/label.py [--json] [--epochs 30]

For each 5-class set, the images of those classes are indexed twice, with
ConSE and with a model trained on the other Caltech-101 classes (those 5
held out, BACKGROUND_Google and Faces_easy excluded; trained once and kept
under DEVISE_HOME/bench/label-models, one per loss and epochs). Then `label --labels <the 5 class
phrases> --assign` runs with each of `label --calibrate`'s choices (devise.curate.labels):
"reference" (the default: the score `tag --labels` ranks by), "refine", "center" and "none";
the assigned label is compared with the image's class folder.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

from results_doc import add_doc_option, publish

from devise.curate import labels

import common
from curate_common import make_copy, seed_feature_cache

SETS = [["airplanes", "bonsai", "elephant", "pizza", "umbrella"],
        ["chair", "cup", "lamp", "laptop", "watch"],
        ["ant", "butterfly", "dolphin", "kangaroo", "rooster"]]
CALIBRATIONS = labels.CALIBRATIONS  # every choice --calibrate offers, the default first
LABEL_MAP = common.ROOT / "data" / "label_maps" / "caltech101.txt"


def held_out_model(data, classes, i, epochs):
    import devise
    from devise.core import manifest
    from devise.core.home import subdir
    from devise.models.head import HEAD_PARAMS
    from devise.train.config import DEFAULT_HEADS, DEFAULT_LOSS
    from devise.train.losses import loss_params

    # Keyed by loss and epochs; the manifest's loss constants (the softmax temperature, say) and head
    # recipe are checked too, so a model trained under another recipe is retrained, never reused.
    out = subdir("bench", "label-models") / f"set{i}-{DEFAULT_LOSS}-e{epochs}"
    recipe = {"loss_params": loss_params(DEFAULT_LOSS), "head": {**HEAD_PARAMS, "heads": DEFAULT_HEADS}}
    cached = manifest.peek(out) or {}  # none, or unreadable: train again
    if any(cached.get(key) != value for key, value in recipe.items()):
        start = time.perf_counter()
        devise.train(data, out=out, holdout_classes=classes, exclude=["BACKGROUND_Google", "Faces_easy"],
                     label_map=str(LABEL_MAP), epochs=epochs)
        print(f"trained {out} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return out


def agreement(name, phrases, truth, calibrate):
    from devise.curate.labels import label
    from devise.index.store import open_index

    label(phrases, index=name, assign=True, calibrate=calibrate)
    items = list(open_index(name).items)
    return sum(it["fields"]["label"] == truth[it["class"]] for it in items) / len(items), len(items)


def other_sets(data, label_map, count, seed=5):
    """ConSE agreement on random 5-class sets disjoint from SETS: were the calibrations tuned to SETS?"""
    import random

    from devise.data.labels import class_phrases
    from devise.index.builder import build_index as build

    used = {c for s in SETS for c in s} | {"BACKGROUND_Google", "Faces_easy"}
    pool = sorted(c for c in os.listdir(data) if c not in used and (data / c).is_dir())
    rng, out = random.Random(seed), []
    for i in range(count):
        classes = rng.sample(pool, 5)
        truth = class_phrases(classes, label_map)
        folder = make_copy(data, f"label-other{i}", classes=classes, symlink=True)
        seed_feature_cache(data, folder)
        build(folder, model="conse", name=f"label-other{i}", rebuild=True, progress=False)
        row = {"classes": classes}
        for calibrate in CALIBRATIONS:
            row[calibrate], _ = agreement(f"label-other{i}", [truth[c] for c in classes], truth, calibrate)
        out.append(row)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=common.DEFAULT_DATA_ROOT / "caltech101")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--others", type=int, default=12, help="Random other 5-class sets to check (ConSE).")
    parser.add_argument("--json", action="store_true")
    add_doc_option(parser)
    args = parser.parse_args()
    from devise.data.labels import class_phrases, read_label_map
    from devise.index.builder import build_index as build

    data = args.data.resolve()
    label_map = read_label_map(LABEL_MAP)
    rows = []
    for i, classes in enumerate(SETS):
        truth = class_phrases(classes, label_map)
        phrases = [truth[c] for c in classes]
        folder = make_copy(data, f"label-set{i}", classes=classes, symlink=True)
        seed_feature_cache(data, folder)
        model = held_out_model(data, classes, i, args.epochs)
        row = {"classes": classes, "labels": phrases}
        for kind, model_arg in (("conse", "conse"), ("held_out_model", str(model))):
            name = f"label-set{i}-{kind.replace('_', '-')}"
            build(folder, model=model_arg, name=name, rebuild=True, progress=False)
            for calibrate in CALIBRATIONS:
                row[f"{kind}_{calibrate}"], row["images"] = agreement(name, phrases, truth, calibrate)
        row["best"] = max(v for k, v in row.items() if k.startswith(("conse_", "held_out_model_")))
        rows.append(row)
    others = other_sets(data, label_map, args.others)
    if args.json:
        print(json.dumps({"sets": rows, "other_sets": others}, indent=2))
        return
    names = "/".join(CALIBRATIONS)
    lines = [f"{'set':<42} {'n':>5}  {'ConSE ' + names:>34}  {'held-out model ' + names:>43}  best"]
    for r in rows:
        conse = " ".join(f"{r['conse_' + c]:.3f}" for c in CALIBRATIONS)
        model = " ".join(f"{r['held_out_model_' + c]:.3f}" for c in CALIBRATIONS)
        lines.append(f"{','.join(r['classes']):<42} {r['images']:>5}  {conse:>34}  {model:>43}  {r['best']:.3f}")
    if others:
        mean = {c: sum(o[c] for o in others) / len(others) for c in CALIBRATIONS}
        lines.append(f"{len(others)} other random 5-class sets, ConSE, mean agreement: "
                     + ", ".join(f"{c} {mean[c]:.3f}" for c in CALIBRATIONS)
                     + "; refine beats center on " + f"{sum(o['refine'] > o['center'] for o in others)} of {len(others)}"
                     + ", reference on " + f"{sum(o['refine'] > o['reference'] for o in others)} of {len(others)}")
    publish("label", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    sys.exit(main())
