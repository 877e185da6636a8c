"""The package's layers: imports only point down, nobody imports another module's `_private` names,
and the entry points (`import devise`, `devise --help`) load neither TensorFlow nor Keras.

Layers, lowest first: core, data, models (with generation and engines beside it), train,
index, search, curate, then the front ends (the root modules such as cli.py and demo.py,
and any other top-level package such as web/ and commands/). A module may import from its
own layer or a lower one.

generation (diffusers pipelines) uses only core and data; engines (this process or Ray
actors) runs models' backbones and generation's pipelines, and both take its engine
objects, so the three share a layer; the cycle test below keeps them apart module by module.
"""
import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = "devise"
REPO = Path(__file__).resolve().parent.parent
LAYERS = {"core": 0, "data": 1, "models": 2, "generation": 2, "engines": 2, "train": 3, "index": 4, "search": 5,
          "curate": 6}
FRONT_END = 7  # root modules and any top-level package not listed in LAYERS
NOT_PACKAGE = {"tests", "bench", "docs"}


def package_files():
    """{dotted module name: path} for every .py file of the package (not tests/ or bench/)."""
    found = {}
    for path in sorted(REPO.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        if parts[0] in NOT_PACKAGE or any(p.startswith(".") or "egg-info" in p for p in parts):
            continue
        if len(parts) > 1 and not (REPO / parts[0] / "__init__.py").exists():
            continue  # a folder that is not a subpackage (a virtualenv, a build dir)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join((PACKAGE, *parts))] = path
    return found


def layer_of(module):
    parts = module.split(".")
    if parts[0] != PACKAGE or len(parts) == 1:
        return FRONT_END
    return LAYERS.get(parts[1], FRONT_END)


def imports_of(module, path):
    """(line, imported module, [names]) for every import in the file, nested ones included.

    Relative imports are resolved against the module's package; names are
    empty for `import x`.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            yield node.lineno, target, [alias.name for alias in node.names]


def reached(target, names, modules):
    """The modules an import reaches: `from devise import cli` reaches devise.cli, not the root module."""
    if target == PACKAGE and names:
        return sorted({f"{PACKAGE}.{n}" if f"{PACKAGE}.{n}" in modules else PACKAGE for n in names})
    return [target]


def violations():
    modules = package_files()
    upward, private = [], []
    for module, path in modules.items():
        here = layer_of(module)
        where = path.relative_to(REPO)
        for line, target, names in imports_of(module, path):
            if target.split(".")[0] == PACKAGE:
                for other in reached(target, names, modules):
                    if layer_of(other) > here:
                        upward.append(f"{where}:{line}: {module} (layer {here}) imports {other} (layer {layer_of(other)})")
            hidden = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if hidden and target != module:
                private.append(f"{where}:{line}: {module} imports private {', '.join(hidden)} from {target}")
    return upward, private


def test_the_package_files_are_found():
    modules = package_files()
    assert {"devise", "devise.cli", "devise.core.errors", "devise.models.backbones"} <= set(modules)
    assert not any(m.startswith(("devise.tests", "devise.bench")) for m in modules)


def test_imports_only_point_down():
    upward, _ = violations()
    assert not upward, ("imports that point up the layers (core < data < models < train < index < search "
                        "< curate < front ends):\n" + "\n".join(upward))


def test_no_module_imports_another_modules_private_names():
    _, private = violations()
    assert not private, "imports of another module's private names:\n" + "\n".join(private)


def _run_fresh(code, tmp_path):
    """The JSON that `code` prints on its last stdout line, run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


HEAVY = ("tensorflow", "keras")


def test_import_devise_is_fast_and_loads_no_tensorflow(tmp_path):
    result = _run_fresh(
        "import json, sys, time\n"
        "started = time.perf_counter()\n"
        "import devise\n"
        "took = time.perf_counter() - started\n"
        f"print(json.dumps({{'took': took, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n",
        tmp_path)
    assert result["heavy"] == []
    assert result["took"] < 0.3, result


def test_cli_help_loads_no_tensorflow(tmp_path):
    # What `python -m devise --help` runs, in-process so sys.modules can be read afterwards.
    result = _run_fresh(
        "import json, runpy, sys\n"
        "sys.argv = ['devise', '--help']\n"
        "try:\n"
        "    runpy.run_module('devise', run_name='__main__', alter_sys=True)\n"
        "    code = 0\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        f"print(json.dumps({{'code': code, 'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n",
        tmp_path)
    assert result == {"code": 0, "heavy": []}
