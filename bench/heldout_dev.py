"""Held-out text search on a development collection: where a trained model's seen classes meet category mass.

A trained model pushes its seen classes' images down for a query that names
something else (models.seen_margin); a category word ("truck", "animal") is
also scored by the backbone's ImageNet mass (search.categories). This bench
measures the two together where they meet: a query for a class the model
never saw, in a collection that also holds the seen class beside it (held-out
"truck" among seen "automobile" photos).

CIFAR-10 (never Caltech-101, the held-out check of bench/text_search.py):
for each of SPLITS, a one-head model is trained on 100 train photos of each
of its 8 seen classes; the 200 test photos of all 10 classes are indexed with
it; then, by `devise.search` with the default settings, p@10 of
  - the held-out class words ("truck"), and sentences over them
    (query_dev.SENTENCES: "a photo of a truck", ...);
  - the seen class words;
  - bench/category_words.tsv's CIFAR-10 category words ("vehicle"), a hit
    being an image of one of the word's member classes.

    DEVISE_HOME=/work/bench-home python bench/heldout_dev.py [--json] [--no-doc]

Run it on two trees (PYTHONPATH) to compare a change with what it replaces.
"""
import argparse
import json
import time

from categories import category_words, precision
from query_dev import CIFAR, SENTENCES
from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, subset_folder

# Each class held out once; each split holds out a class beside a seen neighbour (cat/dog, truck/automobile,
# deer/horse, ship/airplane, frog/bird). Written before measuring.
SPLITS = [("cat", "truck"), ("dog", "ship"), ("automobile", "deer"), ("horse", "airplane"), ("bird", "frog")]


def p10(index, query, members):
    import devise

    return precision(devise.search(query, index=index, top=10).paths, members)


def run_split(held_out, images, train_dir):
    import devise
    from devise.core.home import subdir

    model = subdir("bench") / f"heldout-dev-{'-'.join(held_out)}"
    if not (model / "manifest.json").exists():
        devise.train(train_dir, out=model, holdout_classes=list(held_out), seed=0, heads=1)
    name = f"heldout-dev-{'-'.join(held_out)}"
    devise.build_index(images, model=str(model), name=name, progress=False)
    seen = [c for c in CIFAR if c not in held_out]
    return {
        "held-out word": {c: p10(name, CIFAR[c], {c}) for c in held_out},
        "held-out sentence": {f"{c}: {t}": p10(name, t.format(CIFAR[c]), {c}) for c in held_out for t in SENTENCES},
        "seen word": {c: p10(name, CIFAR[c], {c}) for c in seen},
        "category": {w: p10(name, w, members) for w, members in category_words("cifar10")},
    }


def mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    start = time.perf_counter()
    images = subset_folder(DEFAULT_DATA_ROOT / "cifar10" / "test", 200, "querydev-cifar10-test")
    train_dir = subset_folder(DEFAULT_DATA_ROOT / "cifar10" / "train", 100, "querydev-cifar10-train")
    splits = {" + ".join(held): run_split(held, images, train_dir) for held in SPLITS}
    if args.json:
        print(json.dumps(splits, indent=2))
        return
    kinds = ["held-out word", "held-out sentence", "seen word", "category"]
    lines = [f"CIFAR-10 test (200 a class), one-head models on 100 train photos a class, 2 classes held out a split; "
             f"p@10 by devise.search, defaults; {time.perf_counter() - start:.0f} s",
             f"{'held out':<22}" + "".join(f"{k:>20}" for k in kinds)]
    for held, table in splits.items():
        lines.append(f"{held:<22}" + "".join(f"{mean(table[k].values()):>20.3f}" for k in kinds))
    lines.append(f"{'mean':<22}" + "".join(f"{mean(mean(t[k].values()) for t in splits.values()):>20.3f}" for k in kinds))
    words = " ".join(f"{c} {table['held-out word'][c]:.1f}" for table in splits.values() for c in table["held-out word"])
    lines.append(f"held-out words: {words}")
    publish("heldout-dev cifar10", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
