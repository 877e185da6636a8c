"""How far calibration could go: GZSL with every knob chosen on the test set itself.

    python bench/zero_shot_ceiling.py --dataset cifar10      # ~5 min on 2 cores, features cached
    python bench/zero_shot_ceiling.py --dataset caltech101   # 5 splits, ~5 min

The head is trained as `devise train` trains it (trainer.fit_seen_head):
on the Socher split for CIFAR-10 (all training images of the eight seen
classes), on the seeded 20% class splits of bench/zero_shot.py for
Caltech-101. Then, for every label anchor, gated blend and gamma of the
calibration grid (train/trainer.py), the test set is scored. The best of
those is what a perfect calibration would pick: an upper bound on what
choosing knobs from seen classes can reach with these features and word
vectors, not a result (it looks at the held-out classes' test images).
"""
import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from results_doc import add_doc_option, publish

from devise.train.config import DEFAULT_HEADS

from common import DEFAULT_DATA_ROOT, ROOT

CIFAR_HELD_OUT = ("cat", "truck")


def splits(dataset, root, count):
    """[(training Dataset, test Dataset, seen class rows, training rows, test rows)] per split, drawn by
    make_split exactly as `devise train` / `devise evaluate` draw them."""
    from devise.train.dataset import load_dataset
    from devise.train.splits import make_split

    if dataset == "cifar10":
        train, test = load_dataset(root / "train"), load_dataset(root / "test")
        split = make_split(train.paths_by_class(), 0.0, CIFAR_HELD_OUT, 0, 0.0)
        return [(train, test, train.class_rows(split.seen), train.rows_of(split.train), np.arange(len(test.y)))]
    ds = load_dataset(root, ("BACKGROUND_Google", "Faces_easy"), ROOT / "data" / "label_maps" / "caltech101.txt")
    out = []
    for seed in range(count):
        split = make_split(ds.paths_by_class(), 0.2, None, seed, 0.2)
        out.append((ds, ds, ds.class_rows(split.seen), ds.rows_of(split.train),
                    ds.rows_of(split.test_seen + split.test_unseen)))
    return out


def ceiling(train, test, seen, train_rows, test_rows, seed, heads):
    """{label anchor tau: (best H, its unseen, seen, gamma), ("zsl", tau): best ZSL} on one split."""
    from devise.models.conse import ANCHOR_K, anchored_labels
    from devise.models.head import apply_numpy, export_numpy, gated_blend
    from devise.train import metrics, trainer
    from devise.train.config import TrainConfig
    from devise.train.run import conse_for

    head = trainer.fit_seen_head(train, train_rows, seen, TrainConfig(seed=seed, heads=heads))
    conse = conse_for(train)
    head_vecs = apply_numpy(export_numpy(head), test.features[test_rows])
    conse_vecs = conse.project(test.logits[test_rows])
    classes = np.unique(np.concatenate([seen, test.y[test_rows]]))
    local = {c: i for i, c in enumerate(classes)}
    y = np.array([local[c] for c in test.y[test_rows]])
    seen_mask = np.isin(classes, seen)
    unseen_img = ~seen_mask[y]
    raw = train.label_vectors[classes]
    best = {}
    for tau_a in (0.0,) + tuple(t for t in trainer.ANCHOR_TAUS if t):
        scope = "all" if not tau_a else "unseen"
        labels = anchored_labels(conse, raw, {"tau": tau_a, "scope": scope, "k": ANCHOR_K}, seen_mask)
        for tau, temp, a_seen, a_novel in itertools.product(trainer.TAUS, trainer.TEMPERATURES, trainer.ALPHA_SEEN,
                                                            trainer.ALPHA_NOVEL):
            blend = {"tau": tau, "temperature": temp, "alpha_seen": a_seen, "alpha_novel": a_novel}
            vecs = gated_blend(head_vecs, conse_vecs, train.label_vectors[seen], blend)
            for gamma in trainer.GAMMAS:
                m = metrics.zsl_gzsl(vecs[unseen_img], y[unseen_img], vecs[~unseen_img], y[~unseen_img], labels,
                                     seen_mask, gamma)
                row = (m["gzsl_h"], m["gzsl_unseen"]["hit@1"], m["gzsl_seen"]["hit@1"], float(gamma))
                if tau_a not in best or row[0] > best[tau_a][0]:
                    best[tau_a] = row
                best[("zsl", tau_a)] = max(best.get(("zsl", tau_a), 0.0), m["zsl"]["hit@1"])
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=["caltech101", "cifar10"], required=True)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--splits", type=int, default=5, help="Caltech-101 class splits (seeds 0, 1, ...)")
    ap.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="heads averaged in the model (devise train --heads)")
    add_doc_option(ap)
    args = ap.parse_args()
    root = Path(args.data_root) / args.dataset
    if not root.is_dir():
        sys.exit(f"{root}: not found; pass --data-root DIR holding {args.dataset}/")
    start = time.perf_counter()
    results = [ceiling(*split, seed=i, heads=args.heads) for i, split in enumerate(splits(args.dataset, root, args.splits))]
    lines = [f"{args.dataset}, {len(results)} split(s), {args.heads} head(s), test set, best over the calibration grid per split "
             f"({time.perf_counter() - start:.0f} s); an upper bound, not a result",
             f"{'label anchor tau':>16} {'best H':>7} {'unseen':>7} {'seen':>6} {'gamma per split':>24} {'best ZSL':>9}"]
    for tau_a in [k for k in results[0] if not isinstance(k, tuple)]:
        h, u, s = (np.mean([r[tau_a][i] for r in results]) for i in range(3))
        gammas = "/".join(f"{r[tau_a][3]:.2f}" for r in results)
        zsl = np.mean([r[("zsl", tau_a)] for r in results])
        lines.append(f"{tau_a:16.2f} {h:7.3f} {u:7.3f} {s:6.3f} {gammas:>24} {zsl:9.3f}")
    splits_part = [f"splits {len(results)}"] if args.dataset == "caltech101" else []  # CIFAR-10 has the one Socher split
    publish(" ".join(["zero-shot-ceiling", args.dataset, *splits_part, f"heads {args.heads}"]), "\n".join(lines),
            doc=not args.no_doc)


if __name__ == "__main__":
    main()
