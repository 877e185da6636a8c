"""Text -> images: `devise search "cat sofa"`.

A query is split into the things it asks for (search.analyser). Each thing
finds its own nearest candidates in word space; every thing then scores
all the candidates with one function, term_scores (the cosine, less the
seen-class lead for a trained model's index, models.seen_margin, then
visual feedback, models.feedback), and several things' scores are fused
(search.fusion). Only NumPy, Annoy and memory-mapped arrays are loaded, so a
cold process answers in a few hundred milliseconds, without TensorFlow.

A query whose things all fail to match is marked weak: "nothing matches".
A thing naming a category fails when its best images carry too little of the
category's ImageNet mass (PRESENT_MASS), whatever its word-space score: a
word's vector can sit near every image of a collection without any of them
showing it ("hot dog" near Caltech-101's faces). Any other thing fails when
its best images score no better than unrelated words do (index.noise).
"""
from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from devise.index import noise
from devise.index.selection import Kept, filtered_ids, nearest
from devise.index.store import OpenIndex, open_index
from devise.models import seen_margin
from devise.models.feedback import feedback_scores
from devise.search import categories, category_mass
from devise.search.analyser import Analysis, Term, analyse
from devise.search.fusion import fuse
from devise.search.results import Hit, SearchResults, write_sheet

if TYPE_CHECKING:
    from devise.data.words import WordVectors

# A thing is weak when its best images match it no better than this quantile of random words match the index
# (index.noise); bench/query_dev.py measured the choice (docs/query.md).
NOISE_QUANTILE = "95"
LAZY_NOISE_MAX = 200_000   # an index built before noise records gets one on first search up to this size
# Below this many images the best-10 statistic covers much of the collection and present words were flagged
# (3 of 10 on the 26 sample photos of tests/test_query_examples.py): no flag there.
NOISE_MIN_ITEMS = 10 * noise.TOP
# A thing whose category's best images carry this much of its ImageNet mass, on average, is in the collection.
PRESENT_MASS = 0.3


def hits_of(idx: OpenIndex, pairs: Iterable[tuple[int, float]]) -> list[Hit]:
    """[(id, cosine)] of `idx` -> Hits with the items' paths."""
    return [Hit(idx.items[i]["path"], round(score, 6)) for i, score in pairs]


@functools.lru_cache(maxsize=8)
def _seen_labels(words, phrases):
    """Unit vectors of a model's seen phrases; kept, since a served index answers query after query."""
    return words.phrase_matrix(list(phrases))


