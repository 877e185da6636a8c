"""Zero-shot table: trained head vs ConSE vs chance, means over seeded class splits.

    python bench/zero_shot.py --dataset caltech101            # 20% of classes held out, 5 splits
    python bench/zero_shot.py --dataset cifar10 --max-per-class 1000   # Socher et al.: cat, truck held out
    python bench/zero_shot.py --dataset cifar10 --backbone efficientnet-lite0,efficientnet-lite2
    python bench/zero_shot.py --dataset caltech101 --words spacy-en-md   # other word vectors (data.words)

With several backbones, a last table sets them side by side with the score
each model's calibration chose by: the mean ZSL hit@1 + GZSL H on the
seen-class folds, where no held-out class plays a part. The backbone with
the best fold score is the one those folds would pick (marked *); the test
figures beside it do not choose.
"""
import argparse
import json
import sys
import time

from results_doc import add_doc_option, publish

from devise.train.config import CALIBRATIONS, DEFAULT_HEADS, DEFAULT_LOSS, LOSSES

from common import DEFAULT_DATA_ROOT, ROOT, subset_folder


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["caltech101", "cifar10"], required=True)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--splits", type=int, default=None, help="default: 5 for caltech101, 1 for cifar10")
    ap.add_argument("--loss", choices=LOSSES, default=DEFAULT_LOSS)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="heads averaged in each model (devise train --heads)")
    ap.add_argument("--max-per-class", type=int, default=None, help="use the first N images of each class (cifar10 only)")
    ap.add_argument("--calibration", choices=CALIBRATIONS, default=CALIBRATIONS[0])
    ap.add_argument("--backbone", default=None, help="comma-separated backbones, each evaluated in turn "
                    "(default: the default backbone)")
    ap.add_argument("--words", default=None, help="word vectors for the models and ConSE (default: GloVe 6B 50-d)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    root = __import__("pathlib").Path(args.data_root) / args.dataset
    if not root.is_dir():
        sys.exit(f"{root}: not found; pass --data-root DIR holding {args.dataset}/")
    names = args.backbone.split(",") if args.backbone else [None]
    reports = [run(args, root, name) for name in names]
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
        return
    from devise.train.report import evaluation_table

    parts = [f"{args.dataset}: {report['splits']} split(s), words {args.words or 'default'}, {report['seconds']} s\n"
             + evaluation_table(report) for report in reports]
    if len(reports) > 1:
        parts.append(backbone_table(reports))
    publish(section_name(args), "\n\n".join(parts), doc=not args.no_doc)


def section_name(args):
    """One section per dataset, backbones, words, splits and heads; the other options show in its command."""
    splits = f"splits {args.splits}" if args.splits else None
    heads = f"heads {args.heads}" if args.heads != DEFAULT_HEADS else None
    return " ".join(["zero-shot", args.dataset, *filter(None, (args.backbone, args.words, splits, heads))])


def run(args, root, backbone):
    from devise import evaluate

    start = time.perf_counter()
    if args.dataset == "caltech101":
        report = evaluate(root, holdout=0.2, splits=args.splits or 5, seed=0,
                          exclude=["BACKGROUND_Google", "Faces_easy"],
                          label_map=ROOT / "data" / "label_maps" / "caltech101.txt",
                          loss=args.loss, epochs=args.epochs, heads=args.heads, calibration=args.calibration,
                          backbone=backbone, words=args.words)
    else:
        train_dir, test_dir = root / "train", root / "test"
        if args.max_per_class:
            train_dir = subset_folder(train_dir, args.max_per_class, "cifar10-train")
            test_dir = subset_folder(test_dir, max(1, args.max_per_class // 5), "cifar10-test")
        report = evaluate(train_dir, test_dir=test_dir, holdout_classes=["cat", "truck"], splits=args.splits or 1,
                          loss=args.loss, epochs=args.epochs, heads=args.heads, calibration=args.calibration,
                          backbone=backbone, words=args.words)
    return {**report.to_dict(), "seconds": round(time.perf_counter() - start, 1), "dataset": args.dataset}


def fold_score(report):
    """Mean over splits of the seen-class folds' ZSL hit@1 + GZSL H at each model's calibrated choice."""
    return sum(r["folds"]["zsl_hit1"] + r["folds"]["gzsl_h"] for r in report["runs"]) / len(report["runs"])


def backbone_table(reports):
    best = max(range(len(reports)), key=lambda i: fold_score(reports[i]))
    lines = ["backbones side by side; * = best seen-class fold score (what the folds would pick)",
             f"{'backbone':<22}{'folds ZSL+H':>12}{'ZSL@1':>8}{'GZSL H':>8}{'ConSE ZSL':>10}{'ConSE H':>9}"]
    for i, r in enumerate(reports):
        conse = r["baselines"]["conse"]
        lines.append(f"{r['backbone'] + (' *' if i == best else ''):<22}{fold_score(r):>12.3f}{r['zsl']['hit@1']:>8.3f}"
                     f"{r['gzsl_h']:>8.3f}{conse['zsl']['hit@1']:>10.3f}{conse['gzsl_h']:>9.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
