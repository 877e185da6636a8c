"""`--filter`'s tokens, and its errors: one line that names the token and its place.

Errors name the offending token and its 1-based position; the message is
one line (quoting at most EXCERPT characters of the filter around the
spot), and QueryError.caret holds the filter with a ^ under the spot.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from devise.core.errors import QueryError

_TOKEN = re.compile(r'\s*(?:(?P<cmp><=|>=|<|>)|(?P<punct>[()\[\]{}:])|"(?P<quoted>[^"]*)"|(?P<word>[^\s()\[\]{}:<>"]+))')
_SPACE = re.compile(r"\s*")
KEYWORDS = {"AND", "OR", "NOT", "TO"}
EXCERPT = 80
_ONE_LINE = str.maketrans({c: " " for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


@dataclass
class Token:
    kind: str    # "cmp", "punct", "quoted", "word", "end"
    text: str
    pos: int     # 0-based offset into the filter text


def shown(token: str) -> str:
    """A token quoted for a message, cut short: a filter may hold a 100 KB word."""
    return repr(token if len(token) <= 40 else token[:37] + "...")


def excerpt(text: str, pos: int) -> str:
    """The filter on one line (one character for one), cut to EXCERPT characters around `pos`."""
    flat, start = text.translate(_ONE_LINE), max(0, min(pos - EXCERPT // 2, len(text) - EXCERPT))
    return ("..." if start else "") + flat[start:start + EXCERPT] + ("..." if start + EXCERPT < len(flat) else "")


def error(text: str, pos: int, message: str) -> QueryError:
    exc = QueryError(f'filter: {message} at position {pos + 1} in "{excerpt(text, pos)}"')
    exc.position, exc.caret = pos, f"{text}\n{' ' * pos}^"
    return exc


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        space = _SPACE.match(text, pos)
        start = space.end() if space else pos
        if start == len(text):
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise error(text, start, "unbalanced double quote" if text[start] == '"' else f"unexpected {shown(text[start])}")
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        tokens.append(Token(kind, m.group(kind), m.start(kind) - (1 if kind == "quoted" else 0)))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens
