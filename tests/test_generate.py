"""`generate` on a tiny random-weight pipeline built from configs (nothing downloaded).

Pipeline tests skip without torch/diffusers; the input-checking tests still run.
"""
import importlib.util
import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from devise.cli import cli
from devise.core.errors import GenerateError
from devise.generation import generate as gen
from devise.generation import output_folder
from devise.generation import plan as plan

from helpers import FAST, SIZE


def pixels(path):
    return np.asarray(Image.open(path).convert("RGB"))


def read_metadata(out):
    return {e["file"]: e for e in map(json.loads, (out / "metadata.jsonl").read_text().splitlines())}


def test_layout_metadata_and_size(tiny_model, tmp_path):
    out = tmp_path / "gen"
    summary = gen.generate(["hot dog", "cat"], out=out, per_class=2, model=str(tiny_model), batch_size=3, **FAST)
    assert (summary.generated, summary.skipped, summary.blank, summary.retried) == (4, 0, 0, 0)
    assert summary.images_per_minute > 0 and summary.device == "cpu"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["cat/0000.png", "cat/0001.png", "hot_dog/0000.png", "hot_dog/0001.png", "metadata.jsonl"]
    meta = read_metadata(out)
    assert sorted(meta) == files[:-1]
    entry = meta["hot_dog/0001.png"]
    assert entry["class"] == "hot dog" and entry["prompt"] == "a photo of a hot dog"
    assert (entry["seed"], entry["blank"], entry["attempt"]) == (plan.image_seed(0, "hot dog", 1), False, 0)
    assert (entry["model"], entry["steps"], entry["guidance"], entry["size"]) == (str(tiny_model), 2, 0.0, SIZE)
    for name in files[:-1]:
        with Image.open(out / name) as img:
            img.load()
            assert img.size == (SIZE, SIZE)
            assert json.loads(img.text[output_folder.PNG_KEY]) == meta[name]  # each PNG carries its entry
    assert len({pixels(out / f).tobytes() for f in files[:-1]}) == 4  # different seeds, different images


def test_same_seed_same_image(tiny_pipe, tmp_path):
    runs = [gen.generate("sofa", out=tmp_path / name, per_class=2, seed=seed, pipeline=tiny_pipe, **FAST)
            for name, seed in (("a", 7), ("b", 7), ("c", 8))]
    assert all(r.generated == 2 for r in runs)
    for f in ("sofa/0000.png", "sofa/0001.png"):
        assert np.array_equal(pixels(tmp_path / "a" / f), pixels(tmp_path / "b" / f))
        assert not np.array_equal(pixels(tmp_path / "a" / f), pixels(tmp_path / "c" / f))


def test_resume_skips_finished_and_redoes_truncated(tiny_pipe, tmp_path, capsys):
    out = tmp_path / "gen"
    args = dict(per_class=3, pipeline=tiny_pipe, batch_size=1, **FAST)
    gen.generate(["cat"], out=out, **args)
    before = {f: pixels(out / f) for f in read_metadata(out)}
    mtimes = {f: (out / f).stat().st_mtime_ns for f in before}

    again = gen.generate(["cat"], out=out, **args)
    assert (again.generated, again.skipped) == (0, 3)
    assert {f: (out / f).stat().st_mtime_ns for f in before} == mtimes

    victim, clipped = out / "cat/0001.png", out / "cat/0002.png"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    clipped.write_bytes(clipped.read_bytes()[:-6])  # decodes, but lost its IEND chunk
    (out / "metadata.jsonl").unlink()  # lost too: rebuilt from the PNG text chunks
    fixed = gen.generate(["cat"], out=out, **args)
    assert (fixed.generated, fixed.redone, fixed.skipped) == (2, 2, 1)
    assert "cat/0001.png is incomplete" in capsys.readouterr().err
    # Regenerated alone from their (class, index) seeds: the same pictures as before.
    assert np.array_equal(pixels(victim), before["cat/0001.png"])
    assert np.array_equal(pixels(clipped), before["cat/0002.png"])
    assert sorted(read_metadata(out)) == sorted(before)
    assert not [p for p in out.rglob(".*")]  # no temp files left behind


class BlankingPipeline:
    """Plays a safety checker on `blank_seeds`; with flag=False only the black pixels tell."""

    def __init__(self, pipe, blank_seeds, flag=True):
        self.pipe, self.blank_seeds, self.flag = pipe, set(blank_seeds), flag
        self.device, self.dtype = pipe.device, pipe.dtype

    def __call__(self, **kwargs):
        result = self.pipe(**kwargs)
        hit = [g.initial_seed() in self.blank_seeds for g in kwargs["generator"]]
        images = [Image.new("RGB", im.size) if h else im for im, h in zip(result.images, hit)]
        return SimpleNamespace(images=images, nsfw_content_detected=hit if self.flag else None)


