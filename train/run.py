"""Orchestration behind `devise train` and `devise evaluate`."""
import sys
from pathlib import Path

import numpy as np

from devise.core.errors import DataError
from devise.data.folders import scan
from devise.train import metrics, trainer
from devise.models import model_store
from devise.models.conse import ConSE
from devise.train.dataset import load_dataset
from devise.train.splits import make_split


def _conse_for(ds):
    from devise.data.words import load_words

    return ConSE(load_words(ds.words))


def train_model(data_dir, out, holdout=0.2, holdout_classes=None, seed=0, exclude=(), label_map=None,
                loss="cosine", epochs=30, backbone=None, words=None, test_fraction=0.2, verbose=False, ds=None):
    """Train, calibrate and save one model; returns (model_dir, split, fitted, dataset)."""
    ds = ds or load_dataset(data_dir, exclude, label_map, backbone, words)
    by_class = {}
    for path, yi in zip(ds.paths, ds.y):
        by_class.setdefault(ds.class_names[yi], []).append(path)
    split = make_split(by_class, holdout, holdout_classes, seed, test_fraction)
    conse = _conse_for(ds)
    fitted = trainer.fit(ds, split, loss, epochs, seed, conse, verbose=verbose)
    out = model_store.save(
        out, fitted.keras_model, fitted.weights, split.to_json(ds.root),
        backbone=ds.backbone, words=ds.words, word_dim=int(ds.label_vectors.shape[1]),
        loss=loss, epochs=epochs, seed=seed, blend=fitted.blend, gamma=fitted.gamma,
        calibration=fitted.calibration, conse_top_t=conse.top_t,
        data_root=ds.root, data_fingerprint=trainer.data_fingerprint(ds.paths),
        classes={c: ds.phrases[c] for c in ds.class_names},
        seen=split.seen, unseen=split.unseen,
        seen_phrases=[ds.phrases[c] for c in split.seen],
        counts={"train": len(split.train), "test_seen": len(split.test_seen), "test_unseen": len(split.test_unseen),
                "skipped": len(ds.bad)},
    )
    return out, split, fitted, ds


def score_split(ds, seen, unseen, vectors_of, test_seen_rows, test_unseen_rows, gamma):
    """Metrics for one projection (`vectors_of(rows)` -> unit vectors) on one split."""
    classes = sorted(ds.class_rows(seen).tolist() + ds.class_rows(unseen).tolist())
    remap = {c: i for i, c in enumerate(classes)}
    seen_set = set(seen)
    seen_mask = np.array([ds.class_names[c] in seen_set for c in classes])
    yu = [remap[c] for c in ds.y[test_unseen_rows]]
    ys = [remap[c] for c in ds.y[test_seen_rows]]
    return metrics.zsl_gzsl(vectors_of(test_unseen_rows), yu, vectors_of(test_seen_rows), ys,
                            ds.label_vectors[classes], seen_mask, gamma)


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


def evaluate(data_dir, model_dir=None, test_dir=None, holdout=0.2, holdout_classes=None, splits=1, seed=0,
             exclude=(), label_map=None, loss="cosine", epochs=30, backbone=None, words=None, verbose=False):
    """Evaluate trained model(s), ConSE and chance side by side; means (and std) over splits."""
    if model_dir is not None:
        m = model_store.load(model_dir)
        backbone, words = m.backbone, m.words
    ds = load_dataset(data_dir, exclude, label_map, backbone, words)
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
    conse = _conse_for(ds)
    src = test if test is not None else ds
    conse_vecs = conse.project(src.logits)
    model_reports, conse_reports, chance_reports, runs = [], [], [], []
    for i in range(1 if model_dir is not None else splits):
        split_seed = seed + i
        if model_dir is not None:
            fitted_model, saved = m, model_store.read_split(model_dir)
            seen, unseen = saved["seen"], saved["unseen"]
            root = Path(m.manifest["data_root"])
            test_seen = [str(root / p) for p in saved["test_seen"]]
            test_unseen = [str(root / p) for p in saved["test_unseen"]]
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                _, split, _, _ = train_model(data_dir, Path(tmp) / "model", holdout, holdout_classes, split_seed,
                                             exclude, label_map, loss, epochs, ds.backbone, words,
                                             test_fraction=0.0 if test is not None else 0.2, verbose=verbose, ds=ds)
                fitted_model = model_store.load(Path(tmp) / "model")
            seen, unseen, test_seen, test_unseen = split.seen, split.unseen, split.test_seen, split.test_unseen
        if not unseen:
            raise DataError("evaluation needs held-out classes; pass --holdout > 0 or --holdout-classes.")
        if test is not None:
            seen_set, unseen_set = set(seen), set(unseen)
            test_seen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in seen_set]
            test_unseen = [p for p, c in zip(src.paths, src.y) if src.class_names[c] in unseen_set]
        rows_s, rows_u = src.rows_of(test_seen), src.rows_of(test_unseen)
        model_vecs = fitted_model.project(src.features, src.logits, conse)
        model_reports.append(score_split(src, seen, unseen, lambda r: model_vecs[r], rows_s, rows_u, fitted_model.gamma))
        conse_reports.append(score_split(src, seen, unseen, lambda r: conse_vecs[r], rows_s, rows_u, 0.0))
        chance_reports.append(metrics.chance(len(unseen), len(seen) + len(unseen), len(rows_s), len(rows_u)))
        runs.append({"seed": split_seed, "unseen": unseen, "blend": fitted_model.blend, "gamma": fitted_model.gamma,
                     "n_test_seen": len(rows_s), "n_test_unseen": len(rows_u)})
        if verbose:
            r = model_reports[-1]
            print(f"split {i}: zsl@1 {r['zsl']['hit@1']:.3f} H {r['gzsl_h']:.3f} | conse zsl@1 "
                  f"{conse_reports[-1]['zsl']['hit@1']:.3f} H {conse_reports[-1]['gzsl_h']:.3f}", file=sys.stderr)
    mean, std = _mean_std(model_reports)
    conse_mean, conse_std = _mean_std(conse_reports)
    chance_mean, _ = _mean_std(chance_reports)
    return {**mean, "std": std, "splits": len(runs), "runs": runs, "loss": loss,
            "backbone": ds.backbone, "words": ds.words,
            "baselines": {"conse": {**conse_mean, "std": conse_std}, "chance": chance_mean},
            "skipped": len(ds.bad)}
