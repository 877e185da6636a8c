"""Across datasets: a model trained on all of Caltech-101 tags CIFAR-10 test images, against ConSE.

The model is trained on every Caltech-101 class (no class held out; its
blend, label anchoring and gamma are calibrated on folds of those classes
only). It then tags CIFAR-10 test images with `devise.tag(..., labels=...)`,
the same code path as `devise tag --labels`, and so does ConSE.

Which CIFAR-10 classes lie outside Caltech-101: a class counts as outside
when neither its word nor a synonym of it names a Caltech-101 class.
`airplane` (Caltech `airplanes`), `automobile` (a synonym of `car`, Caltech
`car_side`) and `cat` (Caltech `wild_cat`, phrase "wild cat") are inside;
bird, deer, dog, frog, horse, ship and truck are outside. Caltech does hold
kinds of some of them (emu, ibis, pigeon, rooster: birds; dalmatian: a dog;
ferry, ketch, schooner: ships), which the model saw under those names only.

Settings: "outside" ranks the 7 outside labels on the images of those 7
classes; "all 10" ranks all 10 CIFAR-10 words on every test image.

    python bench/cross_dataset.py [--max-per-class N] [--backbone NAME] [--json] [--no-doc]
"""
import argparse
import json
import time
from pathlib import Path

from results_doc import add_doc_option, publish

from devise.train.config import DEFAULT_HEADS

from common import DEFAULT_DATA_ROOT, ROOT, subset_folder

CIFAR10 = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
OUTSIDE_CALTECH = ("bird", "deer", "dog", "frog", "horse", "ship", "truck")


def hits(results, classes, ks=(1, 5)):
    """hit@k of tag results whose image folder names the true class."""
    out = {}
    for k in ks:
        good = [Path(r.image).parent.name in {t.word for t in r.tags[:k]} for r in results.images]
        out[f"hit@{k}"] = sum(good) / max(1, len(good))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--max-per-class", type=int, default=None, help="the first N CIFAR-10 test images of each class")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backbone", default=None, help="for the model and ConSE (default: the default backbone)")
    ap.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="heads averaged in the model (devise train --heads)")
    ap.add_argument("--words", default=None, help="word vectors for the model and ConSE (default: GloVe 6B 50-d)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    import devise
    from devise.core.home import subdir
    from devise.data.folders import scan
    from devise.data.word_sources import words_name

    root = Path(args.data_root)
    start = time.perf_counter()
    model_dir = subdir("bench") / (f"cross-dataset-caltech101-{args.seed}{'-' + args.backbone if args.backbone else ''}"
                                   f"{f'-heads{args.heads}' if args.heads > 1 else ''}"
                                   f"{'-' + words_name(args.words) if args.words else ''}")
    trained = devise.train(root / "caltech101", out=model_dir, holdout=0.0, seed=args.seed, backbone=args.backbone,
                           heads=args.heads, words=args.words,
                           exclude=["BACKGROUND_Google", "Faces_easy"],
                           label_map=ROOT / "data" / "label_maps" / "caltech101.txt")
    test_dir = root / "cifar10" / "test"
    if args.max_per_class:
        test_dir = subset_folder(test_dir, args.max_per_class, "cifar10-test")
    folder = scan(test_dir)
    table = {}
    for setting, labels in (("outside", OUTSIDE_CALTECH), ("all 10", CIFAR10)):
        images = [p for p, c in zip(folder.paths, folder.classes) if c in labels]
        table[setting] = {"images": len(images)}
        for name, model in (("trained", str(model_dir)), ("ConSE", None)):
            results = devise.tag(images, model=model, labels=list(labels), top=5,
                                 backbone=None if model else args.backbone, words=None if model else args.words)
            table[setting][name] = hits(results, labels)
    report = {"model": trained.to_dict(), "test_dir": str(test_dir), "seconds": round(time.perf_counter() - start, 1),
              "settings": table}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lines = [f"Caltech-101 model (all {len(trained.seen)} classes; backbone {args.backbone or 'default'}; "
             f"words {args.words or 'default'}; "
             f"anchor tau {trained.anchor.get('tau')}, "
             f"gamma {trained.gamma}) tagging {test_dir}, {report['seconds']} s",
             f"{'setting':<10}{'labels':>7}{'images':>8}{'trained hit@1':>15}{'ConSE hit@1':>13}"
             f"{'trained hit@5':>15}{'ConSE hit@5':>13}"]
    for setting, labels in (("outside", OUTSIDE_CALTECH), ("all 10", CIFAR10)):
        row = table[setting]
        lines.append(f"{setting:<10}{len(labels):>7}{row['images']:>8}{row['trained']['hit@1']:>15.3f}"
                     f"{row['ConSE']['hit@1']:>13.3f}{row['trained']['hit@5']:>15.3f}{row['ConSE']['hit@5']:>13.3f}")
    name = " ".join(["cross-dataset caltech101 to cifar10", *filter(None, (args.backbone, args.words)),
                     f"heads {args.heads}", *([f"seed {args.seed}"] if args.seed else []),
                     *([f"max-per-class {args.max_per_class}"] if args.max_per_class else [])])
    publish(name, "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
