"""Commands of the trainer issue through CliRunner: exit codes, one-line errors, output channels."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from devise.cli import cli

from helpers import CALTECH, make_image, needs_caltech

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_help_is_fast_and_imports_no_tensorflow():
    code = ("import sys; from click.testing import CliRunner; from cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_tag_goes_on_past_bad_files(tmp_path, fake_backbone):
    good = make_image(tmp_path / "red.jpg", (220, 30, 30))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    result = run("tag", good, bad, "--labels", "red,green,blue", "--json", "--top", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["image"] for d in data["images"]] == [str(good.resolve())]
    assert len(data["images"][0]["tags"]) == 2 and {"word", "score", "cosine"} <= set(data["images"][0]["tags"][0])
    assert [s["path"] for s in data["skipped"]] == [str(bad.resolve())]
    assert "bad.jpg" in result.stderr


def test_tag_takes_a_folder_with_spaces_in_its_name(tmp_path, fake_backbone):
    trip = tmp_path / "2019" / "summer trip"
    red, blue = make_image(trip / "red.jpg", (220, 30, 30)), make_image(trip / "day 2" / "blue.jpg", (30, 30, 220))
    alone = make_image(tmp_path / "green.jpg", (30, 220, 30))
    result = run("tag", trip, alone, "--labels", "red,green,blue", "--json", "--top", "1")
    assert result.exit_code == 0, result.output
    tagged = [d["image"] for d in json.loads(result.stdout)["images"] if len(d["tags"]) == 1]
    assert tagged == [str(red.resolve()), str(blue.resolve()), str(alone.resolve())]


def test_tag_only_bad_files_fails_with_one_line(tmp_path, fake_backbone):
    tiny = tmp_path / "tiny.png"
    make_image(tiny, (1, 1, 1), size=(1, 1))
    result = run("tag", tiny)
    assert result.exit_code == 1
    assert "could be read" in result.stderr and "Traceback" not in result.output


def test_train_unknown_words_path(tmp_path, colour_folder, fake_backbone):
    result = run("train", colour_folder, "--words", tmp_path / "nope.txt", "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert "nope.txt" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_train_flat_folder_is_a_clear_error(tmp_path, fake_backbone):
    make_image(tmp_path / "flat" / "a.jpg", (1, 2, 3))
    result = run("train", tmp_path / "flat", "--out", tmp_path / "m")
    assert result.exit_code == 1 and "subfolder per class" in result.stderr


def test_train_unknown_holdout_class(tmp_path, colour_folder, fake_backbone):
    result = run("train", colour_folder, "--holdout-classes", "purple", "--out", tmp_path / "m")
    assert result.exit_code == 1 and "purple" in result.stderr


def test_train_then_evaluate_json(tmp_path, colour_folder, fake_backbone):
    out = tmp_path / "m"
    result = run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "3", "--heads", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert "seen-class folds: ZSL hit@1 " in result.stdout
    result = run("evaluate", colour_folder, "--model", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    # What calibration chose by, as train printed it; held-out classes play no part in it.
    folds = report["runs"][0]["folds"]
    assert set(folds) == {"zsl_hit1", "gzsl_h"} and all(0.0 <= v <= 1.0 for v in folds.values())
    manifest = json.loads((out / "manifest.json").read_text())
    assert folds["zsl_hit1"] == manifest["calibration"]["inner_zsl_hit1"]
    table = run("evaluate", colour_folder, "--model", out)
    assert f"seen-class folds ZSL + H [{round(folds['zsl_hit1'] + folds['gzsl_h'], 3)}]" in table.stdout
    for key in ("zsl", "gzsl_unseen", "gzsl_seen"):
        assert "hit@1" in report[key] and "hit@5" in report[key]
        assert "hit@1" in report["baselines"]["conse"][key]
    assert "gzsl_h" in report and "gzsl_h" in report["baselines"]["conse"]
    # The same head as the novelty calibration would have set it, from the same folds.
    assert "gzsl_h" in report["baselines"]["calibration=novelty"]
    assert {"gamma", "anchor", "blend"} <= set(report["runs"][0]["alternatives"]["novelty"])


def test_classify_real_weights_sees_cat_and_espresso():
    skimage = pytest.importorskip("skimage")
    data = Path(skimage.__file__).parent / "data"
    result = run("classify", data / "chelsea.png", data / "coffee.png", "--top", "3", "--json")
    assert result.exit_code == 0, result.output
    chelsea, coffee = json.loads(result.stdout)["images"]
    assert {"tiger cat", "Egyptian cat", "tabby"} & {x["label"] for x in chelsea["labels"]}
    assert coffee["labels"][0]["label"] == "espresso" and coffee["labels"][0]["prob"] > 0.8


@needs_caltech()
def test_caltech_quirks_and_real_end_to_end(tmp_path):
    import devise
    from devise.data.folders import scan

    background = scan(CALTECH / "BACKGROUND_Google", warn=False)
    assert any(p.endswith("tmp") for p, _ in background.skipped)
    subset = tmp_path / "caltech"
    for cls in ("airplanes", "dalmatian", "pizza", "umbrella", "cup"):
        for src in sorted((CALTECH / cls).iterdir())[:10]:
            (subset / cls).mkdir(parents=True, exist_ok=True)
            (subset / cls / src.name).symlink_to(src)
    devise.train(subset, out=tmp_path / "m", holdout_classes=["pizza", "umbrella"], epochs=5)
    report = devise.evaluate(subset, model=tmp_path / "m")
    # Two held-out classes that ImageNet knows well: zero-shot must beat chance (0.5) clearly.
    assert report.zsl["hit@1"] >= 0.8
    assert report.baselines["conse"]["zsl"]["hit@1"] >= 0.8


def test_train_and_evaluate_take_the_calibration(tmp_path, colour_folder, fake_backbone):
    out = tmp_path / "m"
    result = run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "2", "--heads", "1", "--out", out,
                 "--calibration", "novelty", "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["calibration"]["calibration"] == "novelty"
    assert set(manifest["calibration"]["alternatives"]) == {"h"}
    result = run("train", colour_folder, "--out", tmp_path / "m2", "--calibration", "best")
    assert result.exit_code == 2 and "best" in result.stderr


def test_evaluate_refuses_a_backbone_the_model_was_not_built_on(tmp_path, colour_folder, fake_backbone):
    out = tmp_path / "m"
    assert run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "2", "--heads", "1",
               "--out", out).exit_code == 0
    result = run("evaluate", colour_folder, "--model", out, "--backbone", "efficientnet-lite2")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "efficientnet-lite2" in result.stderr and "--backbone" in result.stderr
    assert run("evaluate", colour_folder, "--model", out, "--backbone", "fake", "--json").exit_code == 0


def test_evaluate_takes_the_words_a_model_was_built_on_by_file(tmp_path, colour_folder, fake_backbone, glove_dir):
    """--words names a file; the manifest records its converted name: the same vectors are no mismatch."""
    import shutil

    words = tmp_path / "colours.txt"
    words.write_text("".join(f"{w} {' '.join(str((i + j) % 5 - 2) for j in range(8))}\n"
                             for i, w in enumerate(["red", "green", "blue", "yellow", "white", "black", "cat"])))
    out = tmp_path / "m"
    assert run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "2", "--heads", "1", "--out", out,
               "--words", words).exit_code == 0
    assert run("evaluate", colour_folder, "--model", out, "--words", words, "--json").exit_code == 0
    shutil.copy(words, tmp_path / "other.txt")
    result = run("evaluate", colour_folder, "--model", out, "--words", tmp_path / "other.txt")
    assert result.exit_code == 1 and "--words" in result.stderr
