"""Typed exceptions raised by library code.

The CLI turns every `DeviseError` into a one-line `click.ClickException`
(exit code 1); library code never prints tracebacks or calls `sys.exit`.

A message that tells the user to change an option names it with `option()`,
so that it reads `--holdout` on the command line and `holdout=` in Python:
the library does not know which of the two called it, the CLI says so once
(`spell_options_for_cli`).
"""
from __future__ import annotations

import contextvars
import re
from typing import Any

_CLI = contextvars.ContextVar("devise_options_spelled_for_cli", default=False)
# A placeholder: RS name US kind US value RS, kind "n" (no value), "f" (a switch), "s" (a string), "v" (another value).
_OPTION = re.compile("\x1e([a-z_]+)\x1f([nfsv])\x1f([^\x1e]*)\x1e")
_NO_VALUE = object()


def option(name: str, value: Any = _NO_VALUE, *, flag: bool = False) -> str:
    """The option `name` (a keyword argument's name), with an example `value`, as an error message names it:
    `--gpus-per-worker 0.5` on the command line, `gpus_per_worker=0.5` in Python; a `flag` is `--rebuild`
    there and `rebuild=True` here."""
    if flag:
        kind, text = "f", ""
    elif value is _NO_VALUE:
        kind, text = "n", ""
    else:
        kind, text = ("s" if isinstance(value, str) else "v"), str(value).replace("\x1e", "")
    return f"\x1e{name}\x1f{kind}\x1f{text}\x1e"


def spell_options_for_cli() -> contextvars.Token[bool]:
    """Until `restore_option_spelling(token)`, messages name options as command-line flags (in this context)."""
    return _CLI.set(True)


def restore_option_spelling(token: contextvars.Token[bool]) -> None:
    _CLI.reset(token)


def _spelled(match):
    name, kind, text = match.groups()
    if _CLI.get():
        return "--" + name.replace("_", "-") + (f" {text}" if kind in "sv" else "")
    return {"f": f"{name}=True", "n": f"{name}=", "s": f"{name}={text!r}", "v": f"{name}={text}"}[kind]


class DeviseError(Exception):
    """Base class: the message is a complete, user-facing sentence."""

    def __str__(self) -> str:
        return _OPTION.sub(_spelled, super().__str__())


class BadImageError(DeviseError):
    """An image file could not be decoded (corrupt, truncated, not an image)."""


class DataError(DeviseError):
    """A data folder, label map or class list is unusable."""


class VocabularyError(DeviseError):
    """A word or phrase has no vector in the loaded word vectors."""


class WordVectorsError(DeviseError):
    """Word vectors could not be found or loaded."""


class BackboneError(DeviseError):
    """A backbone is unknown, or its weights are unavailable (e.g. offline)."""


class ModelError(DeviseError):
    """A trained model directory is missing, corrupt or incompatible."""


class SearchIndexError(DeviseError):
    """An index is missing, corrupt or was built with something else."""


class QueryError(DeviseError):
    """A search query or filter expression is malformed."""

    position: int | None = None   # where in the text, for a filter
    caret: str | None = None      # the text with a caret under `position`, for a front end to show


class GenerateError(DeviseError):
    """Image generation cannot run (missing extra, missing weights, ...)."""


class EngineError(DeviseError):
    """A compute engine (e.g. Ray for `index --engine ray`) is not installed, unreachable or failed."""


class OutputError(DeviseError):
    """An output path holds something devise did not write (a user's file or folder, a link)."""


class UnreadableFileError(BadImageError):
    """A file could not be opened at all (permission denied, I/O error): not a fact about its contents.

    Not remembered in the feature cache: making it readable changes no size or mtime.
    """


class StorageError(DeviseError):
    """The devise home, or an output path, is on a file system that is read-only or full."""


class ManifestError(DeviseError):
    """An artifact's manifest.json is missing, damaged, of another kind or format version, or records a build
    that differs from what is in use."""


class IndexManifestError(ManifestError, SearchIndexError):
    """An index version's manifest.json is unusable (see ManifestError)."""


class ModelManifestError(ManifestError, ModelError):
    """A trained model's manifest.json is unusable (see ManifestError)."""