@pytest.mark.parametrize("flag", [True, False])
def test_blank_images_flagged_then_retried(tiny_pipe, tmp_path, flag):
    out, first_try = tmp_path / "gen", [plan.image_seed(0, "cat", i, attempt=0) for i in (0, 2)]
    fake = BlankingPipeline(tiny_pipe, first_try, flag=flag)

    flagged = gen.generate(["cat"], out=out, per_class=3, pipeline=fake, **FAST)
    assert (flagged.generated, flagged.blank, flagged.retried) == (3, 2, 0)
    meta = read_metadata(out)
    assert [meta[f"cat/000{i}.png"]["blank"] for i in range(3)] == [True, False, True]

    # A later run with --retry-blank picks up the blanks with new seeds and keeps the rest.
    retried = gen.generate(["cat"], out=out, per_class=3, pipeline=fake, retry_blank=2, **FAST)
    assert (retried.generated, retried.redone, retried.skipped, retried.blank) == (2, 2, 1, 0)
    meta = read_metadata(out)
    for i in (0, 2):
        entry = meta[f"cat/000{i}.png"]
        assert entry["blank"] is False and entry["attempt"] == 1
        assert entry["seed"] == plan.image_seed(0, "cat", i, attempt=1) != first_try[i // 2]
        assert pixels(out / entry["file"]).any()


def test_retry_blank_in_one_run(tiny_pipe, tmp_path):
    # Blank on the first two attempts of cat/0000: --retry-blank 1 gives up, 2 succeeds.
    seeds = [plan.image_seed(0, "cat", 0, attempt=a) for a in (0, 1)]
    fake = BlankingPipeline(tiny_pipe, seeds)
    short = gen.generate(["cat"], out=tmp_path / "a", per_class=2, pipeline=fake, retry_blank=1, **FAST)
    assert (short.generated, short.retried, short.blank) == (2, 1, 1)
    assert read_metadata(tmp_path / "a")["cat/0000.png"]["attempt"] == 1
    enough = gen.generate(["cat"], out=tmp_path / "b", per_class=2, pipeline=fake, retry_blank=2, **FAST)
    assert (enough.generated, enough.retried, enough.blank) == (2, 2, 0)
    assert read_metadata(tmp_path / "b")["cat/0000.png"]["seed"] == plan.image_seed(0, "cat", 0, attempt=2)


def test_cli_generates_and_prints_summary(tiny_model, tmp_path):
    out, listing = tmp_path / "gen", tmp_path / "classes.txt"
    listing.write_text("cat\n")
    result = CliRunner().invoke(cli, [
        "generate", "--classes", "hot dog", "--classes-file", str(listing), "--per-class", "1",
        "--model", str(tiny_model), "--steps", "1", "--size", str(SIZE), "--device", "cpu", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["generated"], summary["planned"]) == (2, 2)
    assert "images/min" in result.stderr
    assert (out / "hot_dog/0000.png").is_file() and (out / "cat/0000.png").is_file()


def one_line_error(args, tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--out", str(tmp_path / "gen"), *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    return lines[0]


def test_cli_bad_input_is_one_line(tmp_path):
    for empty in ([], ["--classes", " , "]):
        assert "no classes given" in one_line_error(empty, tmp_path)
    missing = tmp_path / "no-such-model"
    assert str(missing) in one_line_error(["--classes", "cat", "--model", str(missing)], tmp_path)
    (tmp_path / "empty").mkdir()
    assert "model_index.json" in one_line_error(["--classes", "cat", "--model", str(tmp_path / "empty")], tmp_path)
    assert "share the folder" in one_line_error(["--classes", "hot dog,hot_dog"], tmp_path)
    assert "{}" in one_line_error(["--classes", "cat", "--template", "a photo"], tmp_path)
    assert "multiple of 8" in one_line_error(["--classes", "cat", "--size", "30"], tmp_path)


def test_offline_hub_id_names_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = one_line_error(["--classes", "cat", "--model", "devise-test/no-such-model"], tmp_path)
    assert "devise-test/no-such-model" in line and "models--devise-test--no-such-model" in line


def test_missing_extra_names_the_pip_command(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "diffusers" else real(name, *a))
    folder = tmp_path / "model"  # a pipeline folder, so no hub lookup comes first
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    with pytest.raises(GenerateError) as err:
        gen.generate(["cat"], out=tmp_path / "gen", model=str(folder))
    assert 'pip install -e ".[generate]"' in str(err.value) and "diffusers" in str(err.value)
    assert "torch==2.13.0" in str(err.value)
    assert not (tmp_path / "gen").exists()


def test_seeds_are_stable_and_distinct():
    # Pinned value: changing the derivation would silently change every dataset.
    assert plan.image_seed(0, "hot dog", 0) == plan.image_seed(0, "hot dog", 0) == 41515651975729
    keys = [(0, "cat", 0, 0), (1, "cat", 0, 0), (0, "dog", 0, 0), (0, "cat", 1, 0), (0, "cat", 0, 1)]
    assert len({plan.image_seed(*k) for k in keys}) == len(keys)


def test_class_list_parsing(tmp_path):
    listing = tmp_path / "classes.txt"
    listing.write_text("# snacks\nhot  dog\n\npretzel\ncat\n")
    assert plan.parse_classes("cat, sofa", listing) == ["cat", "sofa", "hot dog", "pretzel"]
    with pytest.raises(GenerateError, match="cannot be a folder"):
        plan.parse_classes("a/b")
    with pytest.raises(GenerateError, match="cannot read"):
        plan.parse_classes(None, tmp_path / "nope.txt")
