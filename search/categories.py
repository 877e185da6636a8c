"""Category words in text search: "animal", "food", "vehicles" score images by ImageNet probability mass.

A word that names a WordNet synset with ImageNet-1k classes under it
(data.wordnet.category) scores each image by the backbone's probability
mass on those classes, read from the top classes the index stored per image
at index time (index.writer.top_classes). In word space such a word sits
far from most of its members ("animal" is nearer "animals" than "dolphin"),
which is why it ranks so poorly there.

The blend, per image: (1 - WEIGHT) * word-space score + WEIGHT * mass.
Both live on the same scale (a cosine in [-1, 1], a probability in [0, 1]),
so the shown score stays comparable with other terms' scores. WEIGHT and
MIN_CLASSES were chosen on CIFAR-10 test images (bench/categories.py
--dataset cifar10, the category words written in bench/category_words.tsv
before measuring), never on Caltech-101, which is only the held-out check:
  - WEIGHT 0.75. On CIFAR-10's ConSE index category p@10 rises with the
    weight: 0.481 (0, word space alone), 0.637 (0.25), 0.787 (0.5), 0.881
    (0.75), 0.912 (1, mass alone); on the trained index 0.481, 0.750,
    0.875, 0.919, 0.931 (docs/results.md, "categories cifar10"). 0.75 takes
    most of the gain and keeps a quarter for the word itself: it orders
    images of equal mass, and a word whose WordNet sense is not the one
    meant ("amphibian" is first a vehicle) still gets its word-space
    neighbours. CIFAR's class words ("cat", "truck", themselves WordNet
    synsets) rise with it (ConSE 0.64 -> 0.92).
  - MIN_CLASSES 1: a synset with a single ImageNet class ("airplane" ->
    airliner) gains from its class's mass just as a broad one does.

Each image's mass on a category comes from search.category_mass: the
backbone's ImageNet probabilities every index stores, and a trained model's
own classes under the category. An index built before the top classes were
stored keeps the word-space score alone (and the model's classes), with one
warning saying how to add them.

In an index without a trained model (ConSE), a word naming no ImageNet class
("emu", "ferry") is blended the same way with its nearest category in WordNet
(data.wordnet.nearest_category: ratite, whose one ImageNet class is the
ostrich; boat), at NEAREST_WEIGHT, when that category holds at most
NEAREST_MAX_CLASSES classes. GloVe's neighbours of such rare nouns are often
noise ("emu" is nearest polecat among ImageNet's labels); WordNet places
them. Chosen by bench/nearest_dev.py, where
each CIFAR-10 class word and each imagenet-probe-dev class name plays such a
word by hiding its own ImageNet classes: word space alone gave p@10 0.310 on
CIFAR-10 and hit@10 0.402 on the probe; weight 0.5 gave 0.410 / 0.511, 0.75
0.430 / 0.561, 0.9 0.440 / 0.589 and 1 (mass alone) 0.380 / 0.585, each with
at most 30 classes; at weight 0.9 a cap of 10, 100 or 1000 classes gave
0.450 / 0.581, 0.440 / 0.571 and 0.410 / 0.565.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from devise.core.progress import warn
from devise.data import wordnet
from devise.data.imagenet import class_names
from devise.data.wordnet import Category, category
from devise.search.category_mass import category_mass

if TYPE_CHECKING:
    from devise.index.store import OpenIndex

WEIGHT = 0.75       # share of the category mass in a category word's score
MIN_CLASSES = 1     # ImageNet classes a synset needs under it to count as a category
MIN_MASS = 0.05     # an image added to the pool for its mass needs at least this much of it
NEAREST_WEIGHT = 0.9       # share of the nearest category's mass in the score of a word naming no ImageNet class
NEAREST_MAX_CLASSES = 30   # a broader nearest category ("vertebrate") says too little of the word
NEAREST_MAX_KINDS = 1000   # nor does one covering more kinds of thing in WordNet ("plant": 4,488), however few
                           # ImageNet classes it holds (daisy, yellow lady's slipper)

_warned: set[str] = set()


def category_of(text: str) -> Category | None:
    """The category a query term names ("animals" -> animal.n.01 and its 398 ImageNet classes), or None."""
    return category(text, MIN_CLASSES)


def named_by(phrase: str) -> str:
    """The words of `phrase` that name its category: the phrase, or, when it names none, the word it ends on
    if that names one ("red car" -> "car", "windsor chair" -> "chair"), unless WordNet knows the phrase as
    something else ("sea horse" is a fish, not a horse)."""
    words = phrase.split()
    if len(words) < 2 or category_of(phrase) is not None:
        return phrase
    last = category_of(words[-1])
    if last is None:
        return phrase
    places = wordnet.above(phrase)
    known = bool(places) or wordnet.compound(words) is not None
    return words[-1] if not known or places & set(last.offsets) else phrase


def scoring_category(text: str, seen: tuple[str, ...] = ()) -> tuple[Category | None, float]:
    """(the category whose mass scores a query term, its share of the score): the category it names at
    WEIGHT, else, in an index without a trained model (no `seen` classes), its nearest category at
    NEAREST_WEIGHT; (None, 0.0) for neither. A trained model places a new word by its own classes
    (models.seen_margin), and bench/nearest_dev.py measured the nearest category on ConSE alone."""
    own = category_of(text)
    if own is not None:
        return own, WEIGHT
    if seen:
        return None, 0.0
    nearest = wordnet.nearest_category(text)
    if nearest is None or len(nearest.classes) > NEAREST_MAX_CLASSES or nearest.kinds > NEAREST_MAX_KINDS:
        return None, 0.0
    return nearest, NEAREST_WEIGHT


def describe(cat: Category, shown: int = 3) -> str:
    """A category for people: its first synset's word and a few of its ImageNet classes ("ratite (ostrich)"),
    the word alone where it is the one class ("hotdog")."""
    names = [class_names()[c] for c in cat.classes[:shown]]
    word = cat.synset.split()[0].rsplit('.', 2)[0].replace('_', ' ')
    if names == [word]:
        return word
    more = ", …" if len(cat.classes) > shown else ""
    return f"{word} ({', '.join(names)}{more})"


def blend(word_scores: npt.ArrayLike, mass: npt.ArrayLike, weight: float | None = None) -> np.ndarray:
    weight = WEIGHT if weight is None else weight
    return (1.0 - weight) * np.asarray(word_scores, np.float32) + weight * np.asarray(mass, np.float32)


def _added(idx, text, mass, pool, allowed, scores):
    """Ids, outside the pool (and inside `allowed`), with the most mass: as many as the pool holds."""
    mask = mass >= MIN_MASS
    mask[pool] = False
    if allowed is not None:
        keep = np.zeros(len(mask), bool)
        keep[np.asarray(allowed, np.int64)] = True
        mask &= keep
    found = np.flatnonzero(mask)
    found = found[np.argsort(-mass[found], kind="stable")[:max(len(pool), 1)]]
    if not len(found):
        return found, np.zeros(0, np.float32)
    words = idx.word_vectors()
    cosines = np.asarray(idx.vectors("words")[found], np.float32) @ words.phrase_matrix([text])[0]
    # Outside the pool means the caller's score ranked them below its last member.
    floor = float(np.min(scores)) if len(scores) else float(cosines.max())
    return found, np.minimum(cosines, floor)


def rescore(idx: OpenIndex, text: str, ids: np.ndarray, scores: np.ndarray, *, allowed: npt.ArrayLike | None = None,
            add: bool = True, lead: npt.ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One query term's candidates (ids, word-space scores, higher better), blended with the category mass
    when `text` names a category or has a nearest one (scoring_category); otherwise, or when the index lacks
    the data, the inputs unchanged.

    add: also take in the images with the most mass that were not candidates
    (at most as many as there were candidates, each with mass >= MIN_MASS),
    restricted to `allowed` ids when a filter applies. Returned best first.

    lead: per input id, the lead its best seen class (one not under the
    category) holds over the query (models.seen_margin); the mass loses it
    too, so that an image the trained model gives to a seen rival (a car,
    for a model that never saw "truck") loses its whole lead, as it would
    without the blend, whatever truck mass the backbone sees in it.
    `scores` already lost it.
    """
    cat, weight = scoring_category(text, idx.seen_phrases)
    if cat is None:
        return ids, scores
    mass = category_mass(idx, cat)
    if mass is None:
        if cat.nearest:
            return ids, scores
        if idx.name not in _warned:
            _warned.add(idx.name)
            warn(f"index {idx.name!r} was built before category search ('{text}' names {cat.synset}); "
                 f"update it with `devise index {idx.root} --name {idx.name}` to rank by category.")
        return ids, scores
    ids, scores = np.asarray(ids, np.int64), np.asarray(scores, np.float32)
    lead = np.zeros(len(ids), np.float32) if lead is None else np.asarray(lead, np.float32)
    if add:
        more, more_scores = _added(idx, text, mass, ids, allowed, scores)
        ids, scores = np.concatenate([ids, more]), np.concatenate([scores, more_scores])
        lead = np.concatenate([lead, np.zeros(len(more), np.float32)])
    blended = blend(scores, mass[ids] - lead, weight)
    order = np.argsort(-blended, kind="stable")
    return ids[order], blended[order]
