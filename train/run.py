"""`devise train`: embed a labelled folder, fit and calibrate the head on the seen classes, save the model."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devise.core.results import Result
from devise.data.words import load_words
from devise.models import model_store
from devise.models.conse import ConSE
from devise.models.head import HEAD_PARAMS
from devise.train import trainer
from devise.train.config import TrainConfig, with_config_options
from devise.train.dataset import load_dataset
from devise.train.losses import loss_params
from devise.train.splits import make_split


@dataclass
class TrainResult(Result):
    model_dir: str
    backbone: str
    words: str
    seen: list[str]                 # class folders the head trained on
    unseen: list[str]               # class folders held out entirely
    train_images: int
    test_seen_images: int
    test_unseen_images: int
    skipped: int                    # unreadable files
    blend: dict = field(default_factory=dict)   # the calibrated head/ConSE gate
    gamma: float = 0.0              # the calibrated-stacking penalty on seen labels
    anchor: dict = field(default_factory=dict)  # label anchoring (ConSE.anchor); tau 0 is off
    search_gamma: float = 0.0       # text search's seen-class margin (models.seen_margin)
    folds: dict | None = None       # seen-class fold scores at the calibrated choice (trainer.fold_scores)


@with_config_options
def train(data_dir: str | Path, *, out: str | Path, config: TrainConfig | None = None, **options) -> TrainResult:
    """Train a projection head on `data_dir` (one subfolder per class) and save the model to `out`.

    Options are TrainConfig's fields, as `config` or as keywords (which override it). A share `holdout`
    of the classes (or `holdout_classes`) is held out for zero-shot evaluation; the head's blend with
    ConSE and the seen-label penalty are calibrated on the seen classes only. calibration: "h" (gamma
    maximising ZSL + GZSL H on seen-class folds) or "novelty" (gamma giving a fixed share of seen images
    an unseen top label). heads: fit this many heads from different seeds and average them (better text
    search on the seen-class folds, K times the training).
    """
    config = TrainConfig.of(config, "train", **options)
    model_dir, split, fitted, ds = train_model(data_dir, out, config)
    return TrainResult(str(model_dir), ds.backbone, ds.words, split.seen, split.unseen, len(split.train),
                       len(split.test_seen), len(split.test_unseen), len(ds.bad), fitted.blend, fitted.gamma, fitted.anchor,
                       fitted.search_gamma, trainer.fold_scores(fitted.calibration))


def conse_for(ds):
    return ConSE(load_words(ds.words))


def train_model(data_dir, out, config: TrainConfig, ds=None):
    """Train, calibrate and save one model; returns (model_dir, split, fitted, dataset)."""
    model_store.check_target(out)  # refuse a folder devise did not write before the training, not after
    ds = ds or load_dataset(data_dir, config.exclude, config.label_map, config.backbone, config.words)
    split = make_split(ds.paths_by_class(), config.holdout, config.holdout_classes, config.seed, config.test_fraction)
    conse = conse_for(ds)
    fitted = trainer.fit(ds, split, config, conse)
    out = model_store.save(
        out, fitted.keras_model, fitted.weights, split.to_json(ds.root),
        backbone=ds.backbone, words=ds.words, word_dim=int(ds.label_vectors.shape[1]),
        loss=config.loss, loss_params=loss_params(config.loss), head={**HEAD_PARAMS, "heads": config.heads},
        epochs=config.epochs, seed=config.seed, blend=fitted.blend, gamma=fitted.gamma,
        label_anchor=fitted.anchor, search_gamma=fitted.search_gamma,
        calibration=fitted.calibration, conse_top_t=conse.top_t,
        data_root=ds.root, data_fingerprint=trainer.data_fingerprint(ds.paths),
        classes={c: ds.phrases[c] for c in ds.class_names},
        seen=split.seen, unseen=split.unseen,
        seen_phrases=[ds.phrases[c] for c in split.seen],
        counts={"train": len(split.train), "test_seen": len(split.test_seen), "test_unseen": len(split.test_unseen),
                "skipped": len(ds.bad)},
    )
    return out, split, fitted, ds
