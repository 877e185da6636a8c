"""`devise demo`: a sample of each class by default, progress on stderr, a legend, a sheet marked right and wrong."""
import json
from pathlib import Path

from PIL import Image

from devise import demo as demo_module
from devise.data.sheet import FRAME


def test_demo_samples_each_class_explains_its_table_and_marks_its_sheet(colour_folder, fake_backbone, words_home, run,
                                                                         tmp_path):
    out = tmp_path / "demo"
    result = run("demo", colour_folder, "--epochs", "2", "--per-class", "4", "--out", out)
    assert result.exit_code == 0, result.output
    assert "4 images of each class" in result.stderr and "expect about" in result.stderr
    assert "training heads" in result.stderr  # the heads' epochs show progress
    assert result.stderr.count(str(colour_folder)) == 1 and str(colour_folder) not in result.stdout
    for term in ("ZSL", "GZSL unseen", "hit@k", "H ", "--splits 5"):
        assert term in result.stdout, term
    assert "24 images" in result.stdout  # 6 classes x 4
    summary = json.loads(run("demo", colour_folder, "--epochs", "2", "--per-class", "4", "--out", out, "--json").stdout)
    assert summary["images"] == 24 and summary["tags"]
    with Image.open(out / "held_out_tags.png") as sheet:
        corner = sheet.convert("RGB").getpixel((8 + FRAME // 2, 34 + FRAME // 2))  # the first tile's frame
    first = summary["tags"][0]
    right = first["tags"][0]["word"] == Path(first["image"]).parent.name  # colour folders are their own phrases
    assert corner == (demo_module.RIGHT if right else demo_module.WRONG)


def test_full_demo_uses_every_image(colour_folder, fake_backbone, words_home, run, tmp_path):
    summary = json.loads(run("demo", colour_folder, "--epochs", "1", "--full", "--out", tmp_path / "d", "--json").stdout)
    assert summary["images"] == 48


def test_expected_time_grows_with_images_and_falls_with_the_cache():
    assert demo_module.expected_seconds(2000) > demo_module.expected_seconds(500)
    assert demo_module.expected_seconds(2000, n_cached=2000) < demo_module.expected_seconds(2000)
