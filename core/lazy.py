"""Lazy exports, so that `import devise` and `--help` never pay for NumPy-heavy or TensorFlow modules.

A package lists `{name: (module, attribute)}` and gets a module-level
`__getattr__` that imports the module only when the name is first used.

`devise.train` and `devise.search` are both subpackages and public verbs:
Python binds a subpackage to its parent's attribute when it is imported,
so a plain function of that name would be replaced by the module.
`verb_package` makes such a package callable instead: `devise.search("cat")`
runs the verb, and `devise.search.text` is still the module.
"""
from __future__ import annotations

import importlib
import inspect
import sys
import types


def lazy_exports(package: str, exports: dict[str, tuple[str, str]]):
    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = exports[name]
        return getattr(importlib.import_module(module), attr)

    return __getattr__


class VerbPackage(types.ModuleType):
    """A package module that forwards calls to one function (its verb)."""

    def _verb(self):
        module, attr = self.__dict__["__verb__"]
        return getattr(importlib.import_module(module), attr)

    def __call__(self, *args, **kwargs):
        return self._verb()(*args, **kwargs)

    @property
    def __signature__(self):
        return inspect.signature(self._verb())


def verb_package(package: str, module: str, attr: str) -> None:
    """Make the package `package` callable as `module.attr` (imported on the first call)."""
    mod = sys.modules[package]
    mod.__verb__ = (module, attr)
    mod.__class__ = VerbPackage