def term_scores(idx: OpenIndex, words: WordVectors, term: Term, ids: np.ndarray,
                feedback: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """THE score of one thing for candidate `ids`: -> (ids, scores), to be fused with the other things'.

    Cosine in word space, less the seen-class lead where the index's model
    has seen classes, then refined by visual feedback unless `feedback` is
    False. A thing naming a category is then blended with its members'
    probability mass (search.categories), and that mass loses the same lead.
    Seen classes under the category are its members, not rivals: they give
    no lead. Anything else that scores a thing belongs here, at the end, so
    that every thing passes through it before fusion.
    """
    space, phrases = idx.space("words"), idx.seen_phrases
    if not len(ids):
        return ids, np.zeros(0, np.float32)
    named = category_text(term, phrases)
    cat = categories.scoring_category(named, phrases)[0] if named else None
    vectors = np.asarray(space.vectors[ids], np.float32)
    scores = np.clip(vectors @ term.unit_vector, -1.0, 1.0)
    lead = np.zeros(len(ids), np.float32)
    if phrases:
        seen = _seen_labels(words, phrases)
        if cat is not None:
            seen = np.delete(seen, category_mass.model_classes_under(idx, cat), axis=0)
        gamma = float((idx.manifest.seen_margin or {})["gamma"])
        margined = seen_margin.margin_scores(scores, seen_margin.best_seen_cos(vectors, seen, term.unit_vector), gamma)
        lead, scores = scores - margined, margined
    if feedback:
        scores = feedback_scores(scores, np.asarray(idx.vectors("features")[ids], np.float32))
    if cat is not None and named:  # blended with the mass of the classes it names ("animal") or its nearest ("emu")
        ids, scores = categories.rescore(idx, named, ids, np.asarray(scores, np.float32), add=False, lead=lead)
    return ids, np.asarray(scores, np.float32)


def category_text(term: Term, seen: tuple[str, ...] = ()) -> str | None:
    """The words of a thing that may name a category: a word, a phrase or a sentence's head, or the category
    word it ends on (categories.named_by). A class phrase of the index's model (`seen`) stays whole: the
    model places it, and the word it ends on says less ("crocodile head": a head is first a promontory)."""
    if term.kind == "arithmetic":
        return None
    if term.kind == "sentence" and not term.head:
        return term.words[0] if term.words else None
    text = term.head if term.kind == "sentence" and term.head else term.text
    return text if text in seen else categories.named_by(text)


@dataclass
class Ranking:
    pairs: list                 # [(id, score)] best first
    strength: list              # per thing: the mean cosine of its TOP nearest images (index.noise's statistic)
    mass: list                  # per thing: the mean mass of the category it names over its TOP best images by
                                # that mass; None for a thing naming no category or a nearest one, or an index
                                # without the mass (built before it stored ImageNet classes)
    kinds: list                 # per thing: its nearest category, described, when the thing names no ImageNet
                                # class and its best images carry PRESENT_MASS of that category; else None
    described: list             # per thing with a mass: the category it names, described ("hotdog")


def ranked(idx: OpenIndex, words: WordVectors, analysis: Analysis, top: int, allowed: np.ndarray | Kept | None = None,
           feedback: bool = True, method: str | None = None) -> Ranking:
    """The `top` best (id, score) for an analysed query, fused over its things."""
    space = idx.space("words")
    size = seen_margin.pool_size(top, space.count)
    pools = [nearest(space, term.unit_vector, size, allowed) for term in analysis.terms]
    strength = [float(np.mean([s for _, s in pool[:noise.TOP]])) if pool else -1.0 for pool in pools]
    found = [i for pool in pools for i, _ in pool]
    mass: list[float | None] = [None] * len(pools)
    kinds: list[str | None] = [None] * len(pools)
    described: list[str | None] = [None] * len(pools)
    for t, (term, pool) in enumerate(zip(analysis.terms, pools)):
        named = category_text(term, idx.seen_phrases)
        if named and pool:  # a category's members far from its word in word space join the candidates
            pool_ids, pool_scores = seen_margin.pool_arrays(pool)
            joined = categories.rescore(idx, named, pool_ids, pool_scores, allowed=allowed)[0]
            found += joined.tolist()
            cat = categories.scoring_category(named, idx.seen_phrases)[0]
            top_mass = category_mass.top_mass(idx, cat, joined, noise.TOP)
            if cat is not None and cat.nearest and top_mass is not None and top_mass >= PRESENT_MASS:
                kinds[t] = categories.describe(cat)
            mass[t] = None if cat is None or cat.nearest else top_mass
            described[t] = categories.describe(cat) if cat is not None and mass[t] is not None else None
    ids = np.array(list(dict.fromkeys(found)), np.int64)
    per_term = []
    for term in analysis.terms:
        term_ids, scores = term_scores(idx, words, term, ids, feedback)
        lookup = dict(zip(term_ids.tolist(), scores.tolist()))
        floor = min(lookup.values(), default=0.0)
        per_term.append([lookup.get(i, floor) for i in ids.tolist()])
    fused = fuse(per_term, [t.weight for t in analysis.terms], method) if len(ids) else np.zeros(0)
    return Ranking(seen_margin.best_first(ids, fused, top), strength, mass, kinds, described)


def noise_of(idx: OpenIndex) -> dict[str, Any] | None:
    """The index's noise record (index.noise): from its manifest, else computed once per process; None for a
    large index built before noise records (no weak flag then, and no slow first search) and a small one."""
    record = idx.manifest.noise
    record = record if record and record.get("sample") == noise.SAMPLE else None
    if len(idx.items) < NOISE_MIN_ITEMS:
        return None
    if record is None and len(idx.items) <= LAZY_NOISE_MAX:
        key = (idx.name, idx.manifest.version)
        if key not in _lazy_noise:
            _lazy_noise[key] = noise.profile(idx.word_vectors(), np.asarray(idx.vectors("words"), np.float32))
        record = _lazy_noise[key]
    return record


_lazy_noise: dict = {}  # (index, version) -> noise record, for indexes built before noise records


def weak_terms(analysis: Analysis, ranking: Ranking,
               record: dict[str, Any] | None) -> tuple[float | None, list[str]]:
    """(threshold, [texts of the things that match nothing]); (None, []) unknown (see is_weak)."""
    if not record:
        return None, []
    threshold = float(record["quantiles"][NOISE_QUANTILE])
    return threshold, [t.text for t, s, m in zip(analysis.terms, ranking.strength, ranking.mass)
                       if is_weak(s, m, threshold)]


def is_weak(strength: float, mass: float | None, threshold: float) -> bool:
    """Whether a thing matches nothing: by its category's mass where it names one (mass not None: below
    PRESENT_MASS), else by its word-space strength (at most `threshold`, a noise quantile)."""
    return mass < PRESENT_MASS if mass is not None else strength <= threshold


def search(query: str, *, index: str | None = None, top: int = 10, filter: str | None = None,
           sheet: str | Path | None = None, feedback: bool = True) -> SearchResults:
    """Images matching a text query, best first, by a score of at most 1.

    The query is split into things (search.analyser: stop words and
    framing dropped, "dolphin pizza" two things, a sentence one). For one
    thing, the score starts as the cosine between it and the image in word
    space. In an index built with a trained model, an image also loses the
    lead its best seen class holds over the query (models.seen_margin), so
    new words are not buried under the seen classes next to them. With
    `feedback` (the default), the ranking is then refined by how much each
    image looks like the best hits (models.feedback); feedback=False keeps
    the word-space score alone. Several things' scores are fused
    (search.fusion); the shown score is then the fused one.

    `weak` in the result says that no thing matched (is_weak); `weak_terms`
    names the things that did not, and `absent_kinds` those of them judged
    by the category they name, which no image shows.

    query: words, sentences, phrases, `+`/`-` parts and `word:2` weights ("beach + sunset - people").
    index: an index name (default: the last one built). filter: only items
    matching this filter expression. sheet: also write a contact sheet PNG here.
    """
    idx = open_index(index)
    allowed = filtered_ids(idx, filter)
    words = idx.word_vectors()
    analysis = analyse(query, words, idx.seen_phrases)
    ranking = ranked(idx, words, analysis, top, allowed, feedback)
    hits = hits_of(idx, ranking.pairs)
    threshold, weak = weak_terms(analysis, ranking, noise_of(idx))
    title = f"{query}" + (f" [{filter}]" if filter else "") + f"  (index {idx.name})"
    written = write_sheet(hits, sheet, title) if sheet else None
    return SearchResults(query, idx.name, hits, filter, written, analysis=analysis.to_dict(),
                         weak=bool(weak) and len(weak) == len(analysis.terms), weak_terms=weak,
                         noise_threshold=threshold,
                         nearest_kinds={t.text: k for t, k in zip(analysis.terms, ranking.kinds) if k},
                         absent_kinds={t.text: n for t, n in zip(analysis.terms, ranking.described) if n and t.text in weak})


def top_hit(query: str, *, index: str | None = None, allowed: np.ndarray | None = None,
            idx: OpenIndex | None = None) -> int | None:
    """The id of search's first hit for `query` among `allowed` ids (walk's start); None when nothing is left."""
    idx = idx or open_index(index)
    words = idx.word_vectors()
    pairs = ranked(idx, words, analyse(query, words, idx.seen_phrases), 1, allowed).pairs
    return pairs[0][0] if pairs else None
