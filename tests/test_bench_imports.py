"""Every name a bench script imports from devise exists.

The benches are never run by the tests (they take minutes to hours), so a module split that moves a
function breaks them silently until someone re-runs one. This reads each bench script's
`from devise... import ...` statements, wherever they sit in the file, and resolves them.
"""
import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def devise_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "devise":
            for alias in node.names:
                yield node.lineno, node.module, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "devise":
                    yield node.lineno, alias.name, None


def resolves(module: str, name: str | None) -> bool:
    found = importlib.import_module(module)
    if name is None or hasattr(found, name):
        return True
    try:
        importlib.import_module(f"{module}.{name}")
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_devise_name_a_bench_imports_exists(script):
    missing = [f"{script.name}:{line} from {module} import {name}"
               for line, module, name in devise_imports(script) if not resolves(module, name)]
    assert not missing, missing


def test_the_check_finds_a_name_that_moved(tmp_path):
    script = tmp_path / "moved.py"
    script.write_text("def main():\n    from devise.data.words import words_name\n")
    assert [(line, module, name) for line, module, name in devise_imports(script)] == [
        (2, "devise.data.words", "words_name")]
    assert not resolves("devise.data.words", "words_name")
    assert resolves("devise.data.word_sources", "words_name")
