"""`score` (prompt/class alignment stored as an item field) and `slices`, on tiny folders with a fake backbone."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from devise.cli import cli
from devise.curate import slices
from devise.search.content_words import content_words, text_vector

from helpers import COLOURS, make_image


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result


def stored(field="alignment", name=None):
    from devise.index.store import open_index

    idx = open_index(name)
    return {item["path"]: item["fields"].get(field) for item in idx.items}, idx


@pytest.fixture
def generated_folder(tmp_path):
    """Looks like `generate` output: class folders plus metadata.jsonl with each file's prompt."""
    root, lines = tmp_path / "gen", []
    for ci, (name, rgb) in enumerate(list(COLOURS.items())[:4]):
        for i in range(4):
            file = f"{name}/{i:04d}.png"
            make_image(root / file, rgb, seed=ci * 10 + i)
            lines.append({"file": file, "class": name, "prompt": f"a photo of a {name} car", "seed": i})
    (root / "metadata.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    return root


def test_prompts_lose_template_words():
    from devise.data.words import load_words

    words = load_words()
    assert content_words(words, "a photo of a hot dog") == (["hot", "dog"], ["a", "photo", "of", "a"])
    assert content_words(words, "A high quality picture of the Eiffel tower")[0] == ["eiffel", "tower"]
    assert content_words(words, "a photo") == (["a", "photo"], [])  # nothing left: keep it whole
    vec = text_vector(words, "a photo of a cat")
    cat = words.vector("cat")
    assert np.allclose(vec, cat / np.linalg.norm(cat), atol=1e-6)


def test_score_generated_folder_uses_each_prompt(generated_folder, fake_backbone):
    from devise.index.builder import build_index as build

    build(str(generated_folder), progress=False)
    result = run("score", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["sources"] == {"prompt": 16} and summary["count"] == 16
    assert {r["text"] for r in summary["per_text"]} == {f"a photo of a {c} car" for c in list(COLOURS)[:4]}
    scores, idx = stored()
    words, vectors = idx.word_vectors(), idx.space("words").vectors
    for i, item in enumerate(idx.items):
        cls = item["class"]
        want = float(vectors[i] @ text_vector(words, f"{cls} car"))
        assert scores[item["path"]] == pytest.approx(want, abs=1e-5)


def test_score_labelled_folder_uses_class_phrases(colour_folder, fake_backbone, tmp_path):
    from devise.index.builder import build_index as build

    build(str(colour_folder), name="colours", progress=False)
    mapping = tmp_path / "map.txt"
    mapping.write_text("red = crimson\n")
    result = run("score", "--index", "colours", "--label-map", str(mapping))
    assert result.exit_code == 0, result.output
    assert "48 images scored (48 by class)" in result.stdout and "crimson" in result.stdout
    scores, idx = stored(name="colours")
    words = idx.word_vectors()
    red = next(i for i, item in enumerate(idx.items) if item["class"] == "red")
    want = float(idx.space("words").vectors[red] @ text_vector(words, "crimson"))
    assert scores[idx.items[red]["path"]] == pytest.approx(want, abs=1e-5)
    assert all(isinstance(v, float) for v in scores.values())


def test_unknown_phrases_are_left_unscored(tmp_path, fake_backbone):
    from devise.index.builder import build_index as build

    for ci, name in enumerate(["red", "zzqxv_blorf"]):
        for i in range(3):
            make_image(tmp_path / "f" / name / f"{i}.png", (200, 30 * ci, 30), seed=ci * 10 + i)
    build(str(tmp_path / "f"), progress=False)
    result = run("score", "--json")
    assert result.exit_code == 0, result.output
    assert "zzqxv blorf" in result.stderr and json.loads(result.stdout)["sources"] == {"class": 3, "unscored": 3}
    scores, _ = stored()
    assert sorted(v is None for v in scores.values()) == [False] * 3 + [True] * 3


def test_errors_are_one_line(fake_backbone, colour_folder):
    result = run("score", "--index", "nope")
    assert result.exit_code == 1 and "no index named 'nope'" in result.stderr
    from devise.index.builder import build_index as build

    build(str(colour_folder), progress=False)
    result = run("slices", "--out", "unused")
    assert result.exit_code == 1 and "run `devise score` first" in result.stderr
    assert "Traceback" not in result.output


def test_planted_slice_is_found():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16))
    features = np.concatenate([c + 0.05 * rng.normal(size=(20, 16)) for c in centres])
    features /= np.linalg.norm(features, axis=1, keepdims=True)
    scores = 0.6 + 0.02 * rng.normal(size=80)
    scores[40:60] -= 0.3       # the third group is badly aligned
    scores[0:3] = np.nan       # unscored images count for nothing
    labels, k = slices.cluster(features, k=4)
    above, below, stats = slices.rank_clusters(features, scores, labels, min_support=5, min_drop=0.15)
    assert k == 4 and stats["scored"] == 77 and not above and len(below) == 1
    assert sorted(below[0].members.tolist()) == list(range(40, 60))
    assert below[0].diff < -0.2 and below[0].z < -5
    # By default the bar is half a standard deviation; the good groups (+0.075) clear it too.
    above, below, stats = slices.rank_clusters(features, scores, labels, min_support=5)
    assert stats["min_drop"] == pytest.approx(0.5 * np.nanstd(scores)) and len(above) == 3 and len(below) == 1
    assert not slices.rank_clusters(features, scores, labels, min_support=21)[1]  # too small to report
    labels, k = slices.cluster(features, method="hdbscan", min_support=5)  # finds the 4 groups by itself
    below = slices.rank_clusters(features, scores, labels, min_support=5, min_drop=0.15)[1]
    assert k == 4 and sorted(below[0].members.tolist()) == list(range(40, 60))
    assert slices.default_k(8) == 2 and slices.default_k(8000) == 63 and slices.default_k(10**6) == 100


