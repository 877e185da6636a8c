"""Fixtures for index and search tests: GloVe converted once per session, a NumPy-fitted model.

Imported by test_index.py and test_search.py (`from search_fixtures import ...`).
"""
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import COLOURS, make_image


@pytest.fixture(scope="session")
def glove_dir(tmp_path_factory):
    """The default GloVe in converted form, made once: converting it per test costs ~1.3 s each."""
    from devise.data import word_convert

    directory = tmp_path_factory.mktemp("glove") / "glove-6b-50d"
    directory.mkdir()
    word_convert.convert_default(directory, "glove-6b-50d")
    return directory


@pytest.fixture
def words_home(devise_home, glove_dir):
    from devise.data import words

    (devise_home / "words").mkdir(parents=True, exist_ok=True)
    os.symlink(glove_dir, devise_home / "words" / "glove-6b-50d")
    words.clear_cache()
    yield devise_home
    words.clear_cache()


@pytest.fixture
def run():
    """Invoke the CLI in-process; returns the click Result."""
    from devise.cli import cli

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def fit_model(out, folder, backbone, seed=0):
    """A head fitted by least squares in NumPy (no Keras): features -> the word vector of the image's colour.

    Hidden layer = identity (the fake features are >= 0, so ReLU keeps them);
    it stands in for a trained model in every way `model_store` checks.
    """
    from devise.data.folders import scan
    from devise.data.words import load_words
    from devise.models import model_store
    from devise.core.vectors import unit_rows
    from devise.models.embed import embed_paths

    wv = load_words()
    found = scan(folder)
    emb = embed_paths(found.paths, backbone, progress=False)
    classes = [found.classes[found.paths.index(p)] for p in emb.paths]
    targets = unit_rows(np.stack([wv.vector(c) for c in classes]))
    dim = emb.features.shape[1]
    design = np.hstack([emb.features, np.ones((len(emb.features), 1), np.float32)])
    rng = np.random.default_rng(seed)
    solution = np.linalg.lstsq(design, targets + rng.normal(0, 1e-3, targets.shape), rcond=None)[0]
    weights = {"w1": np.eye(dim, dtype=np.float32), "b1": np.zeros(dim, np.float32),
               "gamma": np.ones(dim, np.float32), "beta": np.zeros(dim, np.float32),
               "mean": np.zeros(dim, np.float32), "var": np.ones(dim, np.float32), "eps": np.float32(0.0),
               "w2": solution[:-1].astype(np.float32), "b2": solution[-1].astype(np.float32),
               "seen_labels": unit_rows(np.stack([wv.vector(c) for c in sorted(set(classes))]))}
    return model_store.save(out, None, weights, {"seen": sorted(set(classes))}, backbone=backbone.name,
                            words="glove-6b-50d", word_dim=wv.dim, alpha=1.0, gamma=0.0,
                            seen_phrases=sorted(set(classes)))


def add_images(folder, cls, count, start=0):
    rgb = COLOURS.get(cls, (150, 60, 200))
    return [make_image(folder / cls / f"{start + i:03d}.jpg", rgb, seed=900 + start + i) for i in range(count)]
