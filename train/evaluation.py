"""`devise evaluate`: zero-shot and generalized zero-shot hit@k, the model against ConSE and chance."""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devise.core.errors import DataError, ModelError, option
from devise.core.results import Result
from devise.data.folders import scan
from devise.data.word_sources import words_name
from devise.models import model_store
from devise.models.conse import ConSE
from devise.train import metrics
from devise.train.config import CALIBRATIONS, DEFAULT_HEADS, TrainConfig, with_config_options
from devise.train.dataset import Dataset, load_dataset
from devise.train.run import conse_for, train_model
from devise.train.trainer import fold_scores


def score_split(ds, seen, unseen, vectors_of, test_seen_rows, test_unseen_rows, gamma, label_vectors=None):
    """Metrics for one projection (`vectors_of(rows)` -> unit vectors) on one split.

    label_vectors: every class's label as the projection scores it (default: the dataset's)."""
    label_vectors = ds.label_vectors if label_vectors is None else label_vectors
    classes = sorted(ds.class_rows(seen).tolist() + ds.class_rows(unseen).tolist())
    remap = {c: i for i, c in enumerate(classes)}
    seen_set = set(seen)
    seen_mask = np.array([ds.class_names[c] in seen_set for c in classes])
    yu = [remap[c] for c in ds.y[test_unseen_rows]]
    ys = [remap[c] for c in ds.y[test_seen_rows]]
    return metrics.zsl_gzsl(vectors_of(test_unseen_rows), yu, vectors_of(test_seen_rows), ys,
                            label_vectors[classes], seen_mask, gamma)


def _mean_std(reports):
    def walk(items):
        first = items[0]
        if isinstance(first, dict):
            return {k: walk([r[k] for r in items]) for k in first}
        arr = np.array(items, dtype=np.float64)
        return {"mean": float(np.nanmean(arr)), "std": float(np.nanstd(arr))}

    stats = walk(reports)

    def pick(node, key):
        return {k: pick(v, key) for k, v in node.items()} if "mean" not in node else node[key]

    return pick(stats, "mean"), pick(stats, "std")


@dataclass
class Evaluation(Result):
    """hit@k of the trained model (means over splits), with ConSE and chance in `baselines`."""

    zsl: dict                  # {"hit@1": .., "hit@2": .., "hit@5": .., "hit@10": ..} over held-out labels only
    gzsl_unseen: dict          # held-out images ranked against every label
    gzsl_seen: dict            # seen-class test images ranked against every label
    gzsl_h: float              # harmonic mean of the two GZSL hit@1
    std: dict                  # the same keys: standard deviations over splits
    splits: int
    runs: list                 # per split: seed, held-out classes, blend, gamma, seen-class fold scores, test counts
    loss: str
    backbone: str
    words: str
    baselines: dict            # {"conse": .., "chance": .., "calibration=<other>": ..} in the same shape
    skipped: int
    heads: int = DEFAULT_HEADS  # heads averaged in each model (train --heads)


@dataclass
class _Data:
    """What every run of an evaluation is scored on: the dataset, its test images (`src`: the dataset or a
    separate test folder) and ConSE's projection of them."""

    ds: Dataset
    src: Dataset
    conse: ConSE
    conse_vecs: np.ndarray


@dataclass
class _Scored:
    """One run's reports: the model's, its alternative calibrations', ConSE's and chance's; and its `runs` entry."""

    model: dict
    alternatives: dict
    conse: dict
    chance: dict
    run: dict


@with_config_options
def evaluate(data_dir: str | Path, *, model: str | Path | None = None, test_dir: str | Path | None = None,
             splits: int = 1, config: TrainConfig | None = None, **options) -> Evaluation:
    """Zero-shot (ZSL) and generalized (GZSL) hit@k of a model, against ConSE and chance.

    model: evaluate this trained model on its own split (evaluate_model); else train one per seeded
    class split (`splits` of them, seeds seed, seed+1, ...) and average (cross_validate). Options are
    TrainConfig's fields, as `config` or as keywords. test_dir: take the test images from this folder instead.
    """
    config = TrainConfig.of(config, "evaluate", **options)
    if test_dir is not None:
        config = config.replace(test_fraction=0.0)
    if model is not None:
        return evaluate_model(data_dir, model, test_dir=test_dir, config=config)
    return cross_validate(data_dir, splits=splits, test_dir=test_dir, config=config)


def evaluate_model(data_dir, model_dir, *, test_dir=None, config: TrainConfig) -> Evaluation:
    """Score the trained model at `model_dir` on its own split of `data_dir` (or on `test_dir`'s images)."""
    m = model_store.load(model_dir)
    asked_words = None if config.words is None else words_name(config.words)
    for name, asked, own in (("backbone", config.backbone, m.backbone), ("words", asked_words, m.words)):
        if asked is not None and asked != own:
            raise DataError(f"{model_dir}: the model was built on {own}, not {asked}; drop {option(name)} "
                            f"to evaluate it, or leave out {option('model')} to train one on {asked}.")
    config = config.replace(backbone=m.backbone, words=m.words)
    data = _load(data_dir, test_dir, config)
    saved = model_store.read_split(model_dir)
    if not saved["unseen"]:
        raise DataError(f"{model_dir}: the model holds out no classes, so there is nothing to score zero-shot; "
                        f"train one with {option('holdout')} > 0 or {option('holdout_classes')}.")
    if m.manifest.data_root is None:
        raise ModelError(f"{model_dir}/manifest.json: records no data_root, so its test images are unknown; "
                         "train the model again.")
    root = Path(m.manifest.data_root)
    scored = _score(data, m, saved["seen"], saved["unseen"], [str(root / p) for p in saved["test_seen"]],
                    [str(root / p) for p in saved["test_unseen"]], config.seed)
    _progress(0, scored, config)
    return _summary([scored], data, config)


