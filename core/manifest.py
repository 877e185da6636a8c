"""`manifest.json`: what an artifact was built from, checked on every load.

Every artifact records its kind and format version. Models and indexes are
typed (`ModelManifest` here, `IndexManifest` in core.index_manifest): they also record their backbone,
word vectors (with dimension), metric and counts, and are parsed and
checked here, in one place. A missing or damaged field, another kind or
format version, or a build that differs from what the caller uses is one
typed error naming the file and what to do, instead of a KeyError later or
Annoy segfaulting on a dimension mismatch. Fields this devise does not know
are kept (`extra`), so a manifest round-trips unchanged.
"""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from devise.core import atomic
from devise.core.errors import DeviseError, ModelManifestError, option

FORMAT_VERSION = 1
# The one metric models and indexes compare vectors in (Annoy's name for cosine distance).
METRIC = "angular"

_Typed = TypeVar("_Typed", bound="Typed")


def write(directory: str | Path, kind: str, **fields: Any) -> dict[str, Any]:
    data = {"format_version": FORMAT_VERSION, "kind": kind, **fields}
    atomic.write_json(Path(directory) / "manifest.json", data)
    return data


def read(directory: str | Path, kind: str, error: type[DeviseError] = DeviseError,
         fix: Callable[[Mapping[str, Any]], str] | None = None) -> dict[str, Any]:
    """Read a manifest and check its kind and format version; `error` is the exception type to raise, `fix(data)`
    what to do about a manifest of another format version (default: rebuild the artifact)."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise error(f"{directory}: no manifest.json here; is this a devise {kind}? Build it again.")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise error(f"{path}: unreadable manifest ({exc}); rebuild the {kind}.") from None
    if not isinstance(data, dict):
        raise error(f"{path}: holds JSON that is not an object, so it is not a devise manifest; rebuild the {kind}.")
    if data.get("kind") != kind:
        have = data.get("kind")
        what = f"a devise {have}" if isinstance(have, str) else "not a devise manifest (it names no kind)"
        article = "an" if kind[:1] in "aeiou" else "a"
        raise error(f"{path}: this is {what}, not {article} {kind}; point at a devise {kind} instead.")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise error(
            f"{path}: format version {version} but this devise reads {FORMAT_VERSION}; "
            f"{fix(data) if fix else f'rebuild the {kind}'}."
        )
    return data


def peek(directory: str | Path) -> dict[str, Any] | None:
    """The manifest in `directory` as a dict, or None when there is none or it is not a JSON object.

    For callers that only ask "did devise make this folder?" and must not raise.
    """
    try:
        data = json.loads((Path(directory) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describes(data: Mapping[str, Any] | None, kind: str) -> bool:
    """True when `data` (from peek) is a manifest of this devise's format for `kind`."""
    return data is not None and data.get("kind") == kind and data.get("format_version") == FORMAT_VERSION


def fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value has the type `hint` (str, int, float, bool, list[...], dict[...], unions, Any)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, arg) for arg in args)
    if hint is None or hint is type(None):
        return value is None
    if isinstance(value, bool):
        return hint is bool
    if hint is float:
        return isinstance(value, (int, float))
    if origin is list:
        return isinstance(value, list) and all(fits(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(fits(k, args[0]) and fits(v, args[1]) for k, v in value.items())
    return isinstance(value, origin or hint)


@dataclass(kw_only=True)
class Typed:
    """A manifest read into typed fields: the facts every model and index records, and what else it holds."""

    KIND: ClassVar[str]
    ERROR: ClassVar[type[DeviseError]]
    REQUIRED: ClassVar[tuple[str, ...]] = ()  # fields with a default that must be present all the same

    backbone: str
    words: str
    word_dim: int
    metric: str = METRIC
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # fields this devise does not read, kept as they are

    @classmethod
    def read(cls: type[_Typed], directory: str | Path) -> _Typed:
        """The manifest in `directory`, checked."""
        return cls.parse(read(directory, cls.KIND, cls.ERROR, cls.fix_for), Path(directory) / "manifest.json")

    @classmethod
    def parse(cls: type[_Typed], data: Mapping[str, Any], where: str | Path = "manifest.json",
              fix: str | None = None) -> _Typed:
        """Typed fields from a manifest's JSON object (read from `where`), or one `ERROR` line naming the damage."""
        fix = fix or cls.fix_for(data)
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        wrong = [name for name, f in known.items()
                 if (name in data and not fits(data[name], hints[name]))
                 or (name not in data and (name in cls.REQUIRED or (f.default is dataclasses.MISSING
                                           and f.default_factory is dataclasses.MISSING)))]
        if wrong:
            raise cls.ERROR(f"{where}: {', '.join(wrong)} missing or damaged; {fix}.")
        values = {name: data[name] for name in known if name in data}
        extra = {k: v for k, v in data.items() if k not in known and k not in ("kind", "format_version")}
        typed = cls(**values, extra=extra)
        problem = typed.problem()
        if problem:
            raise cls.ERROR(f"{where}: {problem}; {fix}.")
        return typed

    @classmethod
    def fix_for(cls, data: Mapping[str, Any]) -> str:
        return f"rebuild the {cls.KIND}"

    def problem(self) -> str | None:
        """What is wrong beyond the fields' types (None: nothing); subclasses add their rules."""
        if self.word_dim < 1 or any(n < 0 for n in self.counts.values()):
            return "counts and dimensions must be positive (damaged manifest)"
        return None

    def fields(self) -> dict[str, Any]:
        """Every recorded field but the kind and format version."""
        return {**self.extra, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}}

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written as manifest.json."""
        return {"format_version": FORMAT_VERSION, "kind": self.KIND, **self.fields()}

    def write(self, directory: str | Path) -> None:
        write(directory, self.KIND, **self.fields())

    def expect(self, where: str | Path, **expected: Any) -> None:
        """Raise `ERROR` if a recorded field (an option of the same name) differs from the value in use (None:
        anything goes)."""
        for key, want in expected.items():
            have = getattr(self, key)
            if want is not None and have != want:
                raise self.ERROR(f"{where}: built with {key} {have!r}, not {want!r}; pass {option(key, have)}, or "
                                 f"{self.fix_for({})} with {option(key, want)}.")


@dataclass(kw_only=True)
class ModelManifest(Typed):
    """A trained model's manifest.json: its inputs, its calibration and the classes it saw."""

    KIND: ClassVar[str] = "model"
    ERROR: ClassVar[type[DeviseError]] = ModelManifestError

    loss: str | None = None
    loss_params: dict[str, Any] | None = None
    head: dict[str, Any] | None = None
    epochs: int | None = None
    seed: int | None = None
    blend: dict[str, Any] | None = None
    gamma: float = 0.0                       # calibrated-stacking penalty on seen labels
    search_gamma: float | None = None        # models saved before search had its own: the tagging gamma
    label_anchor: dict[str, Any] | None = None   # models saved before label anchoring: none
    calibration: dict[str, Any] | None = None
    conse_top_t: int | None = None
    data_root: str | None = None
    data_fingerprint: str | None = None
    classes: dict[str, str] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)
    seen_phrases: list[str] = field(default_factory=list)

    @classmethod
    def fix_for(cls, data: Mapping[str, Any]) -> str:
        return "train the model again"

    @property
    def heads(self) -> int:
        """How many heads were averaged (1 unless trained with `heads`)."""
        return (self.head or {}).get("heads", 1)

    def problem(self) -> str | None:
        heads = (self.head or {}).get("heads", 1)
        if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1:
            return f"head.heads is {heads!r}, not a count of heads"
        return super().problem()
