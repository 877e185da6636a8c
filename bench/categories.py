"""Category words and open tags, before and after WordNet (a development measurement for issue 30 items 3-4).

    DEVISE_HOME=/work/bench-home python bench/categories.py --dataset cifar10 [--wordnet DIR] [--json]
    DEVISE_HOME=/work/bench-home python bench/categories.py --dataset caltech101

cifar10 (2,000 test images, 200 a class) is where the blend weight is
chosen; caltech101 (all 9,144 photos, clutter included) is only checked.
Each collection is indexed twice: ConSE, and a model trained on the same
kind of photos (cifar10: 100 training images a class; caltech101: every
class but BACKGROUND_Google and Faces_easy). Printed:
  - category p@10 for the words of bench/category_words.tsv (written before
    measuring): "before" is `devise search WORD` with the category blend off
    (search.categories.WEIGHT and NEAREST_WEIGHT 0: word space alone); then
    the same search with WEIGHT at each of --weights;
  - class-word p@10 before (the blend off) and after (the defaults), to see
    what the category path costs class words;
  - open tags (top 5, 20 images a class): the share of images whose tags
    hold the class word, a synonym or a hypernym (WordNet, hypernyms at
    depth >= 5 so that "object" or "whole" never count), and the share of
    tags that are picturable nouns (a noun whose first sense is a physical
    entity, in full WordNet); before = the old vocabulary (the 50,000 most
    frequent plain non-stop words), after = data.vocabulary.tag_vocabulary;
  - tag --labels vs label --assign: the share of Faces photos whose best of
    "cat,chair,face" is face, by raw cosine (tag before) and by
    search.tag.label_scores (tag and label --assign after).
--wordnet: a WordNet 3.0 folder for the hit and picturable checks (nltk; see bench/build_wordnet.py).
"""
import argparse
import json
import os
import re
import sys
import warnings
from pathlib import Path

import numpy as np
from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, ROOT, subset_folder

TAGS_PER_CLASS = 20


