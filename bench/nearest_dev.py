"""Words ImageNet lacks ("emu", "ferry"): does their nearest WordNet category help text search? The figures
behind search.categories.NEAREST_WEIGHT and NEAREST_MAX_CLASSES.

A word that names no ImageNet class has only its word vector in a ConSE index, and GloVe's neighbours of rare
nouns are often noise ("emu" is nearest polecat and tusker among ImageNet's labels). WordNet places it: emu
is a ratite, and ImageNet's only ratite is the ostrich, which is what the backbone sees in photos of emus.
search.categories can blend each image's mass on that nearest category (data.wordnet.nearest_category) into
the word-space score, as it does for category words.

Never tuned on Caltech-101, which is only the held-out check (bench/field_search.py). Here each query word
plays a word ImageNet lacks: its own ImageNet classes (those of the category it names) are hidden from the
backbone, that is their logits are dropped before ConSE, the stored top classes and the nearest category.
  - CIFAR-10: 200 test photos per class, the 10 class words; p@10 (deer has no ImageNet class: a real case);
  - imagenet-probe-dev: 500 photos, one per ImageNet class; each class's first name is a query with one
    relevant photo among 500, hidden as above; hit@10 and mean reciprocal rank.
Each variant scores every image the way search.text.term_scores does for a ConSE index (cosine, visual
feedback, then the blend), so the whole collection is the candidate pool. The category is the most specific
above the word (data.wordnet.nearest_category), or, in the "coherent" variants, the one of those with at most
30 classes whose ImageNet labels lie nearest the word in GloVe (on average, or at best). The "kinds" variants
also leave out a category covering more than that many WordNet noun synsets (plant: 4,488, with two ImageNet
classes); neither collection has a plant word, which is why that cap is decided here only as "costs nothing".
The "hub" variants subtract from each image's cosine BETA times its hubness (CSLS, Conneau et al. 2018): the
mean cosine of its 10 best matches among index.noise's random vocabulary words, so that an image near many
words ("laptop" on Caltech-101's ConSE index) stops answering words it does not show. The "novel" variants
multiply the mass by (1 - c)^POWER, c being the image's probability on its likeliest class of the category:
photos of a thing ImageNet lacks look like the category without being confidently one of its known classes,
so a ketch should beat the photos the backbone is sure are schooners.

    DEVISE_HOME=/work/bench-home python bench/nearest_dev.py [--json] [--no-doc]
"""
import argparse
import json
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, subset_folder

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)
MAX_CLASSES = (10, 30, 100, 1000)
MAX_KINDS = (100, 300, 1000, 3000)  # WordNet noun synsets at or below the category (data.wordnet.Category.kinds)
HUB_BETAS = (0.25, 0.5, 1.0)
NOVEL_POWERS = (1.0, 2.0, 3.0)
ANYTHING = 10**9


class Variant(NamedTuple):
    """One way of scoring a word ImageNet lacks; the defaults are word space alone."""
    weight: float = 0.0          # the nearest category's share of the score
    max_classes: int = 0         # a category with more ImageNet classes is not used
    nearest_first: bool = False  # blend before the visual feedback instead of after it
    rule: str = "specific"       # how the category is chosen (see chosen)
    max_kinds: int = ANYTHING    # a category covering more WordNet noun synsets is not used
    hub: float = 0.0             # CSLS: BETA times each image's hubness off its cosine
    novel: float = 0.0           # POWER of (1 - the likeliest member's probability) on the mass


def collections():
    cifar = subset_folder(DEFAULT_DATA_ROOT / "cifar10" / "test", 200, "querydev-cifar10-test")
    cifar_paths = sorted(str(p) for p in Path(cifar).glob("*/*") if p.is_file())
    probe = sorted(str(p) for p in (DEFAULT_DATA_ROOT / "imagenet-probe-dev").glob("*.JPEG"))
    return {"cifar10": (cifar_paths, [Path(p).parent.name for p in cifar_paths]),
            "imagenet-probe-dev": (probe, [Path(p).name.split("_")[0] for p in probe])}


def queries(name, labels):
    """[(query word, relevant label)]."""
    from devise.data.imagenet import class_names, class_wnids

    if name == "cifar10":
        return [(label, label) for label in sorted(set(labels))]
    position = {wnid: i for i, wnid in enumerate(class_wnids())}
    return [(class_names()[position[w]], w) for w in labels]


def hidden_classes(word, label, name):
    from devise.data import wordnet
    from devise.data.imagenet import class_wnids

    found = wordnet.category(word)
    hidden = set(found.classes.tolist()) if found is not None else set()
    if name != "cifar10":  # the photo's own class, whatever its first name names
        hidden.add(class_wnids().index(label))
    return hidden


def chosen(word, hidden, rule, words, conse, max_classes):
    """The category whose mass scores `word`: the library's nearest (rule "specific"), or, among the
    categories above it with at most `max_classes` classes, the one whose ImageNet labels are nearest the
    word in GloVe on average ("coherent mean") or at best ("coherent max")."""
    from devise.data import wordnet

    if rule == "specific":
        return wordnet.nearest_category(word, hidden=hidden)
    above = [c for c in wordnet.categories_above(word, hidden) if len(c.classes) <= max_classes]
    cosine = conse.label_vectors @ words.phrase_matrix([word])[0]
    pick = np.mean if rule == "coherent mean" else np.max
    return max(above, key=lambda c: pick(cosine[c.classes]), default=None)


