"""Train the projection head on seen classes, then calibrate it for zero-shot use.

Calibration tunes, on class folds of the *seen* classes (no held-out
class is looked at), the label anchoring (ConSE.anchor), the gated blend
between the trained head and the ConSE vector (the ImageNet semantic
prior), and `gamma`, the calibrated-stacking penalty subtracted from seen
labels' scores in generalized zero-shot search so they stop swamping
unseen ones.
"""
import hashlib
import itertools
import sys
from dataclasses import dataclass

import numpy as np

from devise.core.progress import progress_bar
from devise.core.vectors import unit_rows
from devise.models.conse import ANCHOR_K, anchored_labels
from devise.models.feedback import feedback_params
from devise.models.head import DEFAULT_BLEND, apply_numpy, average_heads, build_head, export_numpy, gated_blend
from devise.models.tensorflow_env import import_keras
from devise.train import metrics
from devise.train.config import CALIBRATIONS, TrainConfig
from devise.train.losses import make_loss

# The blend is gated per image, as in Socher et al. (2013): where the head is
# confident the image shows a seen class, trust the head; elsewhere lean on
# ConSE, which generalises to classes the head never saw.
TAUS = (0.5, 0.6, 0.7, 0.8, 0.9)
TEMPERATURES = (0.02, 0.05)
ALPHA_SEEN = (0.6, 0.8, 1.0)
ALPHA_NOVEL = (0.0, 0.2)
GAMMAS = tuple(np.round(np.linspace(0.0, 0.4, 21), 2))
CALIBRATION_FOLDS = 5
# Label anchoring (ConSE.anchor) temperatures tried; 0 leaves the word vectors as they are.
ANCHOR_TAUS = (0.0, 0.03, 0.05, 0.1)
# Which labels are anchored: every one, or only those the head never trained on (seen labels
# stay where the head put its training images).
ANCHOR_SCOPES = ("all", "unseen")
NO_ANCHOR = {"tau": 0.0, "scope": "all", "k": ANCHOR_K}
# Seeds of the heads after the first (--heads): far from the class folds' seeds (seed + 101 + fold).
HEAD_SEED_STEP = 7919
# "novelty" calibration: the share of seen-class validation images allowed an unseen top label.
NOVELTY_TARGET = 0.05


@dataclass
class Fitted:
    keras_model: object
    weights: dict
    blend: dict
    gamma: float
    calibration: dict
    anchor: dict              # label anchoring: {"tau": .., "scope": .., "k": ..}; tau 0 is off
    search_gamma: float       # the seen-class margin of text search (models.seen_margin)


def fit_head(features, y, label_vectors, config: TrainConfig, seed=None, bar=None):
    """A head fitted to map `features` to the label vectors of classes `y`; `seed` overrides the config's.
    With config.heads K > 1, K heads from seeds seed, seed + HEAD_SEED_STEP, ... averaged into one model.
    bar: a progress bar (core.progress) advanced by one for each epoch of each head."""
    keras = import_keras()
    seed = config.seed if seed is None else seed
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda *_: bar.update(1))] if bar is not None else []
    heads = []
    for i in range(config.heads):
        name = "devise_head" if config.heads == 1 else f"devise_head_{i}"
        model = build_head(features.shape[1], label_vectors.shape[1], seed=seed + HEAD_SEED_STEP * i, name=name)
        steps = config.epochs * int(np.ceil(len(y) / config.batch_size))
        schedule = keras.optimizers.schedules.CosineDecay(1e-3, decay_steps=max(1, steps))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=make_loss(config.loss, label_vectors))
        model.fit(features, y.astype(np.int32), batch_size=config.batch_size, epochs=config.epochs, shuffle=True,
                  verbose=2 if config.verbose else 0, callbacks=callbacks)
        heads.append(model)
    return average_heads(heads)


def fit_seen_head(ds, train_rows, seen, config: TrainConfig, bar=None):
    """The head a model keeps: fitted on the training rows, to the label vectors of the `seen` class rows."""
    seen = [int(c) for c in seen]
    return fit_head(ds.features[train_rows], _local(ds.y[train_rows], seen), ds.label_vectors[seen], config, bar=bar)


def _local(y, classes):
    remap = {c: i for i, c in enumerate(classes)}
    return np.array([remap[c] for c in y], dtype=np.int64)