def category_words(dataset):
    rows = []
    for line in (ROOT / "bench" / "category_words.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            word, ds, members = line.split("\t")
            if ds == dataset:
                rows.append((word, set(members.split())))
    return rows


def precision(paths, members, k=10):
    return sum(Path(p).parent.name in members for p in paths[:k]) / k


def searched(idx, text, weight, nearest_weight=None):
    """`devise search TEXT`'s top 10 paths with the category blend at `weight` (and a nearest category's at
    `nearest_weight`, unchanged when None); 0 for both is word space alone, the ranking before categories."""
    import devise
    from devise.search import categories

    saved = categories.WEIGHT, categories.NEAREST_WEIGHT
    categories.WEIGHT = weight
    categories.NEAREST_WEIGHT = saved[1] if nearest_weight is None else nearest_weight
    try:
        return devise.search(text, index=idx.name, top=10).paths
    finally:
        categories.WEIGHT, categories.NEAREST_WEIGHT = saved


def old_vocabulary(wv, size=50_000):
    """The open tag vocabulary before WordNet: the most frequent plain words, less stop words."""
    from devise.data.vocabulary import stopwords

    stop, rows = stopwords(), []
    for row, w in enumerate(wv.words):
        if re.fullmatch(r"[a-z]{2,}", w) and w not in stop:
            rows.append(row)
            if len(rows) >= size:
                break
    return np.asarray(rows, np.int64)


class Judge:
    """Tag hits and picturable nouns by full WordNet (nltk)."""

    def __init__(self, folder):
        import nltk
        from nltk.corpus.reader.wordnet import WordNetCorpusReader

        class Reader(WordNetCorpusReader):
            def map_wn(self, version="wordnet"):
                return None

        nltk.data.path.append(str(folder))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.wn = Reader(str(folder), None)
        self.physical = self.wn.synset("physical_entity.n.01")
        self._memo = {}

    def lemma(self, word):
        return self.wn.morphy(word.replace(" ", "_"), "n")

    def accepted(self, phrase):
        """Lemmas that count as naming a class phrase: its words, its senses' synonyms and hypernyms at depth >= 5."""
        out = {w for w in phrase.lower().split()}
        base = self.lemma(phrase) or self.lemma(phrase.split()[-1])
        for s in self.wn.synsets(base, "n") if base else []:
            for h in {s} | set(s.closure(lambda x: x.hypernyms() + x.instance_hypernyms())):
                if h == s or h.min_depth() >= 5:
                    out.update(n.name().lower().replace("_", " ") for n in h.lemmas())
        return out

    def picturable(self, word):
        if word not in self._memo:
            base = self.lemma(word)
            senses = self.wn.synsets(base, "n") if base else []
            self._memo[word] = bool(senses) and self.physical in senses[0].closure(lambda x: x.hypernyms()
                                                                                   + x.instance_hypernyms())
        return self._memo[word]

    def hit(self, tags, phrase):
        accepted = self.accepted(phrase)
        return any(t in accepted or (self.lemma(t) or t) in accepted for t in tags)


def open_tags(idx, projector, rows_of, phrases, judge, per_class=TAGS_PER_CLASS):
    from devise.data.words import unit_matrix
    from devise.search.tag import label_scores, rank, seen_penalty

    by_class = {}
    for i in range(len(idx)):
        cls = Path(idx.items[i]["path"]).parent.name
        if cls in phrases and len(by_class.setdefault(cls, [])) < per_class:
            by_class[cls].append(i)
    ids = [i for c in sorted(by_class) for i in by_class[c]]
    vectors = np.asarray(idx.vectors("words")[ids], np.float32)
    out = {}
    for label, (rows, centred) in rows_of.items():
        texts = [projector.words.words[r] for r in rows]
        matrix = projector.labels(unit_matrix(projector.words, rows))
        penalty = seen_penalty(projector, texts) if projector.gamma else None
        scores = label_scores(projector, vectors, unit_matrix(projector.words, rows), texts)[0] if centred else None
        tags = rank(vectors, texts, matrix, 5, penalty, scores=scores)
        classes = [Path(idx.items[i]["path"]).parent.name for i in ids]
        words = [[t.word for t in ts] for ts in tags]
        hits = [judge.hit(w, phrases[c]) for w, c in zip(words, classes)]
        good = [judge.picturable(t) for w in words for t in w]
        out[label] = {"hit@5": round(float(np.mean(hits)), 3), "picturable": round(float(np.mean(good)), 3),
                      "vocabulary": len(rows), "example": dict(zip(classes[::per_class * 10], words[::per_class * 10]))}
    return out


def agreement(idx, projector, root):
    from devise.search.tag import label_scores

    faces = [i for i in range(len(idx)) if Path(idx.items[i]["path"]).parent.name == "Faces"]
    if not faces:
        return None
    labels = ["cat", "chair", "face"]
    matrix = projector.words.phrase_matrix(labels)
    vectors = np.asarray(idx.vectors("words")[faces], np.float32)
    raw = vectors @ projector.labels(matrix).T
    shared, _ = label_scores(projector, vectors, matrix, labels)
    return {"face first, raw cosine (tag before)": round(float(np.mean(raw.argmax(1) == 2)), 3),
            "face first, label_scores (tag and label --assign after)": round(float(np.mean(shared.argmax(1) == 2)), 3),
            "images": len(faces)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--dataset", choices=("cifar10", "caltech101"), required=True)
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1")
    ap.add_argument("--wordnet", default=os.environ.get("WORDNET_DIR", ""), help="WordNet 3.0 folder (nltk)")
    ap.add_argument("--skip-model", action="store_true", help="ConSE index only")
    ap.add_argument("--heads", type=int, default=None, help="heads of the trained model (default: the trainer's)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    import devise
    from devise.core.home import subdir
    from devise.data.labels import class_phrases, read_label_map
    from devise.data.vocabulary import tag_vocabulary
    from devise.index.store import open_index
    from devise.models.projector import Projector
    from devise.search import categories

    data = Path(args.data_root)
    if args.dataset == "cifar10":
        collection = subset_folder(data / "cifar10" / "test", 200, "querydev-cifar10-test")
        train_dir, exclude, label_map = subset_folder(data / "cifar10" / "train", 100, "querydev-cifar10-train"), [], None
        phrases = {c: c for c in sorted(os.listdir(collection))}
    else:
        collection = data / "caltech101"
        train_dir, exclude = collection, ["BACKGROUND_Google", "Faces_easy"]
        label_map = ROOT / "data" / "label_maps" / "caltech101.txt"
        classes = [c for c in sorted(os.listdir(collection)) if c not in exclude]
        phrases = class_phrases(classes, read_label_map(label_map))
    weights = [float(w) for w in args.weights.split(",")]
    judge = Judge(args.wordnet) if args.wordnet else None
    report = {"dataset": args.dataset, "weight": categories.WEIGHT, "indexes": {}}
    kinds = [("ConSE", "conse")]
    if not args.skip_model:
        model_dir = subdir("bench") / f"cat-model-{args.dataset}{f'-heads{args.heads}' if args.heads else ''}"
        if not (model_dir / "manifest.json").exists():
            devise.train(train_dir, out=model_dir, holdout=0.0, exclude=exclude, label_map=label_map,
                         **({"heads": args.heads} if args.heads else {}))
        kinds.append(("trained", str(model_dir)))
    for label, model in kinds:
        name = f"cat-{args.dataset}-{'conse' if model == 'conse' else Path(model).name}"  # one index per model
        devise.build_index(collection, model=model, name=name, progress=False)
        idx = open_index(name)
        table = {"category": {}, "class": {}}
        for word, members in category_words(args.dataset):
            row = {"before": precision(searched(idx, word, 0.0, 0.0), members),
                   "category": (categories.category_of(word).synset if categories.category_of(word) else None)}
            for w in weights:
                row[f"w={w:g}"] = precision(searched(idx, word, w), members)
            table["category"][word] = row
        for cls, phrase in phrases.items():
            same = {cls, "Faces_easy"} if cls == "Faces" else {cls}
            table["class"][phrase] = {"before": precision(searched(idx, phrase, 0.0, 0.0), same),
                                      "after": precision(searched(idx, phrase, categories.WEIGHT), same)}
        summary = {"category p@10 before": np.mean([r["before"] for r in table["category"].values()])}
        for w in weights:
            summary[f"category p@10 w={w:g}"] = np.mean([r[f"w={w:g}"] for r in table["category"].values()])
        summary["class p@10 before"] = np.mean([r["before"] for r in table["class"].values()])
        summary["class p@10 after"] = np.mean([r["after"] for r in table["class"].values()])
        summary = {k: round(float(v), 3) for k, v in summary.items()}
        projector = Projector(None if model == "conse" else model, backbone=idx.manifest.backbone
                              if model == "conse" else None)
        if judge is not None:
            vocabulary = tag_vocabulary(projector.words)
            summary["open tags"] = open_tags(idx, projector, {"before": (old_vocabulary(projector.words), False),
                                                              "after": (vocabulary, False),
                                                              "after, ranked by label_scores": (vocabulary, True)},
                                             phrases, judge)
        summary["tag/label on Faces"] = agreement(idx, projector, collection)
        report["indexes"][label] = {"summary": summary, **table}
        print(f"{label}: {json.dumps(summary)}", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        lines = []
        for label, body in report["indexes"].items():
            lines.append(f"== {args.dataset}, {label} index ==")
            for k, v in body["summary"].items():
                lines.append(f"  {k}: {v}")
            lines.append("  category words (before -> " + ", ".join(f"w={w:g}" for w in weights) + "):")
            for word, row in body["category"].items():
                lines.append(f"    {word:20s} {row['before']:.1f} -> " + " ".join(f"{row[f'w={w:g}']:.1f}" for w in weights)
                             + f"   {row['category']}")
        name = " ".join(["categories", args.dataset, *(["conse only"] if args.skip_model else [])])
        publish(name, "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
