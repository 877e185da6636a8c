"""Everything a training run is told, in one object that travels down the trainer."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

LOSSES = ("softmax", "cosine", "hinge")
DEFAULT_LOSS = LOSSES[0]
CALIBRATIONS = ("h", "novelty")   # see train.trainer.calibrate
MAX_HEADS = 16
# Three heads won on the seen-class folds (ZSL + H and text search) for three times the head's training.
DEFAULT_HEADS = 3
# `devise demo` trains on this many images of each class by default: about 5 minutes on 2 cores.
DEMO_PER_CLASS = 20


@dataclass(frozen=True)
class TrainConfig:
    holdout: float = 0.2                       # share of classes held out for zero-shot evaluation
    holdout_classes: tuple[str, ...] | None = None  # explicit held-out class folders (overrides holdout)
    seed: int = 0
    exclude: tuple[str, ...] = ()              # class folders to ignore
    label_map: str | None = None               # file mapping class folders to phrases
    loss: str = DEFAULT_LOSS
    epochs: int = 30
    heads: int = DEFAULT_HEADS                 # heads fitted with different seeds, their outputs averaged
    batch_size: int = 128
    backbone: str | None = None                # None: the default backbone
    words: str | None = None                   # None: GloVe 6B 50-d
    test_fraction: float = 0.2                 # share of each seen class kept for testing
    calibration: str = "h"                     # how gamma is chosen on the seen-class folds
    verbose: bool = False

    def __post_init__(self):
        # Lists from callers become tuples, so a config stays hashable and immutable.
        if self.holdout_classes is not None:
            object.__setattr__(self, "holdout_classes", tuple(self.holdout_classes) or None)
        object.__setattr__(self, "exclude", tuple(self.exclude or ()))
        if self.label_map is not None:
            object.__setattr__(self, "label_map", str(self.label_map))
        if self.loss not in LOSSES:
            from devise.core.errors import DataError

            raise DataError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}.")
        if not 1 <= int(self.heads) <= MAX_HEADS:
            from devise.core.errors import DataError

            raise DataError(f"heads must be between 1 and {MAX_HEADS}, not {self.heads}.")
        if self.calibration not in CALIBRATIONS:
            from devise.core.errors import DataError

            raise DataError(f"unknown calibration {self.calibration!r}; choose one of {', '.join(CALIBRATIONS)}.")

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)
