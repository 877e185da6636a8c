"""An ensemble of backbones, named ``A+B``: each member sees the image its own way, their
features stand side by side and their ImageNet logits are averaged.

Why: two ImageNet classifiers agree more often on the right class than either alone
(averaged logits are a geometric mean of their softmaxes), and every ConSE vector rests on
those logits; the head sees both feature sets. The cost is the members' time added up.

An ensemble is a backbone like any other: one recipe (its members' recipes, their pixels
packed into one flat uint8 row so a batch still stacks), one fingerprint, one feature cache.
Where every member already has an image in its own cache, the ensemble joins those rows
instead of running the models again (models.embed.joined_from_members).
"""
from __future__ import annotations

import numpy as np

from devise.core.errors import BackboneError

SEPARATOR = "+"
# Keeps fingerprints to [a-z0-9_-]: the feature cache uses them as file names.
FINGERPRINT_PREFIX = "ensemble"
JOIN = "__"


def member_names(name: str) -> list[str]:
    """The member names of an ensemble name (``"a+b"`` -> ``["a", "b"]``); ``[name]`` for a single backbone."""
    parts = [p.strip() for p in str(name).split(SEPARATOR)]
    if len(parts) == 1:
        return parts
    if any(not p for p in parts) or len(set(parts)) != len(parts):
        raise BackboneError(f"backbone {name!r}: an ensemble names two or more different backbones joined "
                            f"by {SEPARATOR!r}, e.g. efficientnet-lite0{SEPARATOR}efficientnet-lite2.")
    return parts


class EnsembleBackbone:
    """Members run one after another on their own pixels; features concatenated, logits averaged."""

    def __init__(self, members):
        self.members = list(members)
        self.name = SEPARATOR.join(m.name for m in self.members)
        self.fingerprint = JOIN.join([FINGERPRINT_PREFIX] + [m.fingerprint for m in self.members])
        self.feature_dim = sum(int(m.feature_dim) for m in self.members)
        self.input_size = max(int(m.input_size) for m in self.members)
        self.batch_size = min(int(getattr(m, "batch_size", 64)) for m in self.members)
        self.runtime = SEPARATOR.join(sorted({str(getattr(m, "runtime", None)) for m in self.members}))
        self.pixel_counts = [int(m.input_size) ** 2 * 3 for m in self.members]

    def predict(self, packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[N, sum of S*S*3]`` uint8 rows, as the ensemble's recipe packs them -> features, logits."""
        packed = np.asarray(packed)
        if packed.ndim != 2 or packed.shape[1] != sum(self.pixel_counts):
            raise ValueError(f"{self.name} expects packed pixel rows [N, {sum(self.pixel_counts)}], got {packed.shape}")
        feats, logits, start = [], [], 0
        for member, count in zip(self.members, self.pixel_counts):
            side = int(member.input_size)
            f, lg = member.predict(packed[:, start:start + count].reshape(len(packed), side, side, 3))
            feats.append(np.asarray(f, np.float32))
            logits.append(np.asarray(lg, np.float32))
            start += count
        return np.concatenate(feats, axis=1), np.mean(logits, axis=0)

    def __repr__(self) -> str:
        return f"EnsembleBackbone({self.name!r}, feature_dim={self.feature_dim})"