def cross_validate(data_dir, *, splits: int = 1, test_dir=None, config: TrainConfig) -> Evaluation:
    """Train a model on each of `splits` seeded class splits of `data_dir` (seeds seed, seed+1, ...), score each."""
    data = _load(data_dir, test_dir, config)
    scored = []
    for i in range(splits):
        seed = config.seed + i
        with tempfile.TemporaryDirectory() as tmp:
            _, split, _, _ = train_model(data_dir, Path(tmp) / "model",
                                         config.replace(seed=seed, backbone=data.ds.backbone), ds=data.ds)
            fitted = model_store.load(Path(tmp) / "model")
        if not split.unseen:
            raise DataError(f"evaluation needs held-out classes; pass {option('holdout')} > 0 or "
                            f"{option('holdout_classes')}.")
        scored.append(_score(data, fitted, split.seen, split.unseen, split.test_seen, split.test_unseen, seed))
        _progress(i, scored[-1], config)
    return _summary(scored, data, config)


def _load(data_dir, test_dir, config: TrainConfig) -> _Data:
    """The dataset and its test images: `test_dir`'s, with class indices in the dataset's order, if given."""
    ds = load_dataset(data_dir, config.exclude, config.label_map, config.backbone, config.words)
    src = ds
    if test_dir is not None:
        folder = scan(test_dir, exclude=config.exclude)
        unknown = sorted(set(folder.class_names()) - set(ds.class_names))
        if unknown:
            raise DataError(f"{test_dir}: class folders {', '.join(unknown)} are not in {data_dir}.")
        src = load_dataset(test_dir, config.exclude, config.label_map, ds.backbone, config.words, folder=folder)
        src.y = np.array([ds.class_names.index(c) for c in src.class_names])[src.y]
        src.class_names, src.label_vectors = ds.class_names, ds.label_vectors
    conse = conse_for(ds)
    return _Data(ds, src, conse, conse.project(src.logits))


def _score(data: _Data, fitted, seen, unseen, test_seen, test_unseen, seed) -> _Scored:
    """One run: a fitted model (and its alternative calibrations), ConSE and chance on the same test images.
    With a separate test folder, its images of the seen and unseen classes replace the split's."""
    src, conse = data.src, data.conse
    if src is not data.ds:
        seen_set, unseen_set = set(seen), set(unseen)
        test_seen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in seen_set]
        test_unseen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in unseen_set]
    rows_s, rows_u = src.rows_of(test_seen), src.rows_of(test_unseen)

    def report(projection, vectors):
        return score_split(src, seen, unseen, vectors.__getitem__, rows_s, rows_u, projection.gamma,
                           projection.labels(src.label_vectors, conse))

    model = report(fitted, fitted.project(src.features, src.logits, conse))
    alternatives, chosen = {}, {}
    for name in CALIBRATIONS:
        other = fitted.recalibrated(name)
        if other is not None:
            alternatives[name] = report(other, other.project(src.features, src.logits, conse))
            chosen[name] = {"gamma": other.gamma, "anchor": other.anchor, "blend": other.blend}
    run = {"seed": seed, "unseen": unseen, "blend": fitted.blend, "gamma": fitted.gamma, "anchor": fitted.anchor,
           "alternatives": chosen, "folds": fold_scores(fitted.manifest.calibration),
           "n_test_seen": len(rows_s), "n_test_unseen": len(rows_u)}
    return _Scored(model, alternatives, score_split(src, seen, unseen, data.conse_vecs.__getitem__, rows_s, rows_u, 0.0),
                   metrics.chance(len(unseen), len(seen) + len(unseen), len(rows_s), len(rows_u)), run)


def _progress(i: int, scored: _Scored, config: TrainConfig) -> None:
    if config.verbose:
        model, conse = scored.model, scored.conse
        print(f"split {i}: zsl@1 {model['zsl']['hit@1']:.3f} H {model['gzsl_h']:.3f} | conse zsl@1 "
              f"{conse['zsl']['hit@1']:.3f} H {conse['gzsl_h']:.3f}", file=sys.stderr)


def _summary(scored: list[_Scored], data: _Data, config: TrainConfig) -> Evaluation:
    """Means and standard deviations over the runs; ConSE, chance and the alternative calibrations as baselines."""
    mean, std = _mean_std([s.model for s in scored])
    conse_mean, conse_std = _mean_std([s.conse for s in scored])
    baselines = {"conse": {**conse_mean, "std": conse_std}, "chance": _mean_std([s.chance for s in scored])[0]}
    for name in CALIBRATIONS:
        reports = [s.alternatives[name] for s in scored if name in s.alternatives]
        if reports and len(reports) == len(scored):  # models saved before alternatives were recorded have none
            alt_mean, alt_std = _mean_std(reports)
            baselines[f"calibration={name}"] = {**alt_mean, "std": alt_std}
    return Evaluation(**mean, std=std, splits=len(scored), runs=[s.run for s in scored], loss=config.loss,
                      backbone=data.ds.backbone, words=data.ds.words, baselines=baselines, skipped=len(data.ds.bad),
                      heads=config.heads)
