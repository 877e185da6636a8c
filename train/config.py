"""Everything a training run is told, in one object that travels down the trainer.

Each field carries what the command line needs to offer it (help text, bounds, choices) as plain data in
`dataclasses.field(metadata=...)`: commands/support.config_options turns the fields into click options,
`TrainConfig.of` into keyword options of `devise.train`/`devise.evaluate`, and `with_config_options` into their
signature (help(), docs/api.md). A field with `cli=False` is for Python callers only.
"""
from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass, field

from devise.core.errors import DataError

LOSSES = ("softmax", "cosine", "hinge")
DEFAULT_LOSS = LOSSES[0]
CALIBRATIONS = ("h", "novelty")   # see train.trainer.calibrate
MAX_HEADS = 16
# Three heads won on the seen-class folds (ZSL + H and text search) for three times the head's training.
DEFAULT_HEADS = 3
# `devise demo` trains on this many images of each class by default: about 5 minutes on 2 cores.
DEMO_PER_CLASS = 12


def setting(default, help: str | None = None, **cli):
    """A field with its command-line description. cli: choices=(...), min=/max= (max_open=True: below max),
    comma_list=True (A,B,... on the command line), existing_file=True, cli=False (Python only)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class TrainConfig:
    holdout: float = setting(0.2, "Fraction of classes held out (zero-shot).", min=0, max=1, max_open=True)
    holdout_classes: tuple[str, ...] | None = setting(
        None, "Comma-separated class folders to hold out (overrides --holdout).", comma_list=True)
    seed: int = setting(0)
    exclude: tuple[str, ...] = setting((), "Comma-separated class folders to ignore, e.g. BACKGROUND_Google.",
                                       comma_list=True)
    label_map: str | None = setting(
        None, "File mapping class folder names to phrases (JSON or `name = phrase` lines).", existing_file=True)
    loss: str = setting(DEFAULT_LOSS, choices=LOSSES)
    epochs: int = setting(30, min=1, max=1000)
    heads: int = setting(DEFAULT_HEADS, "Heads fitted from different seeds and averaged: better text search, "
                                        "K times the training.", min=1, max=MAX_HEADS)
    calibration: str = setting(
        CALIBRATIONS[0], "How the seen-label penalty gamma is chosen on seen-class folds: h (best ZSL + GZSL H) "
                         "or novelty (a fixed share of seen images given an unseen top label).", choices=CALIBRATIONS)
    backbone: str | None = setting(
        None, "efficientnet-lite0 (default, offline), efficientnet-lite1 or -lite2 (offline, extras "
              "[lite1]/[lite2]), vgg16, efficientnetv2b0, resnet50 (need internet once); A+B ensembles two "
              "(features side by side, logits averaged).")
    words: str | None = setting(None, "Word vectors: a GloVe .txt or word2vec file, a spaCy model (directory or "
                                      "wheel), or a converted name such as spacy-en-md (default: GloVe 6B 50-d).")
    verbose: bool = setting(False, "Show Keras training progress.")
    batch_size: int = setting(128, min=1, cli=False)
    test_fraction: float = setting(0.2, "Share of each seen class kept for testing.", min=0, max=1, max_open=True,
                                   cli=False)

    def __post_init__(self):
        # Lists from callers become tuples, so a config stays hashable and immutable.
        if self.holdout_classes is not None:
            object.__setattr__(self, "holdout_classes", tuple(self.holdout_classes) or None)
        object.__setattr__(self, "exclude", tuple(self.exclude or ()))
        if self.label_map is not None:
            object.__setattr__(self, "label_map", str(self.label_map))
        for f in dataclasses.fields(self):
            check_bounds(f, getattr(self, f.name))

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def of(cls, config: TrainConfig | None, caller: str, **options) -> TrainConfig:
        """`config` (default: the defaults) with `options` (field names) changed; any other name is a TypeError."""
        names = {f.name for f in dataclasses.fields(cls)}
        for name in options:
            if name not in names:
                raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}")
        return dataclasses.replace(config or cls(), **options)


def check_bounds(f: dataclasses.Field, value) -> None:
    """The checks the command line's click types make, for Python callers: a field's choices and range."""
    meta = f.metadata
    if "choices" in meta and value not in meta["choices"]:
        raise DataError(f"unknown {f.name} {value!r}; choose one of {', '.join(meta['choices'])}.")
    low, high = meta.get("min"), meta.get("max")
    if low is None or value is None:
        return
    if high is None and value < low:
        raise DataError(f"{f.name} must be at least {low}, not {value}.")
    if meta.get("max_open") and not low <= value < high:
        raise DataError(f"{f.name} must be at least {low} and below {high}, not {value}.")
    if high is not None and not low <= value <= high:
        raise DataError(f"{f.name} must be between {low} and {high}, not {value}.")


def with_config_options(fn):
    """Show `fn(..., config=None, **options)` with each TrainConfig field as a keyword option (help(), IDE
    consoles, docs/api.md), typed and with its default."""
    signature = inspect.signature(fn)
    hints = typing.get_type_hints(TrainConfig)
    own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    options = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
               for f in dataclasses.fields(TrainConfig)]
    fn.__signature__ = signature.replace(parameters=own + options)
    return fn
