"""The query grammar, and vector arithmetic over its parts.

search.analyser decides what a query's words mean for search (stop words
dropped, one thing or several); this module parses the grammar and gives
the one-vector reading, which `devise words` and `+`/`-` queries use.

Grammar, as in the blog post plus arithmetic and weights:
    cat sofa                  words in one part (one vector here; two things for search.analyser)
    beach + sunset - people   `+` / `-` split the query into parts that are added / subtracted
    dog:2 snow                a weight inside a part: (2 * dog + snow) / 3
    "hot dog":2 bun           quotes make a multiword phrase one weighted element

A part's vector is the weighted mean of its raw word vectors, which for
an unweighted phrase is exactly how class phrases were embedded for
training ("water lily"), so searching a class phrase hits its target.
Parts are unit-normalised before they are combined, so that no part
dominates just because its words have large norms.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from devise.core.errors import QueryError, VocabularyError

if TYPE_CHECKING:
    from devise.data.words import WordVectors

_TOKEN = re.compile(r'\s*(?:(?P<op>[+-])(?=\s|$|["\w])|"(?P<quoted>[^"]*)"(?::(?P<qweight>\S*))?|(?P<word>[^\s"]+))')
_WEIGHTED = re.compile(r"(?P<text>.+?):(?P<weight>[^:]*)")
EXAMPLES = '"cat sofa", "beach + sunset - people" or "dog:2 snow"'
# An error quotes the query and lists the unknown words: capped, so that a
# pasted paragraph gives a readable line rather than a 100 KB one.
SHOWN_CHARS, SHOWN_UNKNOWN = 60, 10


@dataclass
class Part:
    sign: float
    elements: list = field(default_factory=list)  # (text, weight, quoted)


def shown(text: str | None) -> str:
    text = text or ""
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "...")


def _weight(text, raw):
    try:
        weight = float(raw)
    except ValueError:
        raise QueryError(f"{shown(f'{text}:{raw}')}: the weight after ':' must be a number, e.g. dog:2.") from None
    if not np.isfinite(weight):
        raise QueryError(f"{shown(f'{text}:{raw}')}: the weight must be finite.")
    return weight


def parse(query: str | None) -> list[Part]:
    """Split a query into signed parts of (phrase, weight, quoted) elements; syntax errors raise QueryError."""
    text = (query or "").strip()
    if not text:
        raise QueryError(f"empty query; give one or more words, e.g. {EXAMPLES}.")
    if text.count('"') % 2:
        raise QueryError(f"{shown(query)}: unbalanced double quote.")
    parts, after_op, pos = [Part(1.0)], False, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if m.group("op"):
            if after_op:
                raise QueryError(f"{shown(query)}: two operators in a row; put a word between them.")
            sign = 1.0 if m.group("op") == "+" else -1.0
            if parts[-1].elements:
                parts.append(Part(sign))
            else:
                parts[-1].sign = sign  # a leading operator: "-people beach"
            after_op = True
            continue
        after_op = False
        if m.group("quoted") is not None:
            phrase, raw = m.group("quoted").strip(), m.group("qweight")
            if phrase:
                parts[-1].elements.append((phrase, 1.0 if raw is None else _weight(f'"{phrase}"', raw), True))
        else:
            weighted = _WEIGHTED.fullmatch(m.group("word"))
            if weighted:
                parts[-1].elements.append((weighted.group("text"), _weight(weighted.group("text"), weighted.group("weight")),
                                           False))
            else:
                parts[-1].elements.append((m.group("word"), 1.0, False))
    if not parts[-1].elements:
        raise QueryError(f"{shown(query)}: " + ("ends with an operator." if after_op and any(p.elements for p in parts)
                                           else f"no words in it; try {EXAMPLES}."))
    return parts


def query_vector(query: str | Sequence[Part], words: WordVectors,
                 shown_query: str | None = None) -> tuple[np.ndarray, list[str]]:
    """(unit vector, the in-vocabulary words used) of a query, or of its parsed parts (then `shown_query`
    names it in errors). Any unknown word raises VocabularyError with suggestions."""
    parts = parse(query) if isinstance(query, str) else query
    name = query if isinstance(query, str) else shown_query
    unknown, used, total = [], [], np.zeros(words.dim, np.float64)
    for part in parts:
        acc, weight_sum = np.zeros(words.dim, np.float64), 0.0
        for phrase, weight, _quoted in part.elements:
            found, missing = words.phrase_words(phrase)
            unknown.extend(missing)
            if found:
                used.extend(found)
                rows = [words.row(w) for w in found]
                acc += weight * np.asarray(words.vectors[rows], np.float64).mean(axis=0)
                weight_sum += abs(weight)
        if weight_sum:
            norm = np.linalg.norm(acc / weight_sum)
            if norm > 1e-9:
                total += part.sign * acc / weight_sum / norm
    if unknown:
        raise VocabularyError(unknown_message(name, unknown, words))
    norm = np.linalg.norm(total)
    if not used:
        raise QueryError(f"{shown(name)}: no words in it; try {EXAMPLES}.")
    if norm < 1e-6:
        raise QueryError(f"{shown(name)}: its parts cancel out (zero vector); change the words or weights.")
    return (total / norm).astype(np.float32), used


def unknown_message(query: str | None, unknown: Sequence[str], words: WordVectors) -> str:
    distinct = list(dict.fromkeys(unknown))
    close = {word: words.suggest(word) for word in distinct[:SHOWN_UNKNOWN]}
    hint = "" if any(close.values()) else "; check the spelling, or use a more common word for it"
    if len(distinct) == 1 and distinct[0] == str(query).strip():  # the query is the one word: name it once
        found = close[distinct[0]]
        return f"{shown(query)} is not in the word vectors {words.name}" + \
            (f"; did you mean: {', '.join(found)}?" if found else f"{hint}.")
    notes = [shown(w) + (f" (did you mean: {', '.join(c)}?)" if c else "") for w, c in close.items()]
    more = len(distinct) - SHOWN_UNKNOWN
    rest = f"; and {more:,} more unknown word{'s' if more > 1 else ''}" if more > 0 else ""
    return f"{shown(query)}: not in the word vectors {words.name}: {'; '.join(notes)}{rest}{hint}."
