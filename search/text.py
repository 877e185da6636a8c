"""Text -> images: `devise search "cat sofa"`.

A query is parsed into one unit vector in the index's word space
(search.query) and matched against the images projected into that space.
Only NumPy, Annoy and the memory-mapped word vectors are loaded, so a cold
process answers in a few hundred milliseconds, without TensorFlow.
"""
from devise.index.store import open_index
from devise.search.query import query_vector
from devise.search.results import write_sheet


def search(query, index=None, top=10, sheet=None):
    """[{"path", "score"}] best first; scores are cosine similarities in [-1, 1].

    index: an index name (default: the last one built). sheet: optional PNG
    path for a contact sheet of the results.
    """
    idx = open_index(index)
    vector, _ = query_vector(query, idx.word_vectors())
    results = idx.results(idx.space("words").nearest(vector, top))
    if sheet:
        write_sheet(results, sheet, f"{query}  (index {idx.name})")
    return results
