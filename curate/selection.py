"""A text query as a vector in an index's word space, for curation's --start and --query.

Opening, filtering and nearest rows live in index.selection (one query
surface for search, curation and the web); only this needs the search layer.
"""
import numpy as np

from devise.search.query import query_vector


def text_vector(selection, text):
    vector, _ = query_vector(text, selection.index.word_vectors())
    return np.asarray(vector, np.float32)
