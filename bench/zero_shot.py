"""Zero-shot table: trained head vs ConSE vs chance, means over seeded class splits.

    python bench/zero_shot.py --dataset caltech101            # 20% of classes held out, 5 splits
    python bench/zero_shot.py --dataset cifar10 --max-per-class 1000   # Socher et al.: cat, truck held out
"""
import argparse
import json
import sys
import time

from devise.train.config import CALIBRATIONS, DEFAULT_LOSS, LOSSES

from common import DEFAULT_DATA_ROOT, ROOT, subset_folder


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["caltech101", "cifar10"], required=True)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--splits", type=int, default=None, help="default: 5 for caltech101, 1 for cifar10")
    ap.add_argument("--loss", choices=LOSSES, default=DEFAULT_LOSS)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--max-per-class", type=int, default=None, help="use the first N images of each class (cifar10 only)")
    ap.add_argument("--calibration", choices=CALIBRATIONS, default=CALIBRATIONS[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from devise import evaluate
    from devise.train.report import evaluation_table

    root = __import__("pathlib").Path(args.data_root) / args.dataset
    if not root.is_dir():
        sys.exit(f"{root}: not found; pass --data-root DIR holding {args.dataset}/")
    start = time.perf_counter()
    if args.dataset == "caltech101":
        report = evaluate(root, holdout=0.2, splits=args.splits or 5, seed=0,
                          exclude=["BACKGROUND_Google", "Faces_easy"],
                          label_map=ROOT / "data" / "label_maps" / "caltech101.txt",
                          loss=args.loss, epochs=args.epochs, calibration=args.calibration)
    else:
        train_dir, test_dir = root / "train", root / "test"
        if args.max_per_class:
            train_dir = subset_folder(train_dir, args.max_per_class, "cifar10-train")
            test_dir = subset_folder(test_dir, max(1, args.max_per_class // 5), "cifar10-test")
        report = evaluate(train_dir, test_dir=test_dir, holdout_classes=["cat", "truck"], splits=args.splits or 1,
                          loss=args.loss, epochs=args.epochs, calibration=args.calibration)
    report = {**report.to_dict(), "seconds": round(time.perf_counter() - start, 1), "dataset": args.dataset}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.dataset}: {report['splits']} split(s), {report['seconds']} s")
        print(evaluation_table(report))


if __name__ == "__main__":
    main()
