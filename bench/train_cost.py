"""What `devise train --heads K` costs and buys: training seconds and seen-class fold scores, side by side.

    python bench/train_cost.py [--heads 1,3] [--data-root DIR] [--seed 0] [--backbone NAME] [--json] [--no-doc]

Each K trains the same Caltech-101 model (20% of the classes held out, seed
0, BACKGROUND_Google and Faces_easy excluded, the repository's label map),
one after the other in this process. The feature cache under DEVISE_HOME
is filled before the first timing, so each time is the training alone. The fold
scores are what calibration chose by (ZSL hit@1 and GZSL H on the
seen-class folds); no held-out class plays a part in them.
"""
import argparse
import json
import time

from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, ROOT

EXCLUDE = ["BACKGROUND_Google", "Faces_easy"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heads", default="1,3", help="comma-separated head counts, trained in turn")
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backbone", default=None)
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    import devise
    from devise.core.home import subdir
    from devise.train.dataset import load_dataset

    root = __import__("pathlib").Path(args.data_root) / "caltech101"
    label_map = str(ROOT / "data" / "label_maps" / "caltech101.txt")
    load_dataset(root, exclude=EXCLUDE, label_map=label_map, backbone=args.backbone)
    rows = []
    for heads in (int(k) for k in args.heads.split(",")):
        out = subdir("bench") / f"train-cost-heads{heads}"
        start = time.perf_counter()
        result = devise.train(root, out=out, holdout=0.2, seed=args.seed, exclude=EXCLUDE, label_map=label_map,
                              backbone=args.backbone, heads=heads)
        folds = result.folds or {}
        rows.append({"heads": heads, "seconds": round(time.perf_counter() - start, 1),
                     "fold_zsl": folds.get("zsl_hit1"), "fold_h": folds.get("gzsl_h"), "train_images": result.train_images})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    lines = [f"Caltech-101, seed {args.seed}, 20% of classes held out, backbone {args.backbone or 'default'}, "
             f"{rows[0]['train_images']} training images, feature cache warm",
             f"{'heads':>5}  {'train s':>8}  {'x first':>7}  {'fold ZSL':>8}  {'fold H':>6}  {'ZSL+H':>6}"]
    lines += [f"{r['heads']:>5}  {r['seconds']:>8.1f}  {r['seconds'] / rows[0]['seconds']:>7.2f}  "
              f"{r['fold_zsl']:>8.3f}  {r['fold_h']:>6.3f}  {r['fold_zsl'] + r['fold_h']:>6.3f}" for r in rows]
    name = " ".join(["train-cost", f"heads {args.heads}", *filter(None, [args.backbone]),
                     *([f"seed {args.seed}"] if args.seed else [])])
    publish(name, "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
