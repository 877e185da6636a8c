"""Word -> nearest words: `devise words said`, the blog post's sanity check of the word space.

The argument may be any query (search.query), e.g. "king - man + woman";
the words it was made of are left out of the answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from devise.core.errors import SearchIndexError
from devise.core.results import Listing, Result
from devise.data.words import load_words
from devise.index.store import open_index
from devise.index.vocab import open_vocabulary
from devise.search.query import query_vector


@dataclass
class WordHit(Result):
    word: str
    score: float


@dataclass
class WordResults(Listing):
    """`results` best first; scores are cosine similarities in [-1, 1]."""

    query: str
    words: str                   # the word vectors searched
    results: list[WordHit] = field(default_factory=list)


def _word_vectors(vectors, index):
    """`vectors` (a file or converted name), else the (default) index's, else GloVe 6B 50-d."""
    if vectors is not None:
        return load_words(vectors)
    try:
        return open_index(index).word_vectors()
    except SearchIndexError:
        if index is not None:
            raise
        return load_words(None)


def words(query: str, *, top: int = 10, vectors: str | None = None, index: str | None = None) -> WordResults:
    """The words nearest to `query` in the word space of `vectors`, of `index`, or of the default index."""
    wv = _word_vectors(vectors, index)
    vector, used = query_vector(query, wv)
    space = open_vocabulary(wv)
    exclude = {row for row in map(wv.row, used) if row is not None}
    hits = [WordHit(wv.words[i], round(s, 6)) for i, s in space.nearest(vector, top, exclude=exclude)]
    return WordResults(query, wv.name, hits)
