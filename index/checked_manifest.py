"""An index version's manifest, read and checked (core.index_manifest.IndexManifest) before anything else uses it.

The index layer adds what only it knows: the search methods and each
store's search modes this devise reads.
"""
from __future__ import annotations

from pathlib import Path

from devise.core.index_manifest import IndexManifest, Readable
from devise.index import stores, tuning

READABLE = Readable(tuning.METHODS, stores.MODES, stores.kind_of)


def read_checked(name: str, version: str | Path) -> IndexManifest:
    """The manifest of `version` (a version directory) of index `name`, every field a reader uses checked."""
    return IndexManifest.read(version, name=name, readable=READABLE)
