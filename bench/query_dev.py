"""Query analyser and fusion, on a development collection: the figures behind search.analyser's and search.fusion's choices.

Tuned on CIFAR-10 (200 test photos per class, a ConSE index and an index
with a model trained on 100 train photos per class), never on Caltech-101,
which is only a held-out check (--collection caltech101). For every
variant, with the default settings otherwise:
  - class word p@10 ("dog");
  - sentence p@10 over SENTENCES templates ("a photo of a dog", "a dog next to a tree"), and its ratio to the
    class word's on the same classes;
  - two things: the share of pair queries ("dog ship", "a dog and a ship") with both classes in the top 10;
  - hub share: of all top-10 slots of the class-word queries, the share of the most frequent class;
  - "nothing matches": the share of class words flagged weak, and of ABSENT words (things not in the collection)
    flagged weak, by search.text.is_weak and, beside it, by the rule before it judged a category word by its mass.
Variants: "before" (one averaged vector of every word, stop words included), fusion rules (search.fusion) and
the weight of a sentence's context (search.sentence.CONTEXT_WEIGHT).

    DEVISE_HOME=/work/bench-home python bench/query_dev.py [--prepare] [--collection cifar10|caltech101] [--json]
"""
import argparse
import itertools
import json
import time
from collections import Counter
from pathlib import Path

from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, subset_folder

SENTENCES = ["a photo of a {}", "an image of the {}", "a picture of my {}", "a close-up photo of a {}",
             "there is a {} in this picture", "a {} outside on a sunny day", "a {} next to a tree",
             "a blurry photo of the {}"]
PAIRS = ["{} {}", "a {} and a {}"]
# Things that are in neither collection (nor in ImageNet's animals and vehicles that CIFAR-10 shows).
ABSENT = ["pizza", "laptop", "ice-cream", "guitar", "umbrella", "keyboard", "banana", "violin", "toothbrush", "sofa",
          "lipstick", "skyscraper", "candle", "spoon", "necklace", "sandwich", "microwave", "tennis", "bathtub", "book"]
CIFAR = {"airplane": "airplane", "automobile": "car", "bird": "bird", "cat": "cat", "deer": "deer", "dog": "dog",
         "frog": "frog", "horse": "horse", "ship": "ship", "truck": "truck"}
INDEXES = {"cifar10": ("querydev-cifar-conse", "querydev-cifar-model"),
           "caltech101": ("querydev-caltech-conse", "querydev-caltech-model")}
CALTECH_EXCLUDE = ("BACKGROUND_Google", "Faces_easy")


def prepare(collection):
    """Build the two indexes (TensorFlow; the feature cache makes reruns cheap)."""
    import devise
    from devise.core.home import subdir

    conse, trained = INDEXES[collection]
    if collection == "cifar10":
        images = subset_folder(DEFAULT_DATA_ROOT / "cifar10" / "test", 200, "querydev-cifar10-test")
        train_dir, options = subset_folder(DEFAULT_DATA_ROOT / "cifar10" / "train", 100, "querydev-cifar10-train"), {}
    else:
        images = train_dir = DEFAULT_DATA_ROOT / "caltech101"
        options = {"exclude": CALTECH_EXCLUDE, "label_map": Path(__file__).parent.parent / "data" / "label_maps" / "caltech101.txt"}
    devise.build_index(images, model="conse", name=conse, progress=False)
    model = subdir("bench") / trained
    if not (model / "manifest.json").exists():
        devise.train(train_dir, out=model, holdout=0.0, seed=0, heads=1, **options)  # one head: a dev index, not the shipped default
    devise.build_index(images, model=str(model), name=trained, progress=False)


def class_words(collection):
    if collection == "cifar10":
        return CIFAR
    from devise.data.labels import class_phrases, read_label_map

    root = DEFAULT_DATA_ROOT / "caltech101"
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name not in CALTECH_EXCLUDE)
    return class_phrases(names, read_label_map(Path(__file__).parent.parent / "data" / "label_maps" / "caltech101.txt"))


def first(ranking):
    return ranking.strength[0], ranking.mass[0]


def same(cls):
    return {cls, "Faces_easy"} if cls == "Faces" else {cls}


class Runner:
    def __init__(self, name, variant):
        from devise.index.store import open_index

        self.idx = open_index(name)
        self.words = self.idx.word_vectors()
        self.variant = variant
        self.classes = [Path(item["path"]).parent.name for item in self.idx.items]

    def analysis(self, query):
        from devise.search.analyser import Analysis, Term, analyse
        from devise.search.query import query_vector

        if self.variant.get("before"):
            vector, used = query_vector(query, self.words)
            return Analysis(query, [Term(query, used, 1.0, "before", vector)], used, [])
        return analyse(query, self.words, self.idx.seen_phrases, context=self.variant.get("context"))

    def top(self, query, k=10):
        from devise.search import text

        analysis = self.analysis(query)
        ranking = text.ranked(self.idx, self.words, analysis, k, method=self.variant.get("fuse"))
        return [self.classes[i] for i, _ in ranking.pairs], ranking

    def p10(self, query, cls):
        got, _ = self.top(query)
        return sum(c in same(cls) for c in got) / 10


