"""`--backbone` for ConSE indexes and tags: recorded, kept on update, changed only with --rebuild."""
import json

from helpers import fit_model


def manifest(home, name="colours"):
    live = home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()
    return json.loads((live / "manifest.json").read_text())


def test_a_conse_index_keeps_its_backbone_until_rebuilt(words_home, colour_folder, backbone_calls, run):
    result = run("index", colour_folder, "--backbone", "EfficientNet_Lite2", "--json")
    assert result.exit_code == 0, result.output
    assert set(backbone_calls) == {"efficientnet-lite2"} and manifest(words_home)["backbone"] == "efficientnet-lite2"

    (colour_folder / "red" / "001.jpg").rename(colour_folder / "red" / "renamed.jpg")
    assert run("index", colour_folder).exit_code == 0  # an update: the index's backbone, not the default
    assert backbone_calls[-1] == "efficientnet-lite2" and manifest(words_home)["backbone"] == "efficientnet-lite2"

    result = run("tag", colour_folder / "red" / "000.jpg", "--index", "colours", "--top", 2)
    assert result.exit_code == 0 and backbone_calls[-1] == "efficientnet-lite2"

    result = run("index", colour_folder, "--backbone", "efficientnet-lite0")
    assert result.exit_code == 1
    assert "built on backbone efficientnet-lite2, not efficientnet-lite0" in result.stderr and "--rebuild" in result.stderr
    assert manifest(words_home)["backbone"] == "efficientnet-lite2"
    assert run("index", colour_folder, "--backbone", "efficientnet-lite0", "--rebuild").exit_code == 0
    assert manifest(words_home)["backbone"] == "efficientnet-lite0"


def test_unknown_backbones_and_a_models_other_backbone_are_one_line_errors(words_home, colour_folder, backbone_calls, run,
                                                                           tmp_path, fake_backbone):
    for bad in ("lite9", "efficientnet-lite0+efficientnet-lite0"):
        result = run("index", colour_folder, "--backbone", bad)
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
        assert "backbone" in result.stderr and "Traceback" not in result.output
    assert backbone_calls == []  # refused before anything was embedded

    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    for command in (("index", colour_folder), ("tag", colour_folder / "red" / "000.jpg")):
        result = run(*command, "--model", model, "--backbone", "efficientnet-lite2")
        assert result.exit_code == 1 and "not efficientnet-lite2" in result.stderr, result.output
