"""`--backbone` for ConSE indexes and tags: recorded, kept on update, changed only with --rebuild."""
import json

import pytest

import devise.models.backbones as backbones

from helpers import fit_model


@pytest.fixture
def asked(fake_backbone, monkeypatch):
    """The backbone names embedding asked for (the fake answers them all)."""
    names = []

    def get_backbone(name=None):
        names.append(name)
        return fake_backbone

    monkeypatch.setattr(backbones, "get_backbone", get_backbone)
    return names


def manifest(home, name="colours"):
    live = home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()
    return json.loads((live / "manifest.json").read_text())


def test_a_conse_index_keeps_its_backbone_until_rebuilt(words_home, colour_folder, asked, run):
    result = run("index", colour_folder, "--backbone", "EfficientNet_Lite2", "--json")
    assert result.exit_code == 0, result.output
    assert set(asked) == {"efficientnet-lite2"} and manifest(words_home)["backbone"] == "efficientnet-lite2"

    (colour_folder / "red" / "001.jpg").rename(colour_folder / "red" / "renamed.jpg")
    assert run("index", colour_folder).exit_code == 0  # an update: the index's backbone, not the default
    assert asked[-1] == "efficientnet-lite2" and manifest(words_home)["backbone"] == "efficientnet-lite2"

    result = run("tag", colour_folder / "red" / "000.jpg", "--index", "colours", "--top", 2)
    assert result.exit_code == 0 and asked[-1] == "efficientnet-lite2"

    result = run("index", colour_folder, "--backbone", "efficientnet-lite0")
    assert result.exit_code == 1
    assert "built on backbone efficientnet-lite2, not efficientnet-lite0" in result.stderr and "--rebuild" in result.stderr
    assert manifest(words_home)["backbone"] == "efficientnet-lite2"
    assert run("index", colour_folder, "--backbone", "efficientnet-lite0", "--rebuild").exit_code == 0
    assert manifest(words_home)["backbone"] == "efficientnet-lite0"


def test_unknown_backbones_and_a_models_other_backbone_are_one_line_errors(words_home, colour_folder, asked, run,
                                                                           tmp_path, fake_backbone):
    for bad in ("lite9", "efficientnet-lite0+efficientnet-lite0"):
        result = run("index", colour_folder, "--backbone", bad)
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
        assert "backbone" in result.stderr and "Traceback" not in result.output
    assert asked == []  # refused before anything was embedded

    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    for command in (("index", colour_folder), ("tag", colour_folder / "red" / "000.jpg")):
        result = run(*command, "--model", model, "--backbone", "efficientnet-lite2")
        assert result.exit_code == 1 and "not efficientnet-lite2" in result.stderr, result.output
