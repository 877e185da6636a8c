"""Callable verb packages: `devise.train` and `devise.search` are both subpackages and public verbs.

Python binds a subpackage to its parent's attribute when it is imported,
so a plain function of that name on the package root would be replaced by
the module, and PEP 562's module `__getattr__` is never asked for a name the
module already has. So the two packages' module objects are made callable
instead (a ModuleType subclass, as the data model allows for customising
module attribute access): `devise.search("cat")` runs the verb, and
`devise.search.text` is still the module. The package root's
`if TYPE_CHECKING:` imports tell IDEs and type checkers what they call.
"""
from __future__ import annotations

import importlib
import inspect
import sys
import types


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
