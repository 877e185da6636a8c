"""Lazy package exports: `import index` or `import search` stays free of heavy imports.

A package lists `{name: (module, attribute)}` and gets a module-level
`__getattr__` that imports the module only when the name is first used.
"""
import importlib


def lazy_exports(package, exports):
    def __getattr__(name):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = exports[name]
        return getattr(importlib.import_module(module), attr)

    return __getattr__
