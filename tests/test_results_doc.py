"""docs/results.md is written by the bench/ scripts: every table sits under the command and date that made it."""
import re
import sys
from pathlib import Path

import pytest
import results_doc

ROOT = Path(__file__).resolve().parent.parent
STAMP = re.compile(r"^`python (bench/\S+\.py)(?: [^`]*)?`, \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$")
FENCE = "```"


def tables(lines):
    """(first line number, kind) of each code block and each Markdown pipe table in `lines`."""
    found, inside = [], False
    for i, line in enumerate(lines):
        if line.startswith(FENCE):
            if not inside:
                found.append((i, "code block"))
            inside = not inside
        elif not inside and line.startswith("|") and not (i and lines[i - 1].startswith("|")):
            found.append((i, "table"))
    return found


def problems(text, bench=ROOT / "bench"):
    """What makes `text` not a generated results doc: tables outside a section, sections without their stamp."""
    found = []
    parts = re.split(r"^## ", text, flags=re.M)
    if tables(parts[0].splitlines()):
        found.append("a table stands before the first section, with no command above it")
    for part in parts[1:]:
        name, *lines = part.splitlines()
        stamp = next((line for line in lines if line.strip()), "")
        match = STAMP.match(stamp)
        if not match:
            found.append(f"section {name!r}: its first line is not `python bench/SCRIPT.py ...`, YYYY-MM-DD HH:MM UTC")
        elif not (bench.parent / match.group(1)).is_file():
            found.append(f"section {name!r}: {match.group(1)} does not exist")
        if not tables(lines):
            found.append(f"section {name!r} holds no table")
    return found


def test_every_table_in_results_md_names_its_command_and_date():
    text = results_doc.DOC.read_text(encoding="utf-8")
    assert text.startswith(results_doc.HEADER)
    assert problems(text) == []
    assert text.count("\n## ") >= 1


@pytest.mark.parametrize(("doc", "problem"), [
    ("# r\n\n```\n1 2\n```\n", "before the first section"),
    ("# r\n\n## a\n\n| x |\n|---|\n| 1 |\n", "its first line is not"),
    ("# r\n\n## a\n\n`python bench/no_such_bench.py`, 2026-01-02 03:04 UTC\n\n```\n1\n```\n", "does not exist"),
    ("# r\n\n## a\n\n`python bench/dedupe.py`, 2026-01-02 03:04 UTC\n\nfigures typed in by hand\n", "holds no table"),
])
def test_the_check_finds_what_a_hand_edit_leaves(doc, problem):
    assert [p for p in problems(doc) if problem in p]


def test_publish_heads_the_table_with_the_command_that_ran(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "results.md"
    monkeypatch.setattr(results_doc, "DOC", doc)
    monkeypatch.setattr(sys, "argv", [str(ROOT / "bench" / "dedupe.py"), "--items", "1000", "--data", "my photos"])
    results_doc.publish("dedupe", "threshold 0.9  groups 3")
    results_doc.publish("low-res", "| side | top-1 |\n|---|---|\n| 32 | 0.1 |", fence=False)
    results_doc.publish("not written", "1 2 3", doc=False)
    text = doc.read_text(encoding="utf-8")
    assert "`python bench/dedupe.py --items 1000 --data 'my photos'`, " in text
    assert "```\nthreshold 0.9  groups 3\n```" in text and "\n| 32 | 0.1 |\n" in text
    assert "not written" not in text and "1 2 3" in capsys.readouterr().out
    assert problems(text) == []
