"""`--filter`: Marqo/Lucene-style conditions on an index's items.

    a_face:[0.58 TO 0.99] AND a_hamburger:[0.6 TO *]    inclusive ranges, * is open
    a_face:{0.5 TO 1}                                     exclusive bounds (mixing [ and } is allowed)
    alignment < 0.3      score >= 0.8                     comparisons
    label:cat     label:"hot dog"     class:airplanes     class folder or assigned label; class folder only
    path:*dog*    path:2024/                              glob on the full path; no wildcard = substring
    NOT (label:cat OR label:dog) AND a_face:[0.5 TO *]    AND, OR, NOT, parentheses

Keywords are upper case, as in Lucene, so "and" stays usable as a value.
A parsed filter keeps its tree of Nodes, so that a store which filters by
itself (Milvus) can translate it (index.stores.milvus_filter). Tokens and
error messages: index.filter_tokens.
"""
from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from devise.core.errors import QueryError
from devise.index.filter_tokens import KEYWORDS, error, shown, tokenize

BUILTIN = {"label", "class", "path"}
MAX_DEPTH = 64  # nesting of ( and NOT: the parser recurses, and a real filter never goes this deep


@dataclass(frozen=True)
class Node:
    """One part of a parsed filter: `test(item)` decides it; `op` and `args` say what it is.

    op "or"/"and": args are the Nodes joined; "not": (Node,); "cmp": (operator text, bound);
    "range": (low, low inclusive, high, high inclusive), +-inf for *; "match": (pattern,).
    """
    op: str
    test: Callable
    field: str = ""
    args: tuple = ()