def likeliest_member(classes, probs, members):
    """Each image's probability on its likeliest class among `members`, from its stored top classes."""
    return (np.asarray(probs, np.float32) * np.isin(classes, members)).max(axis=1)


def scores_for(word, hidden, embedded, words, conse, variants, reference):
    """{variant key: each image's score for `word`}, the backbone's view with `hidden` taken from it
    computed once for every variant. reference: unit vectors of random vocabulary words (the hub variants)."""
    from devise.index import noise
    from devise.index.writer import top_classes
    from devise.models.feedback import feedback_scores
    from devise.search import categories, category_mass

    logits = embedded.logits.copy()
    logits[:, sorted(hidden)] = -np.inf
    projected = conse.project(logits)
    plain = projected @ words.phrase_matrix([word])[0]
    hubness = noise.top_mean(reference @ projected.T) if any(v.hub for v in variants.values()) else 0.0
    first_pass = {hub: plain - hub * hubness for hub in {v.hub for v in variants.values()}}
    feedback = {hub: feedback_scores(cosine, embedded.features) for hub, cosine in first_pass.items()}
    classes, probs = top_classes(logits)
    out = {}
    for key, (weight, max_classes, nearest_first, rule, max_kinds, hub, novel) in variants.items():
        cosine, after_feedback = first_pass[hub], feedback[hub]
        nearest = chosen(word, hidden, rule, words, conse, max_classes) if weight > 0 else None
        if nearest is None or len(nearest.classes) > max_classes or nearest.kinds > max_kinds:
            out[key] = after_feedback
            continue
        mass = category_mass.class_mass(classes, probs, nearest.classes)
        if novel:
            mass = mass * (1.0 - likeliest_member(classes, probs, nearest.classes)) ** novel
        if nearest_first:
            out[key] = feedback_scores(categories.blend(cosine, mass, weight), embedded.features)
        else:
            out[key] = categories.blend(after_feedback, mass, weight)
    return out


def measure(name, paths, labels, variants):
    import devise.data.words as word_data
    from devise.core.vectors import unit_rows
    from devise.index import noise
    from devise.models.conse import ConSE
    from devise.models.embed import embed_paths

    embedded = embed_paths(paths, progress=False)
    embedded.features = unit_rows(embedded.features)
    labels = np.array([labels[paths.index(p)] for p in embedded.paths])
    words = word_data.load_words(None)
    conse = ConSE(words)
    reference = unit_rows(np.asarray(words.vectors[noise.random_rows(words)], np.float32))
    found = {key: {"p@10": [], "hit@10": [], "mrr": []} for key in variants}
    for word, label in queries(name, list(labels)):
        if not words.phrase_words(word)[0]:
            continue
        for key, scores in scores_for(word, hidden_classes(word, label, name), embedded, words, conse,
                                      variants, reference).items():
            relevant = labels[np.argsort(-scores, kind="stable")] == label
            rank = int(np.argmax(relevant)) + 1
            found[key]["p@10"].append(relevant[:10].mean())
            found[key]["hit@10"].append(rank <= 10)
            found[key]["mrr"].append(1.0 / rank)
    return {key: {**{m: float(np.mean(v)) for m, v in got.items()}, "queries": len(got["p@10"])}
            for key, got in found.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()
    variants = {"word space alone": Variant()}
    for w in WEIGHTS[1:]:
        for m in MAX_CLASSES:
            variants[f"weight {w}, at most {m} classes"] = Variant(w, m)
    variants["weight 0.75, at most 30 classes, before feedback"] = Variant(0.75, 30, nearest_first=True)
    for rule in ("coherent mean", "coherent max"):
        variants[f"weight 0.9, at most 30 classes, {rule}"] = Variant(0.9, 30, rule=rule)
    for kinds in MAX_KINDS:
        variants[f"weight 0.9, at most 30 classes, {kinds} kinds"] = Variant(0.9, 30, max_kinds=kinds)
    for beta in HUB_BETAS:
        variants[f"weight 0.9, 30 classes, 1000 kinds, hub {beta}"] = Variant(0.9, 30, max_kinds=1000, hub=beta)
    for power in NOVEL_POWERS:
        variants[f"weight 0.9, 30 classes, 1000 kinds, novel {power:g}"] = Variant(0.9, 30, max_kinds=1000, novel=power)
    started = time.time()
    figures = {name: measure(name, paths, labels, variants) for name, (paths, labels) in collections().items()}
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    lines = ["Words ImageNet lacks, played by hiding their ImageNet classes: nearest WordNet category blended in",
             f"{'variant':52} {'CIFAR-10 p@10':>14} {'probe hit@10':>13} {'probe MRR':>10}"]
    for key in variants:
        c, p = figures["cifar10"][key], figures["imagenet-probe-dev"][key]
        lines.append(f"{key:52} {c['p@10']:14.3f} {p['hit@10']:13.3f} {p['mrr']:10.3f}")
    lines.append(f"queries: CIFAR-10 {figures['cifar10']['word space alone']['queries']}, imagenet-probe-dev "
                 f"{figures['imagenet-probe-dev']['word space alone']['queries']}; {time.time() - started:.0f} s")
    publish("nearest-dev", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
