"""How far calibration could go: CIFAR-10 GZSL with every knob chosen on the test set itself.

    python bench/zero_shot_ceiling.py          # ~10 min on 2 cores, features cached

The head is trained as `devise train` trains it on the Socher split (all
training images of the eight seen classes, seed 0). Then, for every label
anchor, gated blend and gamma of the calibration grid
(train/trainer.py), the test set is scored. The best of those is what a
perfect calibration would pick: an upper bound on what choosing knobs
from seen classes can reach with these features and word vectors, not a
result (it looks at the held-out classes' test images).
"""
import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from common import DEFAULT_DATA_ROOT

HELD_OUT = ("cat", "truck")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    args = ap.parse_args()
    root = Path(args.data_root) / "cifar10"
    if not root.is_dir():
        sys.exit(f"{root}: not found; pass --data-root DIR holding cifar10/")

    from devise.models.conse import ANCHOR_K, anchored_labels
    from devise.models.head import apply_numpy, export_numpy, gated_blend
    from devise.train import metrics, trainer
    from devise.train.config import TrainConfig
    from devise.train.dataset import load_dataset
    from devise.train.run import conse_for

    start = time.perf_counter()
    train, test = load_dataset(root / "train"), load_dataset(root / "test")
    seen = train.class_rows([c for c in train.class_names if c not in HELD_OUT])
    rows = np.flatnonzero(np.isin(train.y, seen))
    config = TrainConfig(holdout_classes=HELD_OUT)
    head = trainer.fit_head(train.features[rows], trainer._local(train.y[rows], seen.tolist()),
                            train.label_vectors[seen], config)
    conse = conse_for(train)
    head_vecs, conse_vecs = apply_numpy(export_numpy(head), test.features), conse.project(test.logits)
    seen_mask = np.isin(np.arange(len(train.class_names)), seen)
    unseen_img = ~np.isin(test.y, seen)
    anchors = [(0.0, "all")] + [(t, "unseen") for t in trainer.ANCHOR_TAUS if t]
    best = {}
    for (tau_a, scope), tau, temp, a_seen, a_novel in itertools.product(
            anchors, trainer.TAUS, trainer.TEMPERATURES, trainer.ALPHA_SEEN, trainer.ALPHA_NOVEL):
        labels = anchored_labels(conse, train.label_vectors, {"tau": tau_a, "scope": scope, "k": ANCHOR_K}, seen_mask)
        blend = {"tau": tau, "temperature": temp, "alpha_seen": a_seen, "alpha_novel": a_novel}
        vecs = gated_blend(head_vecs, conse_vecs, train.label_vectors[seen], blend)
        for gamma in trainer.GAMMAS:
            m = metrics.zsl_gzsl(vecs[unseen_img], test.y[unseen_img], vecs[~unseen_img], test.y[~unseen_img],
                                 labels, seen_mask, gamma)
            row = (m["gzsl_h"], m["zsl"]["hit@1"], m["gzsl_unseen"]["hit@1"], m["gzsl_seen"]["hit@1"], float(gamma),
                   blend)
            if tau_a not in best or row[0] > best[tau_a][0]:
                best[tau_a] = row
            key = ("zsl", tau_a)
            if key not in best or row[1] > best[key][1]:
                best[key] = row
    print(f"CIFAR-10 Socher split, test set, best over the calibration grid ({time.perf_counter() - start:.0f} s); "
          f"an upper bound, not a result")
    print(f"{'label anchor tau':>16} {'best H':>7} {'unseen':>7} {'seen':>6} {'gamma':>6} {'best ZSL':>9}")
    for tau_a, _ in anchors:
        h, _, u, s, g, _ = best[tau_a]
        print(f"{tau_a:16.2f} {h:7.3f} {u:7.3f} {s:6.3f} {g:6.2f} {best[('zsl', tau_a)][1]:9.3f}")


if __name__ == "__main__":
    main()
