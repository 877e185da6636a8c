"""Typed exceptions raised by library code.

The CLI turns every `DeviseError` into a one-line `click.ClickException`
(exit code 1); library code never prints tracebacks or calls `sys.exit`.
"""


class DeviseError(Exception):
    """Base class: the message is a complete, user-facing sentence."""


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
