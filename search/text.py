"""Text -> images: `devise search "cat sofa"`.

A query is parsed into one unit vector in the index's word space
(search.query) and matched against the images projected into that space.
The best candidates are then re-ranked (models.seen_margin,
models.feedback), reading their rows of the memory-mapped features. Only
NumPy, Annoy and memory-mapped arrays are loaded, so a cold process answers
in a few hundred milliseconds, without TensorFlow.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from devise.index.filters import select
from devise.index.store import open_index
from devise.models import seen_margin
from devise.models.feedback import feedback_scores
from devise.search.filtered import nearest
from devise.search.query import query_vector
from devise.search.results import Hit, SearchResults, write_sheet


def hits_of(idx, pairs) -> list[Hit]:
    """[(id, cosine)] of `idx` -> Hits with the items' paths."""
    return [Hit(idx.items[i]["path"], round(score, 6)) for i, score in pairs]


@functools.lru_cache(maxsize=8)
def _seen_labels(words, phrases):
    """Unit vectors of a model's seen phrases; kept, since a served index answers query after query."""
    return words.phrase_matrix(list(phrases))


def ranked(idx, words, vector, top, allowed=None, feedback=True):
    """[(id, score)] best first: cosine, less the seen-class lead where the index's model has seen
    classes, then refined by visual feedback (models.feedback) unless `feedback` is False."""
    space, margin = idx.space("words"), idx.manifest.get("seen_margin")
    trained = bool(margin and margin.get("phrases"))
    if not trained and not feedback:
        return nearest(space, vector, top, allowed)
    pool = nearest(space, vector, seen_margin.pool_size(top, space.count), allowed)
    if trained:
        seen = _seen_labels(words, tuple(margin["phrases"]))
        ids, scores = seen_margin.candidate_scores(pool, space.vectors, vector, seen, float(margin["gamma"]))
    else:
        ids, scores = seen_margin.pool_arrays(pool)
    if feedback and len(ids):
        scores = feedback_scores(scores, np.asarray(idx.vectors("features")[ids], np.float32))
    return seen_margin.best_first(ids, scores, top)


def search(query: str, *, index: str | None = None, top: int = 10, filter: str | None = None,
           sheet: str | Path | None = None, feedback: bool = True) -> SearchResults:
    """Images matching a text query, best first, by a score of at most 1.

    The score starts as the cosine between the query and the image in word
    space. In an index built with a trained model, an image also loses the
    lead its best seen class holds over the query (models.seen_margin), so
    new words are not buried under the seen classes next to them. With
    `feedback` (the default), the ranking is then refined by how much each
    image looks like the best hits (models.feedback); feedback=False keeps
    the word-space score alone.

    query: words, phrases, `+`/`-` parts and `word:2` weights ("beach + sunset - people").
    index: an index name (default: the last one built). filter: only items
    matching this filter expression. sheet: also write a contact sheet PNG here.
    """
    idx = open_index(index)
    allowed = select(idx.items, filter) if filter else None
    words = idx.word_vectors()
    vector, _ = query_vector(query, words)
    hits = hits_of(idx, ranked(idx, words, vector, top, allowed, feedback))
    title = f"{query}" + (f" [{filter}]" if filter else "") + f"  (index {idx.name})"
    written = write_sheet(hits, sheet, title) if sheet else None
    return SearchResults(query, idx.name, hits, filter, written)
