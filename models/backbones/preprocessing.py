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

Low-resolution photos are the exception: a photo whose short side is under
9/14 of the input size (144 px at 224) takes the full square, bilinear. Up
to 128 px the crop is upsampled at least twice and what it cuts away costs
more than the border it removes; from 160 px up the crop wins, as published.
On imagenet-probe-dev reduced to each short side (bench/low_res.py), top-1
of full square against crop: 0.242 / 0.212 at 32 px, 0.504 / 0.494 at 64,
0.732 / 0.706 at 128, 0.768 / 0.796 at 160 (docs/backbones.md, "Low-resolution
photos", has the table).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from devise.data.feature_cache import FULL_SQUARE_RECIPE_ID
from devise.data.images import draft_side, fit_crop, open_rgb
from devise.models.backbones.ensemble import FINGERPRINT_PREFIX, JOIN, member_names
from devise.models.backbones.names import input_size_of

CROP_PADDING = 32
# A photo whose short side is under this share of the input size keeps its full square (see above):
# 144 px at 224, between bench/low_res.py's 128 px (the full square wins) and 160 px (the crop wins).
LOW_RES_SHARE = 9 / 14
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
    thumbnail_side: int = 0  # low-resolution photos (a shorter short side) take the full square, bilinear

    def load(self, path) -> np.ndarray:
        """`path` as a size x size x 3 uint8 array; raises BadImageError for unreadable files."""
        # A reduced decode keeps at least draft_side >= size pixels, so it never turns a photo into a low-resolution one.
        img = open_rgb(path, draft_side(self.size, self.crop) if self.draft else None)
        if min(img.size) < self.thumbnail_side:
            return fit_crop(img, self.size)
        return fit_crop(img, self.size, crop=self.crop, resample=RESAMPLE[self.resample])

    def to_dict(self) -> dict:
        return asdict(self)


def full_square(size: int) -> Recipe:
    """The whole centre square, bilinear: devise's first recipe, whose cache files keep their old name."""
    return Recipe(FULL_SQUARE_RECIPE_ID, size, 1.0, "bilinear")


def published_crop(size: int) -> Recipe:
    """EfficientNet's evaluation recipe: size / (size + 32) of the short side, bicubic; low-resolution
    photos (short side under 9/14 of size) take the full square, bilinear."""
    crop, thumbnail_side = size / (size + CROP_PADDING), round(size * LOW_RES_SHARE)
    return Recipe(f"crop{round(crop * 1000)}-bicubic-thumb{thumbnail_side}", size, crop, "bicubic",
                  thumbnail_side=thumbnail_side)


@dataclass(frozen=True)
class EnsembleRecipe:
    """An ensemble's pixels: each member's recipe applied to the same file, flattened and packed
    into one uint8 row (members take different sizes, and a batch must still stack)."""
    members: tuple

    @property
    def id(self) -> str:
        return JOIN.join([FINGERPRINT_PREFIX] + [m.id for m in self.members])

    def load(self, path) -> np.ndarray:
        # Each member decodes the file itself (about 1 ms, against tens for its model), so its pixels are
        # exactly those of its own recipe, and the members' cached rows can stand in for the ensemble's.
        return np.concatenate([m.load(path).reshape(-1) for m in self.members])

    def to_dict(self) -> dict:
        return {"id": self.id, "members": [m.to_dict() for m in self.members]}


def recipe_for_name(name: str, size: int):
    """The recipe of the backbone called `name` whose input side is `size` (an ensemble's members
    take their own sizes)."""
    members = member_names(name)
    if len(members) > 1:
        return EnsembleRecipe(tuple(recipe_for_name(m, input_size_of(m)) for m in members))
    return published_crop(size) if name in PUBLISHED_CROP else full_square(size)


def recipe_for(backbone):
    """The recipe a backbone's features and logits are computed with: by its members for a loaded
    ensemble, else looked up by its name."""
    members = getattr(backbone, "members", None)
    if members:
        return EnsembleRecipe(tuple(recipe_for(m) for m in members))
    return recipe_for_name(backbone.name, int(backbone.input_size))


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
