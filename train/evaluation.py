"""`devise evaluate`: zero-shot and generalized zero-shot hit@k, the model against ConSE and chance."""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devise.core.errors import DataError
from devise.core.results import Result
from devise.data.folders import scan
from devise.models import model_store
from devise.train import metrics
from devise.train.config import CALIBRATIONS, DEFAULT_HEADS, DEFAULT_LOSS, TrainConfig
from devise.train.dataset import load_dataset
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


def evaluate(data_dir: str | Path, *, model: str | Path | None = None, test_dir: str | Path | None = None,
             splits: int = 1, holdout: float = 0.2, holdout_classes: Sequence[str] | None = None, seed: int = 0,
             exclude: Sequence[str] = (), label_map: str | Path | None = None, loss: str = DEFAULT_LOSS,
             epochs: int = 30, heads: int = DEFAULT_HEADS, backbone: str | None = None, words: str | None = None,
             calibration: str = "h", verbose: bool = False) -> Evaluation:
    """Zero-shot (ZSL) and generalized (GZSL) hit@k of a model, against ConSE and chance.

    model: evaluate this trained model on its own split; else train one
    per seeded class split (`splits` of them, seeds seed, seed+1, ...) and
    average. test_dir: take the test images from this folder instead.
    """
    config = TrainConfig(holdout=holdout, holdout_classes=holdout_classes, seed=seed, exclude=exclude,
                         label_map=label_map, loss=loss, epochs=epochs, heads=heads, backbone=backbone, words=words,
                         calibration=calibration, verbose=verbose, test_fraction=0.0 if test_dir is not None else 0.2)
    model_dir = model
    if model_dir is not None:
        m = model_store.load(model_dir)
        from devise.data.words import words_name

        asked_words = None if words is None else words_name(words)
        for option, asked, own in (("--backbone", backbone, m.backbone), ("--words", asked_words, m.words)):
            if asked is not None and asked != own:
                raise DataError(f"{model_dir}: the model was built on {own}, not {asked}; drop {option} "
                                f"to evaluate it, or leave out --model to train one on {asked}.")
        config = config.replace(backbone=m.backbone, words=m.words)
    exclude, label_map, words = config.exclude, config.label_map, config.words
    ds = load_dataset(data_dir, exclude, label_map, config.backbone, words)
    test = None
    if test_dir is not None:
        folder = scan(test_dir, exclude=exclude)
        unknown = sorted(set(folder.class_names()) - set(ds.class_names))
        if unknown:
            raise DataError(f"{test_dir}: class folders {', '.join(unknown)} are not in {data_dir}.")
        test = load_dataset(test_dir, exclude, label_map, ds.backbone, words, folder=folder)
        # Re-express the test folder's class indices in the training folder's class order.
        test.y = np.array([ds.class_names.index(c) for c in test.class_names])[test.y]
        test.class_names, test.label_vectors = ds.class_names, ds.label_vectors
    conse = conse_for(ds)
    src = test if test is not None else ds
    conse_vecs = conse.project(src.logits)
    model_reports, conse_reports, chance_reports, runs, alt_reports = [], [], [], [], {}
    for i in range(1 if model_dir is not None else splits):
        split_seed = config.seed + i
        if model_dir is not None:
            fitted_model, saved = m, model_store.read_split(model_dir)
            seen, unseen = saved["seen"], saved["unseen"]
            root = Path(m.manifest["data_root"])
            test_seen = [str(root / p) for p in saved["test_seen"]]
            test_unseen = [str(root / p) for p in saved["test_unseen"]]
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                _, split, _, _ = train_model(data_dir, Path(tmp) / "model",
                                             config.replace(seed=split_seed, backbone=ds.backbone), ds=ds)
                fitted_model = model_store.load(Path(tmp) / "model")
            seen, unseen, test_seen, test_unseen = split.seen, split.unseen, split.test_seen, split.test_unseen
        if not unseen:
            raise DataError(f"evaluation needs held-out classes; pass {option('holdout')} > 0 or {option('holdout_classes')}.")
        if test is not None:
            seen_set, unseen_set = set(seen), set(unseen)
            test_seen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in seen_set]
            test_unseen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in unseen_set]
        rows_s, rows_u = src.rows_of(test_seen), src.rows_of(test_unseen)
        model_vecs = fitted_model.project(src.features, src.logits, conse)
        model_reports.append(score_split(src, seen, unseen, model_vecs.__getitem__, rows_s, rows_u, fitted_model.gamma,
                                         fitted_model.labels(src.label_vectors, conse)))
        alternatives = {}
        for name in CALIBRATIONS:
            other = fitted_model.recalibrated(name)
            if other is not None:
                vecs = other.project(src.features, src.logits, conse)
                alt_reports.setdefault(name, []).append(score_split(
                    src, seen, unseen, vecs.__getitem__, rows_s, rows_u, other.gamma,
                    other.labels(src.label_vectors, conse)))
                alternatives[name] = {"gamma": other.gamma, "anchor": other.anchor, "blend": other.blend}
        conse_reports.append(score_split(src, seen, unseen, conse_vecs.__getitem__, rows_s, rows_u, 0.0))
        chance_reports.append(metrics.chance(len(unseen), len(seen) + len(unseen), len(rows_s), len(rows_u)))
        runs.append({"seed": split_seed, "unseen": unseen, "blend": fitted_model.blend, "gamma": fitted_model.gamma,
                     "anchor": fitted_model.anchor, "alternatives": alternatives, "folds": fold_scores(fitted_model.manifest.get("calibration")),
                     "n_test_seen": len(rows_s), "n_test_unseen": len(rows_u)})
        if config.verbose:
            r = model_reports[-1]
            print(f"split {i}: zsl@1 {r['zsl']['hit@1']:.3f} H {r['gzsl_h']:.3f} | conse zsl@1 "
                  f"{conse_reports[-1]['zsl']['hit@1']:.3f} H {conse_reports[-1]['gzsl_h']:.3f}", file=sys.stderr)
    mean, std = _mean_std(model_reports)
    conse_mean, conse_std = _mean_std(conse_reports)
    chance_mean, _ = _mean_std(chance_reports)
    baselines = {"conse": {**conse_mean, "std": conse_std}, "chance": chance_mean}
    for name, reports in alt_reports.items():
        if len(reports) == len(model_reports):  # models saved before alternatives were recorded have none
            alt_mean, alt_std = _mean_std(reports)
            baselines[f"calibration={name}"] = {**alt_mean, "std": alt_std}
    return Evaluation(**mean, std=std, splits=len(runs), runs=runs, loss=config.loss, backbone=ds.backbone,
                      words=ds.words, baselines=baselines, skipped=len(ds.bad),
                      heads=config.heads)
