"""What an unrelated word scores in an index: the floor under which "nothing matches".

Every query has nearest images, and their cosines alone do not say
whether any of them shows the thing: "ice-cream" in a collection of
motorbikes still finds motorbikes at a cosine that looks fine. So each
index records how well WORDS random vocabulary words (content words among
GloVe's frequent rows, a fixed seed) match it: for each word, the mean
cosine of its TOP best images in word space; the manifest keeps quantiles
of that statistic. search.text compares a query's own statistic with them.
Computed at index time (index.builder); older indexes get it on first
search (search.text.noise_of).

Measured (bench/query_dev.py, docs/query.md): on CIFAR-10 this separates
class words from absent things well; on Caltech-101 with ConSE it does
not (a third of the class words fall within the noise). One-word ImageNet
class names as the sample did worse there: ConSE's images are mixtures of
exactly those words.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from devise.data.vocabulary import stopwords
from devise.data.words import WordVectors

WORDS, TOP, SEED = 300, 10, 0
SAMPLE = "vocabulary-1000-30000"
VOCAB = (1_000, 30_000)        # frequency ranks drawn from: common content words, not function words
QUANTILES = (50, 75, 90, 95, 99)
CHUNK = 65_536


def random_rows(words: WordVectors, n: int = WORDS, seed: int = SEED) -> list[int]:
    """Rows of `n` distinct plain lowercase words, drawn with a fixed seed from the VOCAB rank range.

    Candidates are drawn first and only they are decoded: decoding GloVe's 400,000 words would cost a cold
    search more than the rest of this record."""
    stop, rng = stopwords(), np.random.default_rng(seed)
    lo, hi = VOCAB[0], min(VOCAB[1], len(words))
    rows = []
    for row in rng.permutation(np.arange(lo, hi)).tolist():
        word = words.word(row)
        if word.isalpha() and word not in stop:
            rows.append(row)
            if len(rows) == n:
                break
    return sorted(rows)


def top_mean(similarities: np.ndarray, top: int = TOP) -> np.ndarray:
    """[n, q] cosines -> [q]: the mean of each column's `top` largest values."""
    k = min(top, similarities.shape[0])
    return np.sort(np.partition(similarities, -k, axis=0)[-k:], axis=0).mean(axis=0)


def profile(words: WordVectors, vectors: np.ndarray) -> dict[str, Any]:
    """The noise record of an index whose word-space rows are `vectors` ([n, d]), for its manifest."""
    queries = np.asarray(words.vectors[random_rows(words)], np.float32)
    queries /= np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    best = None
    for start in range(0, len(vectors), CHUNK):
        rows = np.asarray(vectors[start:start + CHUNK], np.float32)
        sims = (rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)) @ queries.T
        part = np.partition(sims, -min(TOP, len(sims)), axis=0)[-min(TOP, len(sims)):]
        best = part if best is None else np.partition(np.vstack([best, part]), -TOP, axis=0)[-TOP:]
    assert best is not None  # an index has at least one row (writer.write_version)
    stat = top_mean(best)
    return {"words": len(queries), "top": TOP, "seed": SEED, "sample": SAMPLE,
            "quantiles": {str(q): round(float(np.percentile(stat, q)), 5) for q in QUANTILES}}