def _pseudo_round(ds, train_rows, seen, pseudo, conse, conse_vecs, config, seed, bar=None):
    """One pseudo split of the seen classes: score every (anchor, blend, gamma) on it."""
    rng = np.random.default_rng(seed)
    pseudo = set(pseudo)
    inner_seen = [c for c in seen if c not in pseudo]
    rows_u = np.array([r for r in train_rows if ds.y[r] in pseudo])
    rows_s = np.array([r for r in train_rows if ds.y[r] not in pseudo])
    rng.shuffle(rows_s)
    n_val = max(1, len(rows_s) // 5)
    val_s, fit_s = rows_s[:n_val], rows_s[n_val:]
    model = fit_head(ds.features[fit_s], _local(ds.y[fit_s], inner_seen), ds.label_vectors[inner_seen],
                     config.replace(verbose=False), seed, bar)
    seen_labels = ds.label_vectors[inner_seen]
    classes = sorted(inner_seen + sorted(pseudo))
    seen_mask = np.array([c not in pseudo for c in classes])
    yu, ys = _local(ds.y[rows_u], classes), _local(ds.y[val_s], classes)
    rows = np.concatenate([rows_u, val_s])
    head = apply_numpy(export_numpy(model), ds.features[rows])
    blends = [{"tau": t, "temperature": temp, "alpha_seen": a_seen, "alpha_novel": a_novel}
              for t, temp, a_seen, a_novel in itertools.product(TAUS, TEMPERATURES, ALPHA_SEEN, ALPHA_NOVEL)]
    vectors = [gated_blend(head, conse_vecs[rows], seen_labels, blend) for blend in blends]
    # Text search: each pseudo-unseen class's phrase searched over these images (plain word vectors,
    # as queries are), ranked with the seen-class margin at every gamma, then visual feedback.
    raw = ds.label_vectors[classes]
    y_all, queries = np.concatenate([yu, ys]), np.flatnonzero(~seen_mask)
    features = unit_rows(ds.features[rows])
    search = [metrics.search_precision(v, y_all, queries, raw, seen_mask, GAMMAS, features=features)
              for v in vectors]
    table = []
    for tau, scope in [(0.0, "all")] + [(t, s) for t in ANCHOR_TAUS if t for s in ANCHOR_SCOPES]:
        labels = anchored_labels(conse, raw, {"tau": tau, "scope": scope, "k": ANCHOR_K}, seen_mask)
        for blend, vecs, p10 in zip(blends, vectors, search):
            vu, vs = vecs[: len(rows_u)], vecs[len(rows_u):]
            for g, gamma in enumerate(GAMMAS):
                m = metrics.zsl_gzsl(vu, yu, vs, ys, labels, seen_mask, gamma)
                novelty = metrics.novelty_rate(vs, labels, seen_mask, gamma)
                table.append(({"tau": float(tau), "scope": scope, "k": ANCHOR_K}, blend, float(gamma),
                              m["zsl"]["hit@1"], m["gzsl_h"], novelty, p10[g]))
    return sorted(ds.class_names[c] for c in pseudo), table


def _pick(zsl, h, novelty, calibration):
    """Row of the calibration table to keep. "h": the best ZSL hit@1 + GZSL H over the folds.
    "novelty": per (anchor, blend), the gamma whose share of seen validation images sent to an
    unseen label is nearest NOVELTY_TARGET; then the best ZSL + H among those."""
    score = zsl + h
    if calibration == "h":
        return int(np.argmax(score))
    groups = np.arange(len(score)).reshape(-1, len(GAMMAS))
    at_target = groups[np.arange(len(groups)), np.argmin(np.abs(novelty[groups] - NOVELTY_TARGET), axis=1)]
    return int(at_target[np.argmax(score[at_target])])


def calibration_folds(n_seen, folds=CALIBRATION_FOLDS):
    """How many class folds calibration runs on `n_seen` seen classes (0: too few to calibrate)."""
    folds = min(folds, n_seen // 2)
    return folds if folds >= 2 else 0


def calibrate(ds, train_rows, seen, conse, conse_vecs, config: TrainConfig, folds=CALIBRATION_FOLDS, bar=None):
    """Choose the label anchor, the gated blend and gamma on class folds of the seen classes
    (every seen class is pseudo-unseen exactly once; no held-out class is looked at).
    A single random pseudo split is too noisy, above all with few seen classes (CIFAR-10's
    eight), where how well ConSE knows the few pseudo-unseen classes decides gamma; the
    "novelty" calibration sets gamma from seen images alone for that case."""
    seen = sorted(seen)
    folds = calibration_folds(len(seen), folds)
    if not folds:
        return dict(NO_ANCHOR), dict(DEFAULT_BLEND), 0.0, 0.0, {"skipped": "too few seen classes to calibrate"}
    seed = config.seed
    order = np.random.default_rng(seed + 101).permutation(seen)
    pseudo_sets, tables = [], []
    for r in range(folds):
        pseudo, table = _pseudo_round(ds, train_rows, seen, order[r::folds].tolist(), conse, conse_vecs, config,
                                      seed + 101 + r, bar)
        pseudo_sets.append(pseudo)
        tables.append(table)
    zsl, h, novelty, p10 = (np.mean([[row[i] for row in t] for t in tables], axis=0) for i in (3, 4, 5, 6))
    picks = {name: _pick(zsl, h, novelty, name) for name in CALIBRATIONS}
    best = picks[config.calibration]
    anchor, blend, gamma = tables[0][best][:3]
    # Search's gamma: the best mean precision@10 among the gammas of the blend tagging chose.
    group = best - best % len(GAMMAS)
    search_row = group + int(np.argmax(p10[group:group + len(GAMMAS)]))
    search_gamma = tables[0][search_row][2]
    info = {"pseudo_unseen": pseudo_sets, "calibration": config.calibration, "inner_zsl_hit1": float(zsl[best]),
            "inner_gzsl_h": float(h[best]), "inner_novelty_rate": float(novelty[best]),
            "inner_search_p10": float(p10[search_row]), "search_feedback": feedback_params(),
            # What the other calibrations would have chosen from the same folds: evaluate scores them
            # too, so calibrations are compared on one trained head.
            "alternatives": {name: {"label_anchor": tables[0][row][0],
                                    "blend": tables[0][row][1], "gamma": tables[0][row][2],
                                    "inner_zsl_hit1": float(zsl[row]), "inner_gzsl_h": float(h[row]),
                                    "inner_novelty_rate": float(novelty[row])}
                             for name, row in picks.items() if name != config.calibration}}
    return anchor, blend, gamma, search_gamma, info


def fold_scores(calibration):
    """What calibration chose by: the seen-class folds' mean ZSL hit@1 and GZSL H at its choice (None
    where it ran on no folds). No held-out class plays a part in them, so they may choose between
    models, e.g. backbones, where held-out figures may not."""
    calibration = calibration or {}
    if "inner_zsl_hit1" not in calibration:
        return None
    return {"zsl_hit1": calibration["inner_zsl_hit1"], "gzsl_h": calibration["inner_gzsl_h"]}


def fit(ds, split, config: TrainConfig, conse=None, calibrate_blend=True) -> Fitted:
    seen = ds.class_rows(split.seen)
    train_rows = ds.rows_of(split.train)
    conse_vecs = conse.project(ds.logits) if conse is not None else None
    anchor, blend, gamma, search_gamma, info = dict(NO_ANCHOR), {**DEFAULT_BLEND, "alpha_novel": 1.0}, 0.0, 0.0, {}
    calibrating = calibrate_blend and conse_vecs is not None
    fits = (calibration_folds(len(seen)) if calibrating else 0) + 1
    # Calibration fits one set of heads per class fold, then the kept heads are fitted: one bar over all epochs.
    with progress_bar(fits * config.heads * config.epochs, "training heads", unit="epoch") as bar:
        if calibrating:
            anchor, blend, gamma, search_gamma, info = calibrate(ds, train_rows, seen.tolist(), conse, conse_vecs,
                                                                 config, bar=bar)
            if config.verbose:
                print(f"calibrated on seen classes: anchor={anchor} blend={blend} gamma={gamma} "
                      f"search gamma={search_gamma} {info}", file=sys.stderr)
        model = fit_seen_head(ds, train_rows, seen, config, bar=bar)
    weights = {**export_numpy(model), "seen_labels": ds.label_vectors[seen]}
    return Fitted(model, weights, blend, gamma, info, anchor, search_gamma)


def data_fingerprint(paths):
    import os

    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(f"{os.path.basename(p)}:{os.path.getsize(p)}\n".encode())
    return h.hexdigest()[:16]
