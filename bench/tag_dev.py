"""Open tags on a development collection: the figures behind search.tag's OPEN_MASS_WEIGHT.

Tuned on CIFAR-10 (bench/query_dev.py's indexes: 200 test photos a class,
ConSE and a model trained on 100 train photos a class), never on
Caltech-101, which bench/field_search.py checks. For each weight of the
informative ImageNet mass in an open tag's score (search.tag.open_scores;
0 is the word-space cosine alone), on --per-class images a class:
  - hit: the share of images whose top 5 tags hold the class word, a lemma of
    its synset or a hypernym at depth >= 4 (bench/field_scoring.Judge, WordNet 3.0);
  - picturable: the share of tags that are picturable nouns (the same judge);
  - per class hit, and the tags of each class's first image.
The index's stored top-20 ImageNet classes stand in for the full logits.

    DEVISE_HOME=/work/bench-home python bench/tag_dev.py [--index querydev-cifar-conse] [--weights 0,0.5,0.75,1]
"""
import argparse
import collections
from pathlib import Path

import numpy as np
import wordnet30
from field_scoring import Judge
from results_doc import add_doc_option, publish

from devise.core.home import subdir
from devise.index.store import open_index
from devise.models.projector import Projector
from devise.search import tag as tagging

SYNSETS = {"airplane": "airplane.n.01", "automobile": "car.n.01", "bird": "bird.n.01", "cat": "cat.n.01",
           "deer": "deer.n.01", "dog": "dog.n.01", "frog": "frog.n.01", "horse": "horse.n.01", "ship": "ship.n.01",
           "truck": "truck.n.01"}
PHRASES = {c: "car" if c == "automobile" else c for c in SYNSETS}


def sample(idx, per_class):
    by_class = collections.defaultdict(list)
    for i in range(len(idx.items)):
        cls = Path(idx.items[i]["path"]).parent.name
        if len(by_class[cls]) < per_class:
            by_class[cls].append(i)
    return [i for c in sorted(by_class) for i in by_class[c]]


def logits_of(idx, ids):
    """[n, 1000] log-probabilities from the index's stored top classes (the rest at a floor)."""
    classes, probs = idx.imagenet_top()
    out = np.full((len(ids), 1000), -30.0, np.float32)
    for row, i in enumerate(ids):
        out[row, np.asarray(classes[i], np.int64)] = np.log(np.maximum(np.asarray(probs[i], np.float32), 1e-9))
    return out


def measure(name, weights, per_class, judge):
    idx = open_index(name)
    projector = Projector(idx.model_dir, backbone=idx.manifest.backbone, words=idx.manifest.words)
    ids = sample(idx, per_class)
    classes = [Path(idx.items[i]["path"]).parent.name for i in ids]
    vectors = np.asarray(idx.vectors("words")[ids], np.float32)
    texts, matrix = tagging.candidates(projector.words)
    labels = projector.labels(matrix)
    penalty = tagging.seen_penalty(projector, texts) if projector.gamma else None
    cosines, logits = vectors @ labels.T, logits_of(idx, ids)
    lines = []
    for weight in weights:
        scores = tagging.open_scores(cosines, logits, texts, penalty, weight=weight)
        words = [[t.word for t in tags] for tags in tagging.rank(vectors, texts, labels, 5, scores=scores)]
        hits = [any(judge.names(t, c) for t in ws) for ws, c in zip(words, classes)]
        per = collections.defaultdict(list)
        for hit, cls in zip(hits, classes):
            per[cls].append(hit)
        picturable = np.mean([judge.picturable(t) for ws in words for t in ws])
        lines.append(f"{name} weight {weight:g}: hit {np.mean(hits):.3f}, picturable {picturable:.3f}; "
                     + " ".join(f"{c}:{np.mean(v):.2f}" for c, v in sorted(per.items())))
        lines.append("    " + "; ".join(",".join(ws) for ws in words[::per_class]))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", action="append", help="index names (default: both querydev-cifar indexes)")
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,0.9,1")
    ap.add_argument("--per-class", type=int, default=30)
    add_doc_option(ap)
    args = ap.parse_args()
    judge = Judge(wordnet30.reader(wordnet30.dict_folder(subdir("bench") / "wordnet-3.0")), SYNSETS, PHRASES)
    weights = [float(w) for w in args.weights.split(",")]
    lines = []
    for name in args.index or ["querydev-cifar-conse", "querydev-cifar-model"]:
        lines += measure(name, weights, args.per_class, judge)
    publish("tag-dev cifar10", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
