"""Each image's probability mass on a WordNet category, the evidence search.categories blends in.

Every index stores the same backbone ImageNet probabilities whatever its
projection (ConSE or a trained head): an image's mass on a category is its
probability on the category's ImageNet classes, read from the top classes
stored at index time (index.writer.top_classes). A trained model's own
classes join through their own synsets (data.wordnet.above: "trilobite"
lies under "animal", though ImageNet has no trilobite): each image's mass on
them is a softmax over its cosines with the model's class phrases at
MODEL_TAU, and an image's category mass is the larger of the two.
"""
from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from devise.data import wordnet
from devise.data.imagenet import NUM_CLASSES
from devise.data.wordnet import Category
from devise.models.conse import softmax

if TYPE_CHECKING:
    from devise.index.store import OpenIndex

# Softmax temperature over an image's cosines with a trained model's class phrases. Chosen on CIFAR-10's trained
# dev index (bench/query_dev.py's): category p@10 0.894 without the model's classes, 0.719 (tau 0.02), 0.862
# (0.05), 0.925 (0.1), 0.906 (0.15), 0.894 (0.2).
MODEL_TAU = 0.1
MODEL_MASS_MAX = 200_000  # above this many images, the model's classes score only the candidates (memory, time)


def category_mass(idx: OpenIndex, cat: Category, ids: np.ndarray | None = None) -> np.ndarray | None:
    """Each image's (or each of `ids`') mass on `cat`: the larger of the backbone's ImageNet probability
    mass on its classes and the trained model's on its own classes under it (model_mass); None when the
    index has neither (built before it stored ImageNet classes, with no model class under `cat`).

    Up to MODEL_MASS_MAX images, the whole index's mass is computed once per open index and category (a
    query asks for it to pick candidates, to say whether anything matches, and to score), then sliced."""
    if len(idx.items) > MODEL_MASS_MAX:
        return _mass(idx, cat, ids)
    per_index = _whole_index.setdefault(idx, {})
    if cat.synset not in per_index:
        per_index[cat.synset] = _mass(idx, cat, None)
    whole = per_index[cat.synset]
    return whole if whole is None or ids is None else whole[np.asarray(ids, np.int64)]


# open index -> {synset: each image's mass}; dropped with the index, so an updated index (a new version,
# opened anew) never reads an old version's masses.
_whole_index: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _mass(idx, cat, ids):
    masses = [m for m in (imagenet_mass(idx, cat, ids), model_mass(idx, cat, ids)) if m is not None]
    return np.maximum.reduce(masses) if masses else None


def model_classes_under(idx: OpenIndex, cat: Category) -> list[int]:
    """Positions, among the index's trained model's class phrases, of the classes under `cat` in WordNet."""
    wanted = set(cat.offsets)
    return [i for i, phrase in enumerate(idx.seen_phrases) if wanted & wordnet.above(phrase)]


def model_mass(idx: OpenIndex, cat: Category, ids: np.ndarray | None = None) -> np.ndarray | None:
    """Each image's mass on the index's trained model's classes that lie under `cat` in WordNet; None for
    a ConSE index, a model with no class under `cat`, or all of an index above MODEL_MASS_MAX images."""
    phrases, under = list(idx.seen_phrases), model_classes_under(idx, cat)
    if not under or (ids is None and len(idx.items) > MODEL_MASS_MAX):
        return None
    space = idx.vectors("words")
    vectors = np.asarray(space[np.asarray(ids, np.int64)] if ids is not None else space, np.float32)
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    cosines = vectors @ idx.word_vectors().phrase_matrix(phrases).T
    return softmax(cosines / MODEL_TAU)[:, under].sum(axis=1)


def imagenet_mass(idx: OpenIndex, cat: Category, ids: np.ndarray | None = None) -> np.ndarray | None:
    """Each image's (or each of `ids`') backbone probability mass on `cat`'s ImageNet classes; None when
    the index was built before it stored them."""
    top = idx.imagenet_top()
    if top is None:
        return None
    classes, probs = top
    if ids is not None:
        classes, probs = classes[ids], probs[ids]
    return class_mass(classes, probs, cat.classes)


def class_mass(classes: npt.ArrayLike, probs: npt.ArrayLike, members: npt.ArrayLike) -> np.ndarray:
    """Each row's probability on `members`, from its top classes ([N, k] indices) and their probabilities."""
    member = np.zeros(NUM_CLASSES, bool)
    member[np.asarray(members, np.int64)] = True
    return (np.asarray(probs, np.float32) * member[np.asarray(classes, np.int64)]).sum(axis=1)


def top_mass(idx: OpenIndex, cat: Category | None, ids: np.ndarray, top: int) -> float | None:
    """The mean mass on `cat` over the `top` of `ids` with the most of it; None without a category, without
    ids, or in an index that has no mass to give (category_mass)."""
    mass = category_mass(idx, cat, np.asarray(ids, np.int64)) if cat is not None and len(ids) else None
    return float(np.sort(mass)[-top:].mean()) if mass is not None else None
