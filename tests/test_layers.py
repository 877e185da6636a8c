"""The package's layers: imports only point down, nobody imports another module's `_private` names,
devise's modules import each other at the top of the file and in no cycle, and the entry points
(`import devise`, `devise --help`) load neither TensorFlow nor Keras.

Layers, lowest first: core, data, models (with generation and engines beside it), train,
index, search, curate, then the front ends (the root modules such as cli.py and demo.py,
and any other top-level package such as web/ and commands/). A module may import from its
own layer or a lower one.

generation (diffusers pipelines) uses only core and data; engines (this process or Ray
actors) runs models' backbones and generation's pipelines, and both take its engine
objects, so the three share a layer; the cycle test below keeps them apart module by module.
"""
import ast
import configparser
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


def devise_target(module, path, node):
    """The devise module an import statement names, or None for a third-party one."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE]
        return names[0] if names else None
    if node.level:
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module if node.module.split(".")[0] == PACKAGE else None


def imported_by_name(module, node):
    """The devise module an `importlib.import_module(...)` call names, when its name is spelt in the
    call ("devise.x" or f"{__name__}.x"); "*" for the root's own names. None otherwise."""
    if not (isinstance(node, ast.Call) and node.args and ast.unparse(node.func).endswith("import_module")):
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and str(arg.value).split(".")[0] == PACKAGE:
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values:
        first = arg.values[0]
        if isinstance(first, ast.FormattedValue) and ast.unparse(first.value) == "__name__":
            return f"{module}.*"
        if isinstance(first, ast.Constant) and str(first.value).split(".")[0] == PACKAGE:
            return f"{first.value}*"
    return None


def imports_inside_functions():
    """{(file, imported devise module)}: line for every devise import made inside a function
    (import statements, and importlib.import_module calls that spell the module's name)."""
    found = {}
    for module, path in package_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    target = devise_target(module, path, node)
                else:
                    target = imported_by_name(module, node)
                if target:
                    found[(str(path.relative_to(REPO)), target)] = node.lineno
    return found


# Where a devise module may import another inside a function, and why: a short list.
DEFERRED = {
    # The package root's lazy verbs (PEP 562 __getattr__): `import devise` stays instant and loads no TensorFlow.
    ("__init__.py", "devise.*"): "the package root's verbs resolve on first use",
    # devise.web imports Starlette, the optional [web] extra: `serve` first says how to install it.
    ("commands/web.py", "devise.web.app"): "the optional web extra",
    ("commands/web.py", "devise.web.security"): "the optional web extra",
}


def top_level_imports(module, path, modules):
    """The devise modules that importing `module` runs, from its top-level statements (not under
    `if TYPE_CHECKING:`, not inside functions). A package's own ancestors are not counted: Python runs
    them first whatever the module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    mine = module.split(".")
    found = set()

    def visit(statements):
        for node in statements:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            for block in ("body", "orelse", "finalbody"):
                if isinstance(node, (ast.If, ast.Try, ast.With)):
                    visit(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                visit(handler.body)
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            target = devise_target(module, path, node)
            if not target:
                continue
            names = [alias.name for alias in node.names] if isinstance(node, ast.ImportFrom) else []
            for reached_module in [f"{target}.{n}" for n in names if f"{target}.{n}" in modules] or [target]:
                parts = reached_module.split(".")
                for end in range(1, len(parts) + 1):
                    step = ".".join(parts[:end])
                    if step in modules and (end == len(parts) or mine[:end] != parts[:end]):
                        found.add(step)

    visit(tree.body)
    found.discard(module)
    return found


def import_cycles():
    """Every cycle among the devise modules' top-level imports, as a list of strongly connected sets."""
    modules = package_files()
    graph = {m: top_level_imports(m, p, modules) for m, p in modules.items()}
    order, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(node):  # Tarjan's strongly connected components
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in order:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in order:
            connect(node)
    return cycles


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


def test_setup_cfg_installs_every_subpackage():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    packages = {module for module, path in package_files().items() if path.name == "__init__.py"}
    assert packages - listed == set(), "add these to setup.cfg's [options] packages"


def test_imports_only_point_down():
    upward, _ = violations()
    assert not upward, ("imports that point up the layers (core < data < models < train < index < search "
                        "< curate < front ends):\n" + "\n".join(upward))


def test_no_module_imports_another_modules_private_names():
    _, private = violations()
    assert not private, "imports of another module's private names:\n" + "\n".join(private)


def test_devise_modules_import_each_other_at_the_top():
    nested = imports_inside_functions()
    unexplained = sorted(f"{file}:{line}: imports {target} inside a function"
                         for (file, target), line in nested.items() if (file, target) not in DEFERRED)
    assert not unexplained, ("import devise's own modules at the top of the file (or add the import to DEFERRED "
                             "with the reason):\n" + "\n".join(unexplained))


def test_the_deferred_list_names_only_imports_that_exist():
    nested = imports_inside_functions()
    stale = [key for key in DEFERRED if key not in nested]
    assert not stale, f"DEFERRED entries with no such import left: {stale}"


def test_no_import_cycle_among_devise_modules():
    cycles = import_cycles()
    assert not cycles, "modules that import each other at the top level (move the shared piece down):\n" + \
        "\n".join(" <-> ".join(cycle) for cycle in cycles)


def test_the_cycle_finder_finds_a_planted_cycle(tmp_path, monkeypatch):
    package = tmp_path / "devise"
    (package / "rooms").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "rooms" / "__init__.py").write_text("")
    (package / "rooms" / "a.py").write_text("from devise.rooms.b import B\n\nA = 1\n")
    (package / "rooms" / "b.py").write_text("from devise.rooms import a\n\nB = 2\n")
    (package / "rooms" / "c.py").write_text("import importlib\n\n\ndef late():\n    from devise.rooms import a\n"
                                            "    return a, importlib.import_module('devise.rooms.b')\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", package)
    assert import_cycles() == [["devise.rooms.a", "devise.rooms.b"]]
    assert set(imports_inside_functions()) == {("rooms/c.py", "devise.rooms"), ("rooms/c.py", "devise.rooms.b")}


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
