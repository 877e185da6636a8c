"""devise's `--filter` language as a Milvus boolean expression, so that Milvus filters its own searches.

Each row carries, beside its fields as JSON, what the language compares:

    class_key   the class folded to lower case ("" for none)
    terms       {field: "s:" + text folded | "b:true" | "n:" + str(number)} for each scalar field
    label_key   terms["label"] ("" for none): a scalar, as label:... is the commonest filter and
                JSON paths cost Milvus Lite ~0.2 ms a row (Python), scalars ~0.005 ms
    numbers     {field: float} for each numeric field (not a bool)

so that label:Cat (case-insensitive), globs, a_face:[0.5 TO *] and
score >= 0.8 are plain comparisons. The type tag keeps "1" (text), 1 and
true apart, as devise's own test does. Every atom is guarded by `exists`:
Milvus gives a missing JSON key NULL, and NOT NULL is not true, where
devise's test says a missing field does not match, so NOT of it does.

A part that does not map becomes `id in [...]`, the ids its own test
keeps: a glob with [...], literal text holding _ % or \\ (LIKE cannot
escape them on Milvus Lite), or text that is not valid UTF-8.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from devise.index import filters
from devise.index.stores.milvus_client import literal

SCHEMA = 2                       # what the store record's "filters" says its rows carry
__all__ = ["SCHEMA", "expression", "row_fields"]


def _text(value):
    """A scalar field's folded text with its type tag, or None for what matches no value (None, lists, dicts)."""
    if isinstance(value, bool):
        return "b:" + str(value).lower()
    if isinstance(value, str):
        return "s:" + value.lower()
    if isinstance(value, (int, float)):
        return "n:" + str(value).lower()
    return None


def row_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    """{"class_key", "terms", "numbers"} of one item's row."""
    fields = item.get("fields") or {}
    terms = {k: t for k, t in ((k, _text(v)) for k, v in fields.items()) if t is not None}
    numbers = {k: float(v) for k, v in fields.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    return {"class_key": (item.get("class") or "").lower(), "terms": terms, "label_key": terms.get("label", ""),
            "numbers": numbers}


def _number(x):
    return format(Decimal(repr(float(x))), "f")  # positional: no exponent for the expression parser to read


def _encodable(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _like(glob):
    """A glob (* and ?) as a LIKE pattern, or None where LIKE cannot say it exactly."""
    if "[" in glob or any(c in glob for c in "%_\\") or not _encodable(glob):
        return None
    return glob.replace("*", "%").replace("?", "_")


def _after(prefix):
    """The least string above every string that starts with `prefix`, or None when there is none."""
    while prefix and prefix[-1] == "\U0010ffff":
        prefix = prefix[:-1]
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None


def _path(pattern):
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    prefix = glob.rstrip("*")
    if prefix and not any(c in prefix for c in "*?[") and _encodable(prefix):
        above = _after(prefix)  # a prefix, whatever its characters: a range of strings
        return f"(path >= {literal(prefix)}" + (f" and path < {literal(above)})" if above else ")")
    if not prefix:
        return "true"
    like = _like(glob)
    return None if like is None else f"path like {literal(like)}"


def _class(pattern):
    folded = pattern.lower()
    if any(c in folded for c in "*?["):
        like = _like(folded)
        return None if like is None else f'(class_key != "" and class_key like {literal(like)})'
    if not _encodable(folded):
        return None
    return f"class_key == {literal(folded)}" if folded else "false"


def _equal_texts(pattern):
    """The tagged texts of the scalar values that devise's test calls equal to `pattern`."""
    folded, number = pattern.lower(), filters.number_in(pattern)
    found = ["s:" + folded]
    if folded in ("true", "false"):
        found.append("b:" + folded)
    if number is not None:
        forms = {folded}
        if number == number:  # a NaN equals nothing, though its text "nan" matches
            forms.add(repr(number).lower())
            if number == 0:
                forms.update({"0.0", "-0.0", "0"})
            elif math.isfinite(number) and number.is_integer():
                forms.add(str(int(number)))
        found += ["n:" + f for f in sorted(forms)]
        found += ["b:true"] if number == 1 else ["b:false"] if number == 0 else []
    return found


def _field(field, pattern):
    if not _encodable(field):
        return None
    # label_key is "" where there is no label: no tagged text equals it, nor is it like "__...".
    key = "label_key" if field == "label" else f"terms[{literal(field)}]"
    guard = "" if field == "label" else f"exists {key} and "
    if any(c in pattern for c in "*?["):
        like = _like(pattern.lower())
        return None if like is None else f"({guard}{key} like {literal('__' + like)})"
    texts = _equal_texts(pattern)
    if not all(_encodable(t) for t in texts):
        return None
    if field == "label":
        return f"label_key in [{', '.join(literal(t) for t in texts)}]"
    return f"({guard}(" + " or ".join(f"{key} == {literal(t)}" for t in texts) + "))"


def _match(node):
    pattern = node.args[0]
    if node.field == "path":
        return _path(pattern)
    if node.field == "class":
        return _class(pattern)
    if node.field == "label":  # the class folder, or a label assigned with `label --assign`
        parts = [_class(pattern), _field("label", pattern)]
        return None if None in parts else f"({parts[0]} or {parts[1]})"
    return _field(node.field, pattern)


def _numeric(node):
    if not _encodable(node.field):
        return None
    key = f"numbers[{literal(node.field)}]"
    if node.op == "cmp":
        op, bound = node.args
        return f"(exists {key} and {key} {op} {_number(bound)})"
    low, low_inclusive, high, high_inclusive = node.args
    terms = [f"exists {key}"]
    if math.isfinite(low):
        terms.append(f"{key} {'>=' if low_inclusive else '>'} {_number(low)}")
    if math.isfinite(high):
        terms.append(f"{key} {'<=' if high_inclusive else '<'} {_number(high)}")
    return "(" + " and ".join(terms) + ")"


def _atom(node):
    return _match(node) if node.op == "match" else _numeric(node)


def expression(tree: Any, fallback: Callable[[Any], Sequence[int]]) -> str:
    """The Milvus expression for filter node `tree`; `fallback(node)` gives the ids of a part that does not map."""
    if node_ops := {"and": " and ", "or": " or "}.get(tree.op):
        return "(" + node_ops.join(expression(part, fallback) for part in tree.args) + ")"
    if tree.op == "not":
        return f"(not {expression(tree.args[0], fallback)})"
    found = _atom(tree)
    if found is not None:
        return found
    ids = fallback(tree)
    return f"(id in {[int(i) for i in ids]})" if len(ids) else "false"
