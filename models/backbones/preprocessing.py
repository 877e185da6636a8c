"""How each backbone wants its pixels: crop, resample filter and size, as a recipe.

A recipe turns a path into the uint8 array the backbone's `predict` takes.
Its `id` names those pixels in the feature cache's file name, so features
made one way are never read back as another's: any change to what a recipe
produces needs a new id.

EfficientNet-Lite is evaluated the published way (Tan and Le's
`preprocessing.py`, `crop_padding=32`): the centre square of
size / (size + 32) of the short side, resized bicubically, i.e. 87.5% at
224 px, 88.2% at 240 and 89.0% at 260. Every other backbone keeps the full
centre square, resized bilinearly.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from devise.data.feature_cache import FULL_SQUARE_RECIPE_ID
from devise.data.images import load_crop

CROP_PADDING = 32
RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
# The backbones whose checkpoints were evaluated with the published crop.
PUBLISHED_CROP = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


@dataclass(frozen=True)
class Recipe:
    id: str          # names these pixels in cache keys
    size: int        # the model's input side
    crop: float      # the centre square's side as a share of the image's short side
    resample: str    # a key of RESAMPLE
    draft: bool = True  # decode JPEGs reduced (never below what the crop needs)

    def load(self, path) -> np.ndarray:
        """`path` as a size x size x 3 uint8 array; raises BadImageError for unreadable files."""
        return load_crop(path, self.size, crop=self.crop, resample=RESAMPLE[self.resample], draft=self.draft)

    def to_dict(self) -> dict:
        return asdict(self)


def full_square(size: int) -> Recipe:
    """The whole centre square, bilinear: devise's first recipe, whose cache files keep their old name."""
    return Recipe(FULL_SQUARE_RECIPE_ID, size, 1.0, "bilinear")


def published_crop(size: int) -> Recipe:
    """EfficientNet's evaluation recipe: size / (size + 32) of the short side, bicubic."""
    crop = size / (size + CROP_PADDING)
    return Recipe(f"crop{round(crop * 1000)}-bicubic", size, crop, "bicubic")


def recipe_for(backbone) -> Recipe:
    """The recipe a backbone's features and logits are computed with, looked up by its name."""
    size = int(backbone.input_size)
    return published_crop(size) if backbone.name in PUBLISHED_CROP else full_square(size)


def load_input(path, backbone) -> np.ndarray:
    """`path` as the array `backbone.predict` expects, by the backbone's recipe."""
    return recipe_for(backbone).load(path)


def embedding_fingerprint(backbone) -> str:
    """What an index's vectors depend on: the weights' fingerprint, plus the recipe's id.

    The full square adds nothing, so indexes built before recipes had ids are still reused.
    """
    recipe = recipe_for(backbone)
    return backbone.fingerprint if recipe.id == FULL_SQUARE_RECIPE_ID else f"{backbone.fingerprint}-{recipe.id}"


def weights_fingerprint(backbone, embedding_fp: str) -> str:
    """The weights' fingerprint inside an `embedding_fingerprint` of `backbone` (its inverse)."""
    recipe = recipe_for(backbone)
    return embedding_fp if recipe.id == FULL_SQUARE_RECIPE_ID else embedding_fp.removesuffix(f"-{recipe.id}")
