"""The code pyright checks (pyproject.toml [tool.pyright], run by .ci/types) has hints on every public function:
each parameter and the return type, so that the checker sees what callers pass and get."""
import ast
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parent.parent
# Not hinted yet, with the reason.
UNHINTED: dict[str, str] = {}


def checked_files():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pyright"]
    excluded = set(config["exclude"]) | set(UNHINTED)
    for entry in config["include"]:
        paths = sorted((REPO / entry).rglob("*.py")) if (REPO / entry).is_dir() else [REPO / entry]
        yield from (p for p in paths if str(p.relative_to(REPO)) not in excluded)


def unhinted(path):
    """'name: what is missing' for each public function or method of a public class lacking a hint."""
    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                yield from visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                dunder = node.name.startswith("__") and node.name.endswith("__")
                if node.name.startswith("_") and not dunder:
                    continue
                a = node.args
                params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
                missing = [p.arg for p in params if p.annotation is None and p.arg not in ("self", "cls")]
                if node.returns is None and node.name != "__init__":
                    missing.append("return")
                if missing:
                    yield f"{prefix}{node.name}: {', '.join(missing)}"

    yield from visit(ast.parse(path.read_text(encoding="utf-8")).body, "")


def test_the_checked_code_is_where_pyright_looks():
    files = [str(p.relative_to(REPO)) for p in checked_files()]
    assert "core/manifest.py" in files and "handle.py" in files and "__init__.py" in files
    assert any(f.startswith("index/") for f in files) and any(f.startswith("search/") for f in files)
    assert all((REPO / f).is_file() for f in UNHINTED)


def test_every_public_function_there_is_fully_hinted():
    missing = {str(p.relative_to(REPO)): list(unhinted(p)) for p in checked_files()}
    assert {f: m for f, m in missing.items() if m} == {}
