"""An index version's `manifest.json`, typed: its model, spaces, search modes, files and store (core.manifest)."""
from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from devise.core.errors import DeviseError, IndexManifestError
from devise.core.manifest import METRIC, Typed, fits, read


@dataclass(frozen=True)
class Readable:
    """What this devise can search, from the index layer: its --method choices and each store's search modes."""

    methods: tuple[str, ...]
    modes: Mapping[str, tuple[str, ...]]      # {store kind: search modes}
    store_kind: Callable[[Any], str | None]   # a manifest's store record -> its kind


@dataclass(kw_only=True)
class IndexManifest(Typed):
    """An index version's manifest.json: its model, spaces, search modes, files and store."""

    KIND: ClassVar[str] = "index"
    ERROR: ClassVar[type[DeviseError]] = IndexManifestError
    REQUIRED: ClassVar[tuple[str, ...]] = ("metric", "counts")  # an index is searched in the metric it was built in

    name: str
    version: str
    root: str
    model: str                      # "conse", or the trained model's directory
    feature_dim: int
    count: int
    n_trees: int
    seed: int
    search: dict[str, Any]          # {"method", "mode", "reason", "search_k", "features": {"mode", "reason", ...}}
    files: dict[str, Any]           # {filename: integrity record}
    created: str | None = None
    model_fingerprint: str | None = None
    backbone_fingerprint: str | None = None
    store: dict[str, Any] | None = None      # None: Annoy files beside the manifest
    seen_margin: dict[str, Any] | None = None  # None: a ConSE index, or one built before search had a margin
    noise: dict[str, Any] | None = None

    @classmethod
    def read(cls, directory: str | Path, name: str | None = None, readable: Readable | None = None) -> IndexManifest:
        """The manifest of index version `directory`; with `readable`, also refused unless this devise can search it."""
        def fix_for(data: Mapping[str, Any]) -> str:
            return cls.fix_for({**data, "name": name or data.get("name")})

        data = read(directory, cls.KIND, cls.ERROR, fix_for)
        path = Path(directory) / "manifest.json"
        fix = fix_for(data)
        typed = cls.parse(data, path, fix)
        if readable is not None:
            modes = (typed.mode_of("words"), typed.mode_of("features"))
            store = readable.store_kind(typed.store)
            if typed.metric != METRIC or not set(modes) <= set(readable.modes.get(store or "", ())) \
                    or typed.method not in readable.methods:
                raise cls.ERROR(f"{path}: metric {typed.metric!r} / modes {modes} are not ones this devise reads; "
                                f"{fix}.")
        return typed

    @classmethod
    def fix_for(cls, data: Mapping[str, Any]) -> str:
        root, name = data.get("root"), data.get("name")
        if isinstance(root, str) and isinstance(name, str):
            return f"re-index it with `devise index {shlex.quote(root)} --name {name}`"
        return "re-index the folder with `devise index`"

    def problem(self) -> str | None:
        features = self.search.get("features")
        if not isinstance(self.search.get("mode"), str) or not isinstance(features, dict) \
                or not isinstance(features.get("mode"), str) or not isinstance(self.search.get("method", "auto"), str):
            return "search missing or damaged"
        if min(self.count, self.feature_dim, self.n_trees) < 1:
            return "counts and dimensions must be positive (damaged manifest)"
        margin = self.seen_margin
        if margin is not None and not (fits(margin.get("phrases"), list[str]) and fits(margin.get("gamma"), float)):
            return "seen_margin damaged"
        return super().problem()

    @property
    def method(self) -> str:
        """"auto", or the mode forced with `devise index --method`."""
        return self.search.get("method", "auto")

    def _space(self, kind: str) -> dict[str, Any]:
        return self.search if kind == "words" else self.search["features"]

    def mode_of(self, kind: str) -> str:
        """The search mode of space "words" or "features" ("exact", "annoy", or a Milvus index type)."""
        return self._space(kind)["mode"]

    def reason_of(self, kind: str) -> str:
        return self._space(kind).get("reason", "")

    def dim_of(self, kind: str) -> int:
        return self.word_dim if kind == "words" else self.feature_dim


