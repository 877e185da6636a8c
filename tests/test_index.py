"""`devise index`: builds, manifests, incremental re-indexing, atomic swaps, edits, bad input."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import add_images, fit_model

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def built(words_home, colour_folder, fake_backbone, run):
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def search_paths(run, query, *extra):
    result = run("search", query, "--json", "--top", 1000, *extra)
    assert result.exit_code == 0, result.output
    return [r["path"] for r in json.loads(result.stdout)["results"]]


def live_version(home, name="colours"):
    return home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()


def test_build_writes_a_checked_manifest(built, words_home, colour_folder):
    assert (built["name"], built["items"], built["embedded"], built["model"]) == ("colours", 48, 48, "conse")
    version = live_version(words_home)
    for filename in ("words.ann", "features.ann", "vectors_words.npy", "features.npy", "items.jsonl", "tombstones.json"):
        assert (version / filename).is_file(), filename
    data = json.loads((version / "manifest.json").read_text())
    assert data["kind"] == "index" and data["format_version"] == 1
    assert (data["model"], data["backbone"], data["words"], data["word_dim"], data["feature_dim"]) == \
        ("conse", "fake", "glove-6b-50d", 50, 48)
    assert (data["metric"], data["n_trees"], data["seed"], data["root"]) == ("angular", 20, 0, str(colour_folder))
    assert data["search"]["mode"] == data["search"]["features"]["mode"] == "exact"
    assert "below" in data["search"]["reason"]
    first = json.loads((version / "items.jsonl").read_text().splitlines()[0])
    assert first["id"] == 0 and first["class"] == "black" and first["fields"] == {}
    assert (words_home / "indexes" / "DEFAULT").read_text().strip() == "colours"


def test_search_similar_and_sheet(built, run, colour_folder, tmp_path):
    result = run("search", "red car", "--json", "--top", 5, "--sheet", tmp_path / "sheet.png")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["query"] == "red car" and len(doc["results"]) == 5
    assert all(set(r) == {"path", "score"} and -1.0 <= r["score"] <= 1.0 for r in doc["results"])
    assert [r["score"] for r in doc["results"]] == sorted((r["score"] for r in doc["results"]), reverse=True)
    assert (tmp_path / "sheet.png").stat().st_size > 0
    image = colour_folder / "blue" / "003.jpg"
    doc = json.loads(run("similar", image, "--json", "--top", 7).stdout)
    paths = [r["path"] for r in doc["results"]]
    assert str(image) not in paths and len(paths) == 7
    assert all(Path(p).parent.name == "blue" for p in paths)  # same colour, same fake features


def test_similar_embeds_a_new_file(built, run, tmp_path, fake_backbone):
    new = add_images(tmp_path / "elsewhere", "green", 1)[0]
    seen = fake_backbone.images_seen
    doc = json.loads(run("similar", new, "--json", "--top", 3).stdout)
    assert fake_backbone.images_seen == seen + 1
    assert all(Path(r["path"]).parent.name == "green" for r in doc["results"])


def test_trained_model_search_and_tag_use_the_index_model(words_home, colour_folder, fake_backbone, run, tmp_path):
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    assert run("index", colour_folder, "--model", model).exit_code == 0
    for colour in ("red", "blue", "yellow"):
        top = search_paths(run, colour)[:8]
        assert all(Path(p).parent.name == colour for p in top), (colour, top)
    # Colours are no open tags (not picturable things), so the model is checked through given labels.
    result = run("tag", colour_folder / "red" / "001.jpg", "--index", "colours", "--top", 3, "--json",
                 "--labels", "red,blue,yellow,green,black,white")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images"][0]["tags"][0]["word"] == "red"


def test_incremental_reindex_embeds_only_new_files_and_drops_deleted(built, run, colour_folder, fake_backbone):
    seen = fake_backbone.images_seen
    add_images(colour_folder, "purple", 10)
    again = json.loads(run("index", colour_folder, "--json").stdout)
    assert (again["embedded"], again["reused"], again["items"]) == (10, 48, 58)
    assert fake_backbone.images_seen - seen == 10
    gone = colour_folder / "red" / "004.jpg"
    assert str(gone) in search_paths(run, "red")
    gone.unlink()
    third = json.loads(run("index", colour_folder, "--json").stdout)
    assert (third["embedded"], third["removed"], third["items"]) == (0, 1, 57)
    assert str(gone) not in search_paths(run, "red")


def test_atomic_swap_old_reader_keeps_working(built, words_home, colour_folder, run):
    from devise.index.store import open_index

    old = open_index()
    old_dir = old.version_dir
    before = old.space("features").nearest(old.space("features").vector(0), 3)
    for _ in range(2):  # two swaps: the reader's version is now deleted, not just replaced
        assert run("index", colour_folder).exit_code == 0
    assert not old_dir.exists()
    versions = [p for p in (words_home / "indexes" / "colours").iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2  # the live one and the one before it
    assert old.space("features").nearest(old.space("features").vector(0), 3) == before
    assert old.items[before[0][0]]["path"].startswith(str(colour_folder))
    assert open_index().version_dir != old_dir


def test_annoy_mode_matches_exact(words_home, colour_folder, fake_backbone, run, monkeypatch):
    from devise.index import tuning

    def top_scores():
        return [r["score"] for r in json.loads(run("search", "green grass", "--json").stdout)["results"]]

    assert run("index", colour_folder).exit_code == 0
    exact = top_scores()
    monkeypatch.setitem(tuning.EXACT_BELOW, "words", 0)
    monkeypatch.setitem(tuning.EXACT_BELOW, "features", 0)
    summary = json.loads(run("index", colour_folder, "--rebuild", "--json").stdout)
    assert summary["text_search"] == summary["image_search"] == "annoy"
    assert top_scores() == pytest.approx(exact, abs=1e-5)  # search_k covers all 48 items: same neighbours
    like = json.loads(run("similar", colour_folder / "red" / "000.jpg", "--json").stdout)["results"]
    assert len(like) == 10 and all("/red/" in r["path"] for r in like[:7])


def test_named_indexes_and_default(words_home, colour_folder, fake_backbone, run, tmp_path):
    other = tmp_path / "other"
    add_images(other, "white", 3)
    assert run("index", colour_folder).exit_code == 0
    assert run("index", other, "--name", "snaps", "--default").exit_code == 0
    assert all("/other/" in p for p in search_paths(run, "white"))  # default: the one asked for
    assert len(search_paths(run, "white", "--index", "colours")) == 48
    listing = run("indexes").output
    assert "* snaps" in listing and "  colours" in listing


def test_tombstones_survive_reindex_and_fields_are_kept(built, run, colour_folder):
    from devise.index.edit import remove_items, set_fields
    from devise.index.store import open_index

    hidden = str(colour_folder / "red" / "002.jpg")
    assert remove_items([hidden]) == 47
    assert hidden not in search_paths(run, "red")
    summary = json.loads(run("index", colour_folder, "--json").stdout)
    assert summary["items"] == 47 and summary["tombstoned"] == 1
    assert hidden not in search_paths(run, "red")
    shown = str(colour_folder / "red" / "003.jpg")
    assert set_fields({shown: {"labels": {"red": 0.9}}}) == 1
    idx = open_index()
    assert idx.items[idx.items.find(shown)]["fields"] == {"labels": {"red": 0.9}}
    again = json.loads(run("index", colour_folder, "--json").stdout)
    assert again["embedded"] == 0
    idx = open_index()
    assert idx.items[idx.items.find(shown)]["fields"] == {"labels": {"red": 0.9}}


def test_unreadable_images_are_skipped_and_counted(words_home, colour_folder, fake_backbone, run):
    (colour_folder / "red" / "broken.jpg").write_text("not a jpeg")
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0 and "broken.jpg" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["items"], summary["skipped"]) == (48, 1)
    result = run("similar", colour_folder / "red" / "broken.jpg")
    assert result.exit_code == 1 and "broken.jpg" in result.output


# bad input: each is one clear line and exit code 1

def test_missing_index(words_home, run):
    result = run("search", "cat")
    assert result.exit_code == 1 and "no default index" in result.output and "devise index" in result.output
    result = run("similar", __file__, "--index", "nope")
    assert result.exit_code == 1 and "no index named 'nope'" in result.output


def test_index_built_with_another_model(built, run, colour_folder, fake_backbone, tmp_path):
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    result = run("tag", colour_folder / "red" / "000.jpg", "--index", "colours", "--model", model)
    assert result.exit_code == 1 and "was built with model conse" in result.output
    result = run("index", colour_folder, "--model", model)
    assert result.exit_code == 1 and "--rebuild" in result.output
    assert run("index", colour_folder, "--model", model, "--rebuild").exit_code == 0


@pytest.mark.parametrize("damage", ["garbage", "truncate", "flip"])
def test_corrupt_ann_file(built, words_home, run, colour_folder, damage):
    target = live_version(words_home) / "words.ann"
    data = target.read_bytes()
    if damage == "garbage":
        target.write_bytes(b"not an annoy index")
    elif damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        target.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    result = run("search", "red")
    assert result.exit_code == 1 and "words.ann" in result.output and "re-index" in result.output
    assert run("index", colour_folder).exit_code == 0  # a rebuild repairs it
    assert run("search", "red").exit_code == 0


def test_manifest_dimension_mismatch(built, words_home, run):
    path = live_version(words_home) / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "word_dim": 300}))
    result = run("search", "red")
    assert result.exit_code == 1 and "built in 300-d word space" in result.output
    path.write_text(json.dumps({**data, "feature_dim": 1280}))
    result = run("similar", Path(data["root"]) / "red" / "000.jpg")
    assert result.exit_code == 1 and "does not match the manifest" in result.output
    path.write_text(json.dumps({**data, "format_version": 99}))
    result = run("search", "red")
    assert result.exit_code == 1 and "format version 99" in result.output


@pytest.mark.parametrize("query, message", [("", "empty query"), ("   ", "empty query"),
                                            ("zzqxv blorfle", "not in the word vectors"),
                                            ("sofaa", "did you mean: sofa"), ("cat +", "ends with an operator")])
def test_bad_queries(built, run, query, message):
    result = run("search", query)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_search_never_imports_tensorflow(built, words_home):
    script = ("import sys\nfrom cli import cli\ncli(['search', 'cat sofa', '--json'], standalone_mode=False)\n"
              "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'torch', 'train.embed') if m in sys.modules))")
    env = {**os.environ, "DEVISE_HOME": str(words_home)}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout[: out.stdout.rindex("HEAVY")])["results"]
    assert out.stdout.strip().endswith("HEAVY []")


def test_a_second_index_leaves_the_default_alone_unless_asked(built, run, colour_folder, words_home):
    """The first index becomes the default; another one only with --default, and the summary says so."""
    pointer = words_home / "indexes" / "DEFAULT"
    result = run("index", colour_folder, "--name", "second")
    assert result.exit_code == 0, result.output
    assert pointer.read_text().strip() == "colours"
    assert "the default index is still 'colours'" in result.stdout and "--default" in result.stdout
    assert json.loads(run("index", colour_folder, "--name", "second", "--json").stdout)["default_index"] == "colours"
    assert run("index", colour_folder, "--name", "second", "--default").exit_code == 0
    assert pointer.read_text().strip() == "second"
