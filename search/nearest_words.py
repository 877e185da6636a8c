"""Word -> nearest words: `devise words said`, the blog post's sanity check of the word space.

The argument may be any query (search.query), e.g. "king - man + woman";
the words it was made of are left out of the answer.
"""
from devise.core.errors import SearchIndexError
from devise.search.query import query_vector


def _word_vectors(words, index):
    """The vectors of `words` (a file or converted name), else of the (default) index, else GloVe 6B 50-d."""
    from devise.data.words import load_words

    if words is not None:
        return load_words(words)
    try:
        from devise.index.store import open_index

        return open_index(index).word_vectors()
    except SearchIndexError:
        if index is not None:
            raise
        return load_words(None)


def words(query, top=10, word_vectors=None, index=None):
    """[{"word", "score"}] best first; scores are cosine similarities in [-1, 1]."""
    from devise.index.vocab import open_vocabulary

    wv = _word_vectors(word_vectors, index)
    vector, used = query_vector(query, wv)
    space = open_vocabulary(wv)
    exclude = {wv.row(w) for w in used}
    return [{"word": wv.words[i], "score": round(s, 6)} for i, s in space.nearest(vector, top, exclude=exclude)]
