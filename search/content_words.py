"""The words of a label or prompt that say what should be in the picture, and their vector.

Stop words (data/stopwords.txt) and the framing of prompt templates
(search.sentence.FRAMING: "a photo of", "an image of") are left out: a mean
of word vectors would otherwise be mostly "a", "of" and "photo", the same
for every prompt. `label` phrases, `score` prompts, tag labels and the
query analyser (search.analyser) all embed text through here.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from devise.core.errors import VocabularyError
from devise.data.vocabulary import stopwords
from devise.search.sentence import FRAMING

if TYPE_CHECKING:
    from devise.data.words import WordVectors


def ignorable(word: str) -> bool:
    return word.lower() in stopwords() or word.lower() in FRAMING


def content_words(words: WordVectors, text: str) -> tuple[list[str], list[str]]:
    """(kept, dropped): the in-vocabulary words of `text` that say what should be in the picture, and the
    stop words and framing left out. A text made only of such words is kept whole (dropped is then [])."""
    used, _ = words.phrase_words(text)
    kept = [w for w in used if not ignorable(w)]
    return (kept, [w for w in used if ignorable(w)]) if kept else (used, [])


def mean_vector(words: WordVectors, tokens: Sequence[str],
                weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Unit weighted mean of the raw vectors of in-vocabulary `tokens` (how class phrases are embedded)."""
    rows = [words.row(w) for w in tokens]
    weights = np.ones(len(rows)) if weights is None else np.asarray(weights, np.float64)
    vec = (weights[:, None] * np.asarray(words.vectors[rows], np.float64)).sum(axis=0) / max(weights.sum(), 1e-12)
    return (vec / max(np.linalg.norm(vec), 1e-12)).astype(np.float32)


def text_vector(words: WordVectors, text: str) -> np.ndarray:
    """Unit vector of a label or prompt: its content words averaged; VocabularyError when none is known."""
    kept, _ = content_words(words, text)
    if not kept:
        raise VocabularyError(f"'{text}': none of its words are in the word vectors {words.name}.")
    return mean_vector(words, kept)


def phrase_matrix(words: WordVectors, phrases: Sequence[str]) -> np.ndarray:
    """Unit vectors of label phrases, one row each, through text_vector (every unknown phrase named at once)."""
    words.phrase_matrix(phrases)  # reports every phrase with no known word in one error
    return np.stack([text_vector(words, p) for p in phrases])
