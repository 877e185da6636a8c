"""Word vectors for the DeViSE head and for search.

Search has to cold-start in well under half a second, so this module only
needs numpy and the standard library: vectors are converted once (by
`data.word_convert`, which owns the gensim/pyarrow imports) into a `.npy`
opened with mmap, plus a plain-text vocabulary. Everything costly that not
every caller needs (the decoded word list, the spelling-suggestion pool)
is built lazily on first use.
"""
import difflib
import re
import string
import threading
import zlib

import numpy as np

from devise.core import home as _home
from devise.core.errors import VocabularyError, WordVectorsError
from devise.core.progress import warn
from devise.core.vectors import unit_rows
from devise.data import (
    word_convert,  # stdlib + numpy at import time; gensim/pyarrow only when converting
    word_sources,
)

SUGGEST_POOL = 100_000  # rarer words make poor suggestions and slow difflib down
_PUNCT = string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014"
_SPLIT = re.compile(r"[\s/]+")
_PIECES = re.compile(r"[_\-]+")

_cache = {}
_lock = threading.Lock()


class WordVectors:
    """Rows of `vectors` are words in the source's (frequency) order.

    `words` is decoded on first access: search never needs the full list,
    because `row()` finds a word through the on-disk hash table written at
    conversion (see data.word_convert) without materialising 400k strings.
    """

    def __init__(self, name, vectors, vocab: bytes, lookup, offsets, source=""):
        self.name, self.vectors, self.source = name, vectors, source
        self.dim = int(vectors.shape[1])
        self._vocab, self._hashes, self._rows, self._offsets = vocab, lookup[0], lookup[1], offsets
        self._words = self._pool = None

    def __repr__(self):
        return f"WordVectors({self.name!r}, {len(self)} words, dim={self.dim})"

    def __len__(self):
        return int(self.vectors.shape[0])

    def __contains__(self, word):
        return self.row(word) is not None

    @property
    def words(self):
        if self._words is None:
            # Not splitlines(): it would also split inside words on \x85, \u2028, ...
            self._words = self._vocab.decode("utf-8", "replace").split("\n")[:-1]
        return self._words

    def word(self, row):
        """The word of one row, without decoding the whole vocabulary as `words` does."""
        return bytes(self._vocab[self._offsets[row]:self._offsets[row + 1] - 1]).decode("utf-8", "replace")

    def _find(self, word):
        key = word.encode("utf-8", "replace")
        digest = zlib.crc32(key)
        at = int(np.searchsorted(self._hashes, digest))
        while at < len(self._hashes) and self._hashes[at] == digest:
            row = int(self._rows[at])
            if self._vocab[self._offsets[row]:self._offsets[row + 1] - 1] == key:
                return row
            at += 1  # a crc32 collision: the next entry may be the word
        return None

    def row(self, word):
        """Row of `word`, else of its lowercase form (GloVe is all lowercase)."""
        found = self._find(word)
        if found is None and word != word.lower():
            found = self._find(word.lower())
        return found

    def vector(self, word):
        row = self.row(word)
        if row is None:
            raise VocabularyError(f"'{word}' is not in the word vectors {self.name}{self._did_you_mean(word)}")
        return np.array(self.vectors[row], dtype=np.float32)

    def unit(self, rows):
        return unit_matrix(self, rows)

    def phrase_words(self, phrase):
        """Split a label or query into in-vocabulary tokens and the ones with no vector.

        A hyphenated or underscored token is tried whole first because GloVe
        has rows for many compounds ("t-shirt", "hot-dog"); only if it is
        missing does it fall back to its parts.
        """
        used, missing = [], []
        for chunk in _SPLIT.split(phrase.lower()):
            if not any(c.isalnum() for c in chunk):
                continue  # bare punctuation would drag the mean towards "," or "&"
            stripped = chunk.strip(_PUNCT)
            whole = next((t for t in (chunk, stripped, stripped.replace("_", "-")) if t and t in self), None)
            if whole is not None:
                used.append(whole)
                continue
            for piece in _PIECES.split(stripped):
                piece = piece.strip(_PUNCT)
                if piece:
                    (used if piece in self else missing).append(piece)
        return used, missing

    def phrase_vector(self, phrase):
        used, missing = self.phrase_words(phrase)
        if not used:
            # Never fall back to a zero vector: it would match everything equally.
            hint = self._did_you_mean(missing[0]) if len(missing) == 1 else "."
            raise VocabularyError(f"'{phrase}': none of its words are in the word vectors {self.name}{hint}")
        rows = [self.row(w) for w in used]
        return np.asarray(self.vectors[rows], dtype=np.float32).mean(axis=0)

    def phrase_matrix(self, phrases, names=None, hint=""):
        """Unit phrase vectors, one row per phrase; every phrase with no known word is reported at once.

        `names` (default: the phrases) is how each phrase is named in the
        error; `hint` says what the user can do about it.
        """
        names = list(phrases) if names is None else list(names)
        unknown = [name if name == p else f"{name} ({p!r})"
                   for name, p in zip(names, phrases) if not self.phrase_words(p)[0]]
        if unknown:
            raise VocabularyError(f"no word of {', '.join(map(str, unknown[:20]))}"
                                  f"{f' (and {len(unknown) - 20} more)' if len(unknown) > 20 else ''} "
                                  f"is in the word vectors {self.name}{'; ' + hint if hint else ''}.")
        return unit_rows(np.stack([self.phrase_vector(p) for p in phrases]))

    def suggest(self, word, n=3):
        """Close spellings among the frequent words, most similar (then most frequent) first.

        difflib over 100k words is far too slow, so candidates are pre-filtered
        to length +-2 sharing the first letter or, to catch a mistyped first
        letter ("kat" -> "cat"), the second one.
        """
        word = word.lower()
        if not word:
            return []
        if self._pool is None:
            pool = {}
            for row, w in enumerate(self.words[:SUGGEST_POOL]):
                low = w.lower()  # word2vec files keep case; the query is lowercased too
                if low.isalpha():
                    pool.setdefault((0, low[0]), []).append((w, row))
                    if len(low) > 1:
                        pool.setdefault((1, low[1]), []).append((w, row))
            self._pool = pool
        candidates = dict(self._pool.get((0, word[0]), []))
        if len(word) > 1:
            candidates.update(self._pool.get((1, word[1]), []))
        matcher, scored = difflib.SequenceMatcher(), []
        matcher.set_seq2(word)
        for w, row in candidates.items():
            if abs(len(w) - len(word)) > 2 or w.lower() == word:
                continue
            matcher.set_seq1(w.lower())
            if matcher.real_quick_ratio() >= 0.6 and matcher.quick_ratio() >= 0.6:
                score = matcher.ratio()
                if score >= 0.6:
                    scored.append((-score, row, w))
        return [w for _, _, w in sorted(scored)[:n]]

    def _did_you_mean(self, word):
        close = self.suggest(word)
        return f"; did you mean: {', '.join(close)}?" if close else "."


