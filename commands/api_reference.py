"""docs/api.md's signatures of `train` and `evaluate`, generated from the functions (TrainConfig's fields), so the
Python reference cannot drift from the code:

    python -m devise.commands.api_reference docs/api.md

rewrites the first cell of those two table rows in place; tests/test_api_reference.py fails when it is stale.
"""
from __future__ import annotations

import inspect
import json
import re
import sys

from devise.core.atomic import write_text
from devise.train.evaluation import evaluate
from devise.train.run import train

GENERATED = (train, evaluate)


def signature_text(fn) -> str:
    """`fn`'s signature as docs/api.md writes it: `name(arg, *, option=default, ...)`, no annotations."""
    parts = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        default = json.dumps(p.default) if isinstance(p.default, str) else repr(p.default)
        parts.append(p.name if p.default is p.empty else f"{p.name}={default}")
    return f"{fn.__name__}({', '.join(parts)})"


def api_reference(text: str) -> str:
    """`text` (docs/api.md) with the row of each function in GENERATED starting with its current signature."""
    for fn in GENERATED:
        row = re.compile(rf"^\| `{fn.__name__}\([^`]*\)` \|", re.MULTILINE)
        cell = f"| `{signature_text(fn)}` |"
        text, found = row.subn(lambda _, cell=cell: cell, text, count=1)
        if not found:
            raise ValueError(f"docs/api.md has no table row for `{fn.__name__}(...)`")
    return text


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/api.md"
    with open(path, encoding="utf-8") as doc:
        write_text(path, api_reference(doc.read()))
