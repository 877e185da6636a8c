"""`train --heads K`: heads fitted from different seeds, averaged into one model."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from devise.core.errors import ModelError


def _random_head(feature_dim, word_dim, seed, name):
    from devise.models.head import build_head

    head = build_head(feature_dim, word_dim, hidden=16, seed=seed, name=name)
    rng = np.random.default_rng(seed)
    # Non-trivial batch-norm statistics, so the NumPy pass must apply them to agree.
    head.get_layer("bn").set_weights([rng.uniform(0.5, 1.5, 16).astype(np.float32),
                                      rng.normal(size=16).astype(np.float32),
                                      rng.normal(size=16).astype(np.float32),
                                      rng.uniform(0.5, 2.0, 16).astype(np.float32)])
    return head


def test_averaged_heads_in_numpy_match_keras():
    from devise.models.head import apply_numpy, average_heads, export_numpy

    features = np.random.default_rng(0).normal(size=(7, 12)).astype(np.float32)
    heads = [_random_head(12, 5, seed, f"devise_head_{seed}") for seed in range(3)]
    model = average_heads(heads)
    weights = export_numpy(model)
    assert weights["w1"].shape == (3, 12, 16) and weights["w2"].shape == (3, 16, 5)
    expected = np.asarray(model.predict(features, verbose=0))
    assert np.allclose(apply_numpy(weights, features), expected, atol=1e-5)
    singles = [apply_numpy(export_numpy(h), features) for h in heads]
    mean = np.mean(singles, axis=0)
    assert np.allclose(expected, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    # Averaging moved the output off every single head's.
    assert all(not np.allclose(expected, s, atol=1e-3) for s in singles)
    one = _random_head(12, 5, 9, "devise_head")
    assert average_heads([one]) is one and export_numpy(one)["w1"].shape == (12, 16)


def test_train_fits_three_heads_by_default_and_projects_their_mean(tmp_path, colour_folder, fake_backbone):
    import devise
    from devise.data.folders import scan
    from devise.models import model_store
    from devise.models.embed import embed_paths
    from devise.models.head import HEAD_ARRAYS, apply_numpy

    out = tmp_path / "model"
    devise.train(colour_folder, out=out, holdout_classes=["yellow"], epochs=2)  # three heads: the default
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["head"]["heads"] == 3
    model = model_store.load(out)
    assert model.weights["w1"].shape[0] == 3 and model.weights["w2"].shape[0] == 3
    # The seeds differ, so the three heads do too.
    assert not np.allclose(model.weights["w2"][0], model.weights["w2"][1])
    features = embed_paths(scan(colour_folder).paths[:4], progress=False).features
    projected = model.project(features)
    mean = np.mean([apply_numpy({k: model.weights[k][i] for k in HEAD_ARRAYS}, features) for i in range(3)], axis=0)
    assert np.allclose(projected, mean / np.linalg.norm(mean, axis=1, keepdims=True), atol=1e-5)
    # head.keras is the same averaged model, for users who load it with Keras.
    from devise.models.tensorflow_env import import_keras

    keras_model = import_keras().models.load_model(out / "head.keras", compile=False)
    assert np.allclose(np.asarray(keras_model.predict(features, verbose=0)), projected, atol=1e-5)


def test_one_head_is_recorded_and_kept_as_a_single_head(tmp_path, colour_folder, fake_backbone):
    import devise
    from devise.models import model_store

    devise.train(colour_folder, out=tmp_path / "m", holdout_classes=["yellow"], epochs=2, heads=1)
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["head"]["heads"] == 1
    assert model_store.load(tmp_path / "m").weights["w1"].ndim == 2


def test_a_head_file_that_disagrees_with_the_manifest_is_refused(tmp_path, colour_folder, fake_backbone):
    import devise
    from devise.models import model_store

    out = tmp_path / "m"
    devise.train(colour_folder, out=out, holdout_classes=["yellow"], epochs=2, heads=2)
    with np.load(out / "head.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    np.savez(out / "head.npz", **{k: (v[0] if k in ("w1", "w2") else v) for k, v in arrays.items()})
    with pytest.raises(ModelError, match=r"head\.npz.*not the 2 head\(s\) the manifest names"):
        model_store.load(out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["head"]["heads"] = "2"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"manifest\.json: head\.heads is '2', not a count of heads"):
        model_store.load(out)


def test_heads_out_of_range_is_a_usage_error(tmp_path, colour_folder):
    from devise.cli import cli
    from devise.core.errors import DataError
    from devise.train.config import MAX_HEADS, TrainConfig

    result = CliRunner().invoke(cli, ["train", str(colour_folder), "--out", str(tmp_path / "m"), "--heads", "0"])
    assert result.exit_code == 2 and "--heads" in result.output
    assert not (tmp_path / "m").exists()
    with pytest.raises(DataError, match="heads must be between 1 and"):
        TrainConfig(heads=MAX_HEADS + 1)
