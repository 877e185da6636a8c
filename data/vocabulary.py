"""Word lists drawn from word vectors: stop words, and the open-vocabulary tags a photo can show."""
import functools
import re
from pathlib import Path

import numpy as np

from devise.data import wordnet

TAG_SIZE, TAG_MAX_RANK = 50_000, 100_000  # open tags: at most TAG_SIZE nouns, among the TAG_MAX_RANK commonest words
_TAGGABLE = re.compile(r"[a-z]{2,}")


@functools.cache
def stopwords() -> frozenset:
    text = Path(__file__).with_name("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w.strip().lower() for w in text.split("\n") if w.strip() and not w.startswith("#"))


def tag_vocabulary(wv, size=TAG_SIZE, max_rank=TAG_MAX_RANK) -> np.ndarray:
    """Rows of up to `size` picturable nouns among the `max_rank` most frequent words: open-vocabulary tags.

    A tag must name something a photo can show: a noun whose picturable
    senses (physical things, less person roles) lead in WordNet
    (data.wordnet.nouns), so no "hijacked" or "subcommittees". Each noun
    comes once, as its lemma ("sandwiches" is "sandwich"), in the order its
    first form comes in frequency order. GloVe lists words from the most to the
    least frequent, so `max_rank` keeps the rare words whose vectors are
    too noisy to trust.
    """
    nouns, stop, seen, rows = wordnet.nouns(), stopwords(), set(), []
    for w in wv.words[:max_rank]:
        if not _TAGGABLE.fullmatch(w) or w in stop:  # "he" is helium to WordNet, "does" two deer
            continue
        lemma = wordnet.lemma(w)
        found = wv.row(lemma) if lemma in nouns and lemma not in seen and lemma not in stop else None
        if found is None:  # a tag is shown as its lemma, so a form whose lemma has no vector is no tag
            continue
        seen.add(lemma)
        rows.append(found)
        if len(rows) >= size:
            break
    return np.asarray(rows, dtype=np.int64)
