"""`devise.open_index(name)`: one index as an object, as Annoy has `AnnoyIndex` and llm has `Collection`.

    photos = devise.open_index("photos")
    len(photos), photos.model, photos.backbone
    photos.search("cat sofa", top=5)
    photos.similar("photos/cat.jpg")
    photos.tag(["new.jpg"], labels=["cat", "dog"])

Each method is the verb of the same name with `index=` filled in, so the
handle and the functions (`devise.search(..., index="photos")`) give the
same typed results. The facts (model, backbone, word vectors, counts) are
those of the version that was live when the handle was opened; `refresh()`
reads the live one again after a re-index.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devise.core.index_manifest import IndexManifest
from devise.curate.dedupe import DedupeReport, dedupe
from devise.curate.labels import LabelSummary, label
from devise.curate.maps import MapSummary, make_map
from devise.curate.walk import WalkSummary, walk
from devise.index.store import open_index as open_live_version
from devise.search.image import similar
from devise.search.results import SearchResults
from devise.search.tag import TagResults, tag
from devise.search.text import search


class Index:
    """An index under the devise home, by name. Create it with `devise.open_index(name)`."""

    def __init__(self, name: str | None = None):
        self._live = open_live_version(name)
        self.name: str = self._live.name

    def refresh(self) -> Index:
        """Read the live version again (after `devise index` rebuilt or updated it)."""
        self._live = open_live_version(self.name)
        return self

    def __len__(self) -> int:
        return len(self._live)

    def __repr__(self) -> str:
        return f"<devise index {self.name!r}: {len(self)} images, model {self.model}, backbone {self.backbone}>"

    @property
    def manifest(self) -> IndexManifest:
        """The version's manifest.json, as checked on load (`.to_dict()` gives the JSON)."""
        return self._live.manifest

    @property
    def model(self) -> str:
        """"conse", or the trained model's directory."""
        return self._live.manifest.model

    @property
    def backbone(self) -> str:
        return self._live.manifest.backbone

    @property
    def words(self) -> str:
        """The word vectors its text space lives in."""
        return self._live.manifest.words

    @property
    def root(self) -> str:
        """The folder it indexes."""
        return self._live.root

    @property
    def version(self) -> str:
        return self._live.version_dir.name

    def search(self, query: str, **options: Any) -> SearchResults:
        """Images matching a text query, best first (see devise.search)."""
        return search(query, index=self.name, **options)

    def similar(self, image: str | Path, **options: Any) -> SearchResults:
        """Images that look like `image` (see devise.similar)."""
        return similar(image, index=self.name, **options)

    def tag(self, images: Sequence[str | Path], **options: Any) -> TagResults:
        """Nearest words, or the best of `labels=`, for images, with this index's model (see devise.tag)."""
        return tag(images, index=self.name, **options)

    def dedupe(self, **options: Any) -> DedupeReport:
        """Near-duplicate groups (see devise.dedupe)."""
        return dedupe(index=self.name, **options)

    def walk(self, **options: Any) -> WalkSummary:
        """A nearest-neighbour tour of the images (see devise.walk)."""
        return walk(index=self.name, **options)

    def label(self, labels: Sequence[str] | str = (), **options: Any) -> LabelSummary:
        """Zero-shot label scores stored as fields (see devise.label)."""
        return label(labels, index=self.name, **options)

    def map(self, out: str | Path, **options: Any) -> MapSummary:
        """A 2-D map of the images, written to the PNG `out` (see devise.make_map)."""
        return make_map(out, index=self.name, **options)


def open_index(name: str | None = None) -> Index:
    """The index `name` (None: the default one) as an `Index`; a missing or damaged index is a SearchIndexError."""
    return Index(name)