def _open(directory, name, fix=word_convert.AGAIN):
    """Open a converted directory; a WordVectorsError means it must be (re)converted."""
    data, vectors, vocab, lookup, offsets = word_convert.read(directory, fix)
    return WordVectors(data.get("name", name), vectors, vocab, lookup, offsets, data.get("source", ""))


def load_words(spec=None) -> WordVectors:
    """The word vectors for `spec` (None = GloVe 6B 50-d; a file, a spaCy model or a converted name such
    as spacy-en-md), converting them on first use."""
    name, source = word_sources.resolve(spec)
    key = (str(_home.home()), name)
    with _lock:
        if key in _cache:
            return _cache[key]
        directory = _home.subdir("words", name)
        try:
            wv = _open(directory, name, word_convert.AGAIN if source is None else "converting them again")
        except WordVectorsError as exc:
            if source is None:
                raise
            if (directory / "manifest.json").exists():  # not an interrupted conversion, but damage or an old format
                warn(str(exc))
            word_convert.convert(source, directory, name)
            wv = _open(directory, name)
        _cache[key] = wv
        return wv


def clear_cache():
    """Forget loaded vectors (tests switch homes; a long-lived process may want the memory back)."""
    with _lock:
        _cache.clear()


def unit_matrix(wv, rows) -> np.ndarray:
    return unit_rows(wv.vectors[np.asarray(rows, dtype=np.int64)])
