"""What the CNN itself sees: the backbone's own ImageNet labels for some images."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from devise.core.results import Listing, Result, Skipped, skipped
from devise.data.imagenet import class_names
from devise.models import backbones
from devise.models.conse import softmax
from devise.models.embed import embed_paths


@dataclass
class ImageNetLabel(Result):
    label: str
    index: int       # the ImageNet-1k class index
    prob: float


@dataclass
class ImageLabels(Result):
    image: str
    labels: list[ImageNetLabel]


@dataclass
class ClassifyResults(Listing):
    ITEMS = "images"

    backbone: str
    images: list[ImageLabels] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def classify(images: Sequence[str | Path], *, top: int = 5, backbone: str | None = None) -> ClassifyResults:
    """The backbone's `top` ImageNet classes for each image, most probable first."""
    bb = backbones.get_backbone(backbone or backbones.DEFAULT_BACKBONE)
    emb = embed_paths([str(p) for p in images], bb, progress=len(images) > 64)
    names = class_names()
    out = []
    for path, p in zip(emb.paths, softmax(emb.logits)):
        order = np.argsort(-p, kind="stable")[:top]
        out.append(ImageLabels(path, [ImageNetLabel(names[i], int(i), round(float(p[i]), 6)) for i in order]))
    return ClassifyResults(bb.name, out, skipped(emb.bad))
