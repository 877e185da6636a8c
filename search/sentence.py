"""A sentence's head and its context: which of its words name the thing it asks for, and how much each weighs.

"a dolphin jumping out of the water" asks for a dolphin: its head is the
first noun phrase ("dolphin"), unless that phrase says how much or in what
form ("a pair of | scissors") or names only people ("a man playing | a
saxophone"). The head weighs 1 in all, its last word most; the rest of the
sentence, its context, weighs CONTEXT_WEIGHT times the head together. Words
that frame the picture ("a photo of") are no part of either. search.analyser
applies this to every stretch of a query with stop words or framing in it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from devise.data import wordnet

# Words that describe the picture rather than what is in it.
FRAMING = frozenset(["photo", "photos", "photograph", "photographs", "photographic", "picture", "pictures", "image",
                     "images", "pic", "pics", "shot", "snapshot", "closeup", "close-up", "portrait", "rendering",
                     "render", "illustration", "drawing", "painting", "high", "quality", "detailed", "realistic",
                     "photorealistic", "hd", "4k", "8k"])
# Words after which a sentence's head ends ("a cat on a sofa"); its later words are context, and weigh together
# CONTEXT_WEIGHT times the head (bench/query_dev.py).
PREPOSITIONS = frozenset(["on", "in", "at", "of", "with", "without", "next", "near", "by", "under", "over", "above", "below", "behind", "beside", "between", "beyond", "from", "into", "onto", "out", "inside", "outside", "through", "across", "along", "among", "around", "against", "toward", "towards", "during", "while"])
CONTEXT_WEIGHT = 0.25
# Nouns that say how much or in what form, before "of": the thing is what follows ("a pair of scissors",
# "a bowl of strawberries", "a cartoon of garfield").
PARTITIVES = frozenset(["pair", "pairs", "bowl", "bowls", "cup", "cups", "plate", "plates", "box", "boxes", "bunch",
                        "bunches", "group", "groups", "set", "sets", "piece", "pieces", "slice", "slices", "couple",
                        "pile", "piles", "stack", "stacks", "row", "rows", "bag", "bags", "basket", "baskets",
                        "bottle", "bottles", "jar", "jars", "handful", "lot", "lots", "kind", "kinds", "type", "types",
                        "sort", "herd", "flock", "swarm", "pack", "crowd", "collection", "cartoon", "cartoons",
                        "statue", "statues", "sculpture", "model", "models", "toy", "sketch", "photo", "picture",
                        "image", "drawing", "painting", "view", "close-up", "closeup"])
# People in a sentence about what they hold or do ("a man playing the saxophone"): the thing is the rest.
PEOPLE = frozenset(["man", "men", "woman", "women", "person", "people", "boy", "boys", "girl", "girls", "child",
                    "children", "kid", "kids", "guy", "guys", "lady", "ladies", "someone", "somebody"])
MODIFIER_SHARE = 0.5  # a word before the head in its noun phrase ("crystal" chandelier) weighs this much of it


def _spans(tokens: Sequence[str], keep: Sequence[bool]) -> list[tuple[int, int]]:
    """The sentence's noun phrases: runs of kept tokens, ended by a preposition or stop word, or, once the
    run holds a noun, by a word that is no noun ("a dolphin | jumping", "an antique ewer | made of";
    "smiling face" stays one). Verbs and the like are context, never a phrase. [(first, last) positions]."""
    spans, start, noun = [], None, False
    for i, (word, kept) in enumerate(zip(tokens, keep)):
        lower = word.lower()
        is_noun = wordnet.lemma(lower) is not None
        ends = not kept or lower in PREPOSITIONS or (noun and not is_noun)
        if ends:  # the word ending a phrase is context ("jumping", "made"), never a phrase's start
            if start is not None:
                spans.append((start, i - 1))
            start, noun = None, False
            continue
        start = i if start is None else start
        noun = noun or is_noun
    return spans + ([(start, len(tokens) - 1)] if start is not None else [])


def sentence_head(tokens: Sequence[str], keep: Sequence[bool]) -> tuple[int, int] | None:
    """(first, last) positions of the sentence's head phrase: the first noun phrase, unless it only says how
    much or in what form ("a pair of | binoculars"), or only names people beside something else ("a man
    playing | the saxophone"). A word before framing ("a blurry photo of") describes the picture."""
    spans = [(a, b) for a, b in _spans(tokens, keep)
             if not (b + 1 < len(tokens) and tokens[b + 1].lower() in FRAMING)]
    if not spans:
        return None
    k = 0
    while k + 1 < len(spans):
        a, b = spans[k]
        words = [t.lower() for t in tokens[a:b + 1]]
        partitive = words[-1] in PARTITIVES and b + 1 < len(tokens) and tokens[b + 1].lower() == "of"
        if not (partitive or all(w in PEOPLE for w in words)):
            break
        k += 1
    return spans[k]


def sentence_weights(tokens: Sequence[str], keep: Sequence[bool], context: float,
                     head: tuple[int, int] | None = None) -> np.ndarray:
    """Weights of a sentence's kept tokens: its head phrase (sentence_head) weighs 1 in all, the word it ends
    on most (a word before it MODIFIER_SHARE as much: "crystal chandelier"), and the rest, its context,
    `context` times the head together."""
    head = sentence_head(tokens, keep) if head is None else head
    kept_at = [i for i, k in enumerate(keep) if k]
    if head is None:
        return np.ones(len(kept_at))
    a, b = head
    weights = np.array([(1.0 if i == b else MODIFIER_SHARE) if a <= i <= b else -1.0 for i in kept_at])
    weights[weights > 0] /= weights[weights > 0].sum()
    rest = weights < 0
    if rest.any():
        weights[rest] = context / rest.sum()
    return weights
