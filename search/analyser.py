"""Text -> the things a query asks for: with search.content_words, the one place where typed text becomes
word vectors.

search, walk and the web page pass through here, and `label` phrases and
`score` prompts through search.content_words, which this module builds on,
so a word means the same everywhere.

What is dropped: stop words (data/stopwords.txt) and the framing of
prompt templates (FRAMING: "a photo of", "an image of"). A mean of word
vectors would otherwise be mostly "a", "of" and "photo", the same for every
sentence. Framing words are kept when nothing else is left ("photo").

One thing or several (`analyse`), within a query without `+`/`-`:
  - a quoted phrase is one thing, its words kept as typed;
  - "and", "or", "&", "," and ";" separate things ("a dog and a cat");
  - a sentence (a stretch with stop words or framing in it: "a dolphin
    jumping out of the water") is ONE thing: the weighted mean of its head
    ("dolphin") and, at a quarter of the head's weight, its context
    ("jumping", "water"): see search.sentence. The head
    is the first noun phrase, unless it says how much or in what form ("a
    pair of | scissors") or names only people ("a man playing | a
    saxophone"). Weighting words by how rare they are (GloVe's row order)
    was measured and did not help;
  - bare words ("dolphin pizza") are one thing each, except a known
    multiword phrase (an ImageNet class name such as "hot dog", a class
    phrase of the index's model, a WordNet compound noun such as "coffee
    table" or "dollar bill", or a GloVe compound: "ice-cream", and
    "water lily" since GloVe has "water-lily")
    and a MODIFIER (a colour, a size) with the word after it ("red car");
  - a weighted word (`dog:2 snow`) is its own thing, and its weight is that
    thing's weight when the things' rankings are fused (search.fusion).
A query with `+`/`-` parts is vector arithmetic, as before: one thing whose
vector is the signed sum of its unit parts ("beach + sunset - people").
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from devise.core.errors import QueryError, VocabularyError
from devise.core.results import Result
from devise.data import wordnet
from devise.data.imagenet import class_lemmas
from devise.search.content_words import content_words, ignorable, mean_vector
from devise.search.query import EXAMPLES, parse, query_vector, shown, unknown_message
from devise.search.sentence import CONTEXT_WEIGHT, FRAMING, sentence_head, sentence_weights

if TYPE_CHECKING:
    from devise.data.words import WordVectors

# Words between things: "a dog and a cat", "pizza, laptop".
SEPARATORS = frozenset(["and", "or", "&", "plus", ",", ";"])
# Each thing is searched and scored on its own, so a query's cost grows with its things (about 10 ms each on
# Caltech-101): a pasted list of 20,000 words would hold a search, or the web server, for minutes.
MAX_THINGS = 32
# Words that qualify the word after them, rather than name a thing of their own.
MODIFIERS = frozenset(["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey", "gray", "golden", "silver", "dark", "light", "bright", "pale", "striped", "spotted", "small", "little", "tiny", "big", "large", "huge", "giant", "tall", "long", "short", "old", "young", "new", "baby", "wild", "wooden", "metal", "plastic", "glass", "stone", "wet", "dry", "hot", "cold", "frozen", "fresh", "cooked", "empty", "full", "open", "closed", "broken", "flying", "sleeping", "running", "swimming", "smiling", "happy", "sad", "angry", "cute"])


@dataclass
class Term(Result):
    """One thing the query asks for."""

    text: str                       # the words of the query it came from
    words: list[str]                # the in-vocabulary words whose vectors make it
    weight: float = 1.0             # its weight when the things' rankings are fused
    kind: str = "word"              # word, phrase (known or quoted), sentence or arithmetic
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)
    head: str | None = None         # a sentence's head ("binoculars" in "a pair of binoculars on a desk")

    @property
    def unit_vector(self) -> np.ndarray:
        """The unit vector this thing is searched with (analyse sets it)."""
        if self.vector is None:
            raise ValueError(f"the query term {self.text!r} has no vector")
        return self.vector

    def to_dict(self) -> dict[str, Any]:
        out = {"text": self.text, "words": list(self.words), "weight": self.weight, "kind": self.kind}
        return {**out, "head": self.head} if self.head else out


@dataclass
class Analysis(Result):
    """A query split into things; `used` and `dropped` are the words kept and left out."""

    query: str
    terms: list[Term]
    used: list[str]
    dropped: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "terms": [t.to_dict() for t in self.terms], "used": self.used,
                "dropped": self.dropped}


@functools.cache
def _imagenet_phrases():
    return frozenset(tuple(name.lower().split()) for lemmas in class_lemmas() for name in lemmas
                     if " " in name and all(w.isalpha() for w in name.split()))


def _named_together(words, known):
    return tuple(words) in known or wordnet.compound(words) is not None


def _groups(tokens, known, words):
    """Bare words -> things: known multiword phrases and WordNet's compound nouns (longest first), GloVe
    compounds ("water lily" as "water-lily"), a modifier with the word after it."""
    out, i = [], 0
    longest = max(max((len(p) for p in known), default=1), wordnet.COMPOUND_WORDS)
    lowered = [t.lower() for t in tokens]
    while i < len(tokens):
        span = next((n for n in range(min(longest, len(tokens) - i), 1, -1)
                     if _named_together(lowered[i:i + n], known)), 0)
        if not span and i + 1 < len(tokens) and f"{tokens[i]}-{tokens[i + 1]}".lower() in words:
            span = 2
        if span:
            out.append((tokens[i:i + span], "phrase"))
            i += span
            continue
        j = i
        while j + 1 < len(tokens) and tokens[j] in MODIFIERS:
            j += 1
        out.append((tokens[i:j + 1], "phrase" if j > i else "word"))
        i = j + 1
    return out


def _segments(elements):
    """Split a part's (text, weight, quoted) elements at separators: "pizza, laptop", "a dog and a cat".
    Returns (segments, the separator words)."""
    segments, current, separators = [], [], []
    for text, weight, quoted in elements:
        if not quoted and text.lower() in SEPARATORS:
            separators.append(text.lower())
            segments.append(current)
            current = []
            continue
        ends = not quoted and text.endswith((",", ";")) and len(text) > 1
        current.append((text.rstrip(",;") if ends else text, weight, quoted))
        if ends:
            segments.append(current)
            current = []
    return [s for s in segments + [current] if s], separators


class _Collector:
    def __init__(self, words, context):
        self.words, self.context = words, context
        self.terms, self.used, self.dropped, self.unknown = [], [], [], []

    def known_tokens(self, text):
        found, missing = self.words.phrase_words(text)
        self.unknown.extend(missing)
        return found

    def add(self, text, tokens, weight, kind, token_weights=None):
        if tokens:
            self.used.extend(tokens)
            self.terms.append(Term(text, list(tokens), weight, kind, mean_vector(self.words, tokens, token_weights)))

    def segment(self, elements, known):
        plain = []
        for text, weight, quoted in elements:
            if quoted:
                self.add(text, self.known_tokens(text), weight, "phrase")
            elif weight != 1.0:
                kept, dropped = content_words(self.words, " ".join(self.known_tokens(text)))
                self.dropped.extend(dropped)
                self.add(text, kept, weight, "word" if len(kept) == 1 else "phrase")
            else:
                plain.extend(self.known_tokens(text))
        keep = [not ignorable(w) for w in plain]
        if not any(keep):  # "a photo": framing is all there is
            keep = [w.lower() in FRAMING for w in plain]
        kept = [w for w, k in zip(plain, keep) if k]
        self.dropped.extend(w for w, k in zip(plain, keep) if not k)
        if len(kept) < len(plain):  # a sentence: one thing, its head outweighing its context
            head = sentence_head(plain, keep)
            self.add(" ".join(plain), kept, 1.0, "sentence", sentence_weights(plain, keep, self.context, head))
            if head and self.terms:
                self.terms[-1].head = " ".join(w for w, k in zip(plain[head[0]:head[1] + 1], keep[head[0]:head[1] + 1]) if k)
            return
        for group, kind in _groups(kept, known, self.words):
            self.add(" ".join(group), group, 1.0, kind)


def analyse(query: str, words: WordVectors, phrases: Iterable[str] = (), context: float | None = None) -> Analysis:
    """Split `query` into things (see the module doc). phrases: extra known multiword phrases (a model's classes).

    Raises QueryError for a malformed query, one of stop words only or one of more than MAX_THINGS things,
    VocabularyError for unknown words.
    """
    parts = parse(query)
    if len(parts) > 1 or parts[0].sign < 0:
        return _arithmetic(query, parts, words)
    known = _imagenet_phrases() | {tuple(p.lower().split()) for p in phrases if " " in p}
    collect = _Collector(words, CONTEXT_WEIGHT if context is None else context)
    segments, separators = _segments(parts[0].elements)
    for segment in segments:
        collect.segment(segment, known)
    collect.dropped.extend(separators)
    if collect.unknown:
        raise VocabularyError(unknown_message(query, collect.unknown, words))
    if not collect.terms:
        if collect.dropped:
            raise QueryError(f"{shown(query)}: only stop words ({', '.join(dict.fromkeys(collect.dropped))}); add a "
                             f"word that names what to find, or quote a phrase to search it as typed.")
        raise QueryError(f"{shown(query)}: no words in it; try {EXAMPLES}.")
    if len(collect.terms) > MAX_THINGS:
        raise QueryError(f"{shown(query)}: {len(collect.terms)} things in one query; search for at most {MAX_THINGS} "
                         f"at a time, or quote a phrase to search it as one thing.")
    return Analysis(query, collect.terms, collect.used, collect.dropped)


def _arithmetic(query, parts, words):
    """`+`/`-` parts: one thing, the signed sum of the parts' unit vectors, stop words and framing dropped
    (unless a part has nothing else)."""
    dropped = []
    for part in parts:
        plain = " ".join(text for text, _, quoted in part.elements if not quoted)
        if not content_words(words, plain)[1]:
            continue  # nothing to drop in this part, or nothing but stop words and framing: keep it whole
        cleaned = []
        for text, weight, quoted in part.elements:
            if not quoted:
                found, _ = words.phrase_words(text)
                dropped.extend(w for w in found if ignorable(w))
                text = " ".join(w for w in found if not ignorable(w)) if found else text
            if text:
                cleaned.append((text, weight, quoted))
        part.elements = cleaned
    vector, used = query_vector(parts, words, query)
    return Analysis(query, [Term(query, used, 1.0, "arithmetic", vector)], used, dropped)