def test_slices_cli_writes_report(colour_folder, fake_backbone, tmp_path):
    from devise.index.builder import build_index as build

    build(str(colour_folder), progress=False)
    assert run("score").exit_code == 0
    out = tmp_path / "report"
    assert run("slices", "--k", "2", "--min-support", "3", "--min-drop", "0", "--out", str(out)).exit_code == 0
    stale = sorted(out.glob("slice-*.png"))[0]
    stale.rename(out / "slice-below-9.png")  # a sheet devise wrote in an earlier run: removed
    result = run("slices", "--k", "4", "--min-support", "3", "--min-drop", "0", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["k"] == 4 and report["scored"] == 48 and report["slices"]
    assert sum(r["size"] for r in report["slices"]) == 48  # min-drop 0: every cluster is reported
    for row in report["slices"]:
        assert row["words"] and row["classes"] and (out / row["sheet"]).is_file()
        assert row["direction"] == ("above" if row["diff"] > 0 else "below")
    text = (out / "index.md").read_text()
    assert "| slice | size | mean |" in text and f"![{report['slices'][0]['slice']}]" in text
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.md", "manifest.json"]
                                                           + [r["sheet"] for r in report["slices"]])
    plain = run("slices", "--k", "4", "--min-support", "3", "--out", str(out))
    assert plain.exit_code == 0 and "nearest words" in plain.stdout and "wrote" in plain.stderr


def test_alignment_is_filterable(colour_folder, fake_backbone):
    from devise.index import filters
    from devise.index.builder import build_index as build

    build(str(colour_folder), progress=False)
    assert run("score").exit_code == 0
    scores, idx = stored()
    cut = float(np.median(list(scores.values())))
    low = filters.select(idx.items, f"alignment < {cut}")
    assert len(low) and {idx.items[int(i)]["path"] for i in low} == {p for p, v in scores.items() if v < cut}
    both = filters.select(idx.items, f"alignment:[{cut} TO *] AND class:red")
    assert all(idx.items[int(i)]["class"] == "red" and scores[idx.items[int(i)]["path"]] >= cut for i in both)


def test_alignment_colours_a_map(colour_folder, fake_backbone, tmp_path):
    from devise.index.builder import build_index as build

    build(str(colour_folder), progress=False)
    assert run("score").exit_code == 0
    result = run("map", "--color-by", "alignment", "--out", str(tmp_path / "map.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "map.png").stat().st_size > 0