def evaluate(name, variant, phrases, pair_limit=None, seed=0, sentence_limit=None):
    import numpy as np

    from devise.search import text

    run = Runner(name, variant)
    words = {c: p for c, p in phrases.items() if c in set(run.classes)}
    word_p = {c: run.p10(p, c) for c, p in words.items()}
    sentence_classes = sorted(words)
    if sentence_limit and len(sentence_classes) > sentence_limit:
        rng = np.random.default_rng(seed)
        sentence_classes = [sentence_classes[i] for i in sorted(rng.choice(len(sentence_classes), sentence_limit, replace=False))]
    sentence_p = {c: float(np.mean([run.p10(t.format(words[c]), c) for t in SENTENCES])) for c in sentence_classes}
    word_on_sentence_classes = float(np.mean([word_p[c] for c in sentence_classes]))
    pairs = list(itertools.combinations(sorted(words), 2))
    if pair_limit and len(pairs) > pair_limit:
        rng = np.random.default_rng(seed)
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), pair_limit, replace=False))]
    both = []
    for (a, b), form in itertools.product(pairs, PAIRS):
        got = set(run.top(form.format(words[a], words[b]))[0])
        both.append(bool(got & same(a)) and bool(got & same(b)))
    slots = Counter(c for cls, p in words.items() for c in run.top(p)[0])
    record = text.noise_of(run.idx)
    quantiles = record["quantiles"]
    absent = [w for w in ABSENT if w in run.words and not any(w in p.split() for p in words.values())]
    # (strength, category mass) of each one-thing query's thing: search.text.is_weak's evidence
    evidence = {"class words": [first(run.top(p)[1]) for p in words.values()],
                "absent words": [first(run.top(w)[1]) for w in absent]}
    weak = {q: {kind: float(np.mean([text.is_weak(s, m, t) for s, m in found])) for kind, found in evidence.items()}
            for q, t in quantiles.items()}
    # The rule before category words were judged by their mass alone: word space, unless the mass is present.
    weak_by_words = {q: {kind: float(np.mean([s <= t and not (m or 0) >= text.PRESENT_MASS for s, m in found]))
                         for kind, found in evidence.items()} for q, t in quantiles.items()}
    word_mean, sentence_mean = float(np.mean(list(word_p.values()))), float(np.mean(list(sentence_p.values())))
    return {"class word p@10": round(word_mean, 3), "sentence p@10": round(sentence_mean, 3),
            "sentence / word": round(sentence_mean / max(word_on_sentence_classes, 1e-9), 3),
            "both in top 10": round(float(np.mean(both)), 3), "pair queries": len(both),
            "hub share": round(max(slots.values()) / sum(slots.values()), 3), "weak rate by quantile": weak,
            "weak rate by quantile, word space unless the mass is present": weak_by_words,
            "per class sentence p@10": {c: round(v, 2) for c, v in sentence_p.items()}}


VARIANTS = {
    "before (one averaged vector)": {"before": True},
    "default": {},
    "fuse=soft_and": {"fuse": "soft_and"},
    "fuse=mean": {"fuse": "mean"},
    "fuse=and_rrf": {"fuse": "and_rrf"},
    "fuse=rrf": {"fuse": "rrf"},
    "fuse=gated": {"fuse": "gated"},
    "sentence context 0": {"context": 0.0},
    "sentence context 0.5": {"context": 0.5},
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collection", choices=sorted(INDEXES), default="cifar10")
    ap.add_argument("--prepare", action="store_true", help="build the indexes first (loads TensorFlow)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma list of variant names")
    ap.add_argument("--pairs", type=int, default=60, help="pair queries sampled (seed 0) when there are more")
    ap.add_argument("--only", choices=["conse", "trained"], help="evaluate one of the two indexes")
    ap.add_argument("--index", action="append", default=[], help="evaluate this index instead (repeatable)")
    ap.add_argument("--sentence-classes", type=int, help="classes sampled (seed 0) for the sentence queries")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()
    if args.prepare:
        prepare(args.collection)
    phrases = class_words(args.collection)
    report, start = {}, time.perf_counter()
    conse, trained = INDEXES[args.collection]
    for index in args.index or {"conse": [conse], "trained": [trained]}.get(args.only, [conse, trained]):
        for variant in args.variants.split(","):
            report[f"{index} / {variant}"] = evaluate(index, VARIANTS[variant], phrases, args.pairs,
                                                         sentence_limit=args.sentence_classes)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    keys = ["class word p@10", "sentence p@10", "sentence / word", "both in top 10", "hub share"]
    lines = [f"{args.collection}: {time.perf_counter() - start:.0f} s; weak = share flagged 'nothing matches'",
             f"{'index / variant':<58}" + "".join(f"{k:>17}" for k in keys) + "   weak@q95 class/absent"]
    for name, row in report.items():
        weak = row["weak rate by quantile"].get("95", {})
        lines.append(f"{name:<58}" + "".join(f"{row[k]:>17}" for k in keys)
                     + f"   {weak.get('class words', 0):.2f}/{weak.get('absent words', 0):.2f}")
    lines.append("weak rate by noise quantile (class words / absent words), default variant; a category word by its")
    lines.append("mass alone (search.text.is_weak), and as before, by word space unless its mass is present:")
    for name, row in report.items():
        if name.endswith("/ default"):
            for rule, key in (("mass alone", "weak rate by quantile"),
                              ("before", "weak rate by quantile, word space unless the mass is present")):
                lines.append(f"  {name}, {rule}: " + ", ".join(f"q{q} {v['class words']:.2f}/{v['absent words']:.2f}"
                                                              for q, v in row[key].items()))
    # A run on chosen indexes or variants is a development run; the collection's section holds the full comparison.
    full = not (args.index or args.only or args.sentence_classes) and args.variants == ",".join(VARIANTS)
    publish(f"query-dev {args.collection}", "\n".join(lines), doc=full and not args.no_doc)


if __name__ == "__main__":
    main()
