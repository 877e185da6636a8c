"""Seeded class splits (seen / held-out) and per-class image test splits."""
import random
from dataclasses import asdict, dataclass

from devise.core.errors import DataError, option


@dataclass
class Split:
    seen: list            # class folder names the head trains on
    unseen: list          # class folder names held out entirely (zero-shot)
    train: list           # image paths of seen classes used for training
    test_seen: list       # image paths of seen classes kept for testing
    test_unseen: list     # image paths of held-out classes

    def to_json(self, root):
        from os.path import relpath

        data = asdict(self)
        for key in ("train", "test_seen", "test_unseen"):
            data[key] = [relpath(p, root) for p in data[key]]
        return data


def choose_classes(class_names, holdout=0.2, holdout_classes=None, seed=0):
    names = sorted(class_names)
    if holdout_classes:
        missing = [c for c in holdout_classes if c not in names]
        if missing:
            raise DataError(f"{option('holdout_classes')}: no class folder named {', '.join(missing)}; classes are: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}.")
        unseen = sorted(holdout_classes)
    else:
        if not 0 <= holdout < 1:
            raise DataError(f"{option('holdout')} must be in [0, 1), got {holdout}.")
        count = round(len(names) * holdout)
        if holdout > 0:
            count = max(1, count)
        unseen = sorted(random.Random(seed).sample(names, count))
    seen = [c for c in names if c not in unseen]
    if len(seen) < 2:
        raise DataError(f"only {len(seen)} seen class(es) left after holding out {len(unseen)}; hold out fewer.")
    return seen, unseen


def split_images(by_class, seen, unseen, test_fraction=0.2, seed=0):
    """Hold out `test_fraction` of each seen class's images (at least one when possible)."""
    rng = random.Random(seed + 7919)
    train, test_seen, test_unseen = [], [], []
    for cls in seen:
        paths = sorted(by_class[cls])
        rng.shuffle(paths)
        n_test = round(len(paths) * test_fraction) if test_fraction > 0 else 0
        if test_fraction > 0 and len(paths) > 1:
            n_test = max(1, n_test)
        test_seen += paths[:n_test]
        train += paths[n_test:]
    for cls in unseen:
        test_unseen += sorted(by_class[cls])
    return train, test_seen, test_unseen


def make_split(by_class, holdout=0.2, holdout_classes=None, seed=0, test_fraction=0.2) -> Split:
    seen, unseen = choose_classes(list(by_class), holdout, holdout_classes, seed)
    return Split(seen, unseen, *split_images(by_class, seen, unseen, test_fraction, seed))
