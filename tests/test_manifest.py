"""Typed manifests (core.manifest, core.index_manifest): a model's and an index's manifest.json parsed into ModelManifest and
IndexManifest in one place, checked on load, written back unchanged; manifests written before a field
existed still load."""
import json

import pytest

from devise.core.errors import IndexManifestError, ManifestError, ModelError, ModelManifestError, SearchIndexError
from devise.core.index_manifest import IndexManifest
from devise.core.manifest import METRIC, ModelManifest

from helpers import fit_model


def live_version(home, name="colours"):
    return home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()


@pytest.fixture
def built(words_home, colour_folder, fake_backbone, run):
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    return live_version(words_home)


@pytest.fixture
def model(tmp_path, colour_folder, fake_backbone):
    return fit_model(tmp_path / "model", colour_folder, fake_backbone, gamma=0.25)


def rewrite(folder, change):
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return data


def test_an_index_manifest_reads_into_typed_fields_and_writes_back_the_same_json(built, colour_folder, tmp_path):
    on_disk = json.loads((built / "manifest.json").read_text())
    typed = IndexManifest.read(built, name="colours")
    assert (typed.name, typed.model, typed.backbone, typed.words, typed.metric) == \
        ("colours", "conse", "fake", "glove-6b-50d", "angular")
    assert (typed.count, typed.word_dim, typed.feature_dim, typed.dim_of("features")) == (48, 50, 48, 48)
    assert typed.counts == on_disk["counts"] and typed.counts["items"] == 48
    assert typed.root == str(colour_folder) and typed.mode_of("words") == on_disk["search"]["mode"]
    assert typed.method == "auto" and typed.store == {"kind": "annoy"} and typed.extra == {}
    assert typed.to_dict() == on_disk
    typed.write(tmp_path)
    assert IndexManifest.read(tmp_path) == typed


def test_a_model_manifest_reads_into_typed_fields_and_writes_back_the_same_json(model, tmp_path):
    from devise.models import model_store

    on_disk = json.loads((model / "manifest.json").read_text())
    typed = ModelManifest.read(model)
    assert (typed.backbone, typed.words, typed.word_dim, typed.metric, typed.gamma) == \
        ("fake", "glove-6b-50d", 50, METRIC, 0.25)
    assert typed.seen_phrases == sorted(typed.seen_phrases) and "red" in typed.seen_phrases
    assert typed.extra == {"alpha": 1.0}  # a field this devise does not read is kept, not dropped
    assert typed.to_dict() == on_disk
    typed.write(tmp_path)
    assert ModelManifest.read(tmp_path) == typed
    assert model_store.load(model).manifest == typed


def test_a_backbone_mismatch_is_one_typed_line_naming_the_file_and_the_fix(model):
    from devise.models import model_store

    with pytest.raises(ModelManifestError) as caught:
        model_store.load(model, backbone="efficientnet-lite2")
    message = str(caught.value)
    assert isinstance(caught.value, ModelError) and isinstance(caught.value, ManifestError)
    assert "\n" not in message and message.startswith(f"{model}/manifest.json: built with backbone 'fake'")
    assert "backbone='fake'" in message and "train the model again with backbone='efficientnet-lite2'" in message


@pytest.mark.parametrize("change, expected", [
    (lambda d: d.pop("backbone"), "backbone missing or damaged"),
    (lambda d: d.update(count="48"), "count missing or damaged"),
    (lambda d: d.update(counts={"items": "48"}), "counts missing or damaged"),
    (lambda d: d.update(metric="euclidean"), "metric 'euclidean'"),
    (lambda d: d.update(kind="model"), "this is a devise model, not an index; point at a devise index"),
    (lambda d: d.update(format_version=2), "format version 2"),
])
def test_a_damaged_index_manifest_is_one_typed_line(built, change, expected):
    from devise.index.store import open_index

    rewrite(built, change)
    with pytest.raises(IndexManifestError, match=expected) as caught:
        open_index("colours")
    assert isinstance(caught.value, SearchIndexError) and "\n" not in str(caught.value)
    fix = "re-index it with `devise index" if "point at" not in expected else "point at"
    assert str(caught.value).startswith(f"{built}/manifest.json: ") and fix in str(caught.value)


def test_a_damaged_model_manifest_is_one_typed_line(model):
    from devise.models import model_store

    rewrite(model, lambda d: d.update(word_dim=50.0))
    with pytest.raises(ModelManifestError, match=r"manifest\.json: word_dim missing or damaged; train the model again"):
        model_store.load(model)


def test_an_index_written_before_the_newer_fields_still_loads_and_searches(built, run):
    """Format version 1 before fingerprints, stores, noise profiles, seen margins and creation times."""
    from devise.index.store import open_index

    old = rewrite(built, lambda d: [d.pop(k) for k in ("created", "model_fingerprint", "backbone_fingerprint",
                                                       "store", "seen_margin", "noise") if k in d])
    idx = open_index("colours")
    assert idx.manifest.backbone_fingerprint is None and idx.manifest.seen_margin is None
    assert idx.store_kind == "annoy" and len(idx) == 48
    assert idx.manifest.to_dict() == {**old, "created": None, "model_fingerprint": None, "backbone_fingerprint": None,
                                      "store": None, "seen_margin": None, "noise": None}
    result = run("search", "red", "--json", "--top", 3)
    assert result.exit_code == 0, result.output


def test_a_model_written_before_the_newer_fields_still_loads(model, tmp_path):
    """A format version 1 model from before the metric, label anchoring, search's own gamma and calibration."""
    from devise.models import model_store

    rewrite(model, lambda d: [d.pop(k) for k in ("metric", "label_anchor", "search_gamma", "calibration", "counts")
                              if k in d])
    loaded = model_store.load(model)
    assert loaded.manifest.metric == METRIC and loaded.anchor == {"tau": 0.0}
    assert loaded.search_gamma == loaded.gamma == 0.25 and loaded.recalibrated("h") is None
