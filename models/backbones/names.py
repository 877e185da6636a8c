"""Backbone names, known without loading a backbone: the lookup key and the input side."""
from __future__ import annotations

from devise.models.backbones.efficientnet_lite import VARIANTS
from devise.models.backbones.ensemble import member_names


def backbone_key(name: str) -> str:
    """The spelling backbones are looked up by: lower case, hyphens."""
    return str(name).strip().lower().replace("_", "-")


def input_size_of(name: str) -> int:
    """The named backbone's input side, known without loading it (the three keras.applications models take
    224; an ensemble, its largest member's)."""
    keys = member_names(backbone_key(name))
    return max(VARIANTS[key][2] if key in VARIANTS else 224 for key in keys)