class Filter:
    """A parsed filter: `predicate(item)` is True for an item dict it keeps; `tree` is its root Node;
    `fields` names the fields it uses."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i, self.depth = 0, 0
        self.fields = {}  # field name -> position of its first mention
        if self.tokens[0].kind == "end":
            raise QueryError('filter: empty; write e.g. "label:cat AND a_face:[0.5 TO 1]".')
        self.tree = self._or()
        self.predicate = self.tree.test
        if self._peek().kind != "end":
            raise self._unexpected("expected AND, OR or the end")

    # -- recursive descent ------------------------------------------------
    def _peek(self):
        return self.tokens[self.i]

    def _next(self):
        self.i += 1
        return self.tokens[self.i - 1]

    def _is(self, tok, text):
        return tok.kind in ("word", "punct") and tok.text == text

    def _unexpected(self, hint):
        tok = self._peek()
        what = "end of filter" if tok.kind == "end" else shown(tok.text)
        return error(self.text, tok.pos, f"unexpected {what} ({hint})")

    def _chain(self, keyword, operand, combine):
        """operand (keyword operand)*, joined by `combine` (any for OR, all for AND)."""
        parts = [operand()]
        while self._is(self._peek(), keyword):
            self._next()
            parts.append(operand())
        tests = [p.test for p in parts]
        return parts[0] if len(parts) == 1 else Node(keyword.lower(), lambda item: combine(t(item) for t in tests),
                                                     args=tuple(parts))

    def _or(self):
        return self._chain("OR", self._and, any)

    def _and(self):
        return self._chain("AND", self._not, all)

    def _not(self):
        tok = self._peek()
        if not (self._is(tok, "NOT") or self._is(tok, "(")):
            return self._term()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise error(self.text, tok.pos, f"parentheses and NOTs nested more than {MAX_DEPTH} deep")
        self._next()
        inner = self._not() if tok.text == "NOT" else self._or()
        if tok.text == "(" and not self._is(self._next(), ")"):
            self.i -= 1
            raise self._unexpected("expected ')'")
        self.depth -= 1
        return Node("not", lambda item: not inner.test(item), args=(inner,)) if tok.text == "NOT" else inner

    def _term(self):
        tok = self._next()
        if tok.kind != "word" or tok.text in KEYWORDS:
            self.i -= 1
            raise self._unexpected("expected a condition such as label:cat or a_face:[0.5 TO 1]")
        field = tok.text
        self.fields.setdefault(field, tok.pos)
        op = self._next()
        if op.kind == "cmp":
            bound = self._number(self._next())
            compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op.text]

            def compared(item):
                v = _numeric(item, field)
                return v is not None and compare(v, bound)
            return Node("cmp", compared, field, (op.text, bound))
        if not self._is(op, ":"):
            self.i -= 1
            raise self._unexpected(f"expected ':' or a comparison after {shown(field)}")
        if self._peek().kind == "punct" and self._peek().text in "[{":
            return self._range(field)
        value = self._next()
        if value.kind not in ("word", "quoted") or value.text in KEYWORDS:
            self.i -= 1
            raise self._unexpected(f"expected a value or a [low TO high] range after {shown(field + ':')}")
        return Node("match", _match(field, value.text), field, (value.text,))

    def _range(self, field):
        low_inclusive = self._next().text == "["
        low = self._bound(self._next())
        if not self._is(self._peek(), "TO"):
            raise self._unexpected("expected TO in a [low TO high] range")
        self._next()
        high = self._bound(self._next())
        close = self._next()
        if close.kind != "punct" or close.text not in "]}":
            self.i -= 1
            raise self._unexpected("expected ']' or '}' to close the range")
        high_inclusive = close.text == "]"
        if low > high:
            raise error(self.text, close.pos, f"empty range, {low:g} is above {high:g}")

        def in_range(item):
            v = _numeric(item, field)
            return v is not None and (v >= low if low_inclusive else v > low) and (v <= high if high_inclusive else v < high)
        return Node("range", in_range, field, (low, low_inclusive, high, high_inclusive))

    def _bound(self, tok):
        if tok.kind == "word" and tok.text == "*":
            return np.inf if self._is(self._peek(), "]") or self._is(self._peek(), "}") else -np.inf
        return self._number(tok)

    def _number(self, tok):
        value = number_in(tok.text) if tok.kind == "word" else None
        if value is None or not np.isfinite(value):
            raise error(self.text, tok.pos, f"expected a number, got {shown(tok.text) if tok.text else 'end of filter'}")
        return value


def _numeric(item, field):
    value = item.get("fields", {}).get(field)
    return None if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _match(field, pattern):
    """A label/class/path/field value test; globs where the pattern has * or ?."""
    wild = any(c in pattern for c in "*?[")
    if field == "path":
        glob = pattern if wild else f"*{pattern}*"
        return lambda item: fnmatch.fnmatchcase(item.get("path") or "", glob)
    folded = pattern.lower()
    number = number_in(pattern)  # label:1 also matches a stored 1.0

    def same(value):
        if value is None or isinstance(value, (dict, list)):
            return False
        text = str(value).lower()
        return fnmatch.fnmatchcase(text, folded) if wild else text == folded or value == number

    if field == "class":
        return lambda item: same(item.get("class"))
    if field == "label":
        # A class folder names the label too; an assigned label (`label --assign`) is the other source.
        return lambda item: same(item.get("class")) or same(item.get("fields", {}).get("label"))
    return lambda item: same(item.get("fields", {}).get(field))


def number_in(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def parse(text: str | Filter | None) -> Filter:
    return text if isinstance(text, Filter) else Filter((text or "").strip())


def select(items: Iterable[dict[str, Any]], text: str | Filter | None) -> np.ndarray:
    """Ids (sorted int array) of the items matching filter `text`; None or "" selects all.

    A field that no item carries is reported, with its position: it is
    almost always a typo (a_fase) or a label run that was never made.
    """
    items = list(items)
    if text is None or (isinstance(text, str) and not text.strip()):
        return np.array([item["id"] for item in items], np.int64)
    flt = parse(text)
    check_fields(flt, field_names(items))
    return np.array([item["id"] for item in items if flt.predicate(item)], np.int64)


def field_names(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """The names of the fields any of `items` carries."""
    known = set()
    for item in items:
        known.update(item.get("fields", {}))
    return known


def check_fields(flt: Filter, known: set[str]) -> None:
    """Raise, pointing at it, for a field of filter `flt` that is neither built in nor in `known`."""
    known = set(known) | BUILTIN
    for field, pos in flt.fields.items():
        if field not in known:
            have = sorted(known - BUILTIN)
            hint = f"fields here: {', '.join(have[:12])}" if have else "this index has no fields yet; add some with `devise label`"
            raise error(flt.text, pos, f"no item has field {shown(field)} ({hint})")
