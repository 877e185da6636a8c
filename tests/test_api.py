"""The public API (`import devise`) and the rule that every ranked list is sorted by the score it shows."""
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import COLOURS, fit_model

ROOT = Path(__file__).resolve().parent.parent
SCORE = re.compile(r"[-+]?\d+\.\d+")


def descending(values):
    return all(a >= b for a, b in itertools.pairwise(values))


@pytest.fixture
def calibrated(words_home, colour_folder, fake_backbone, run, tmp_path):
    """An index over the colour folder with a model whose calibration penalises four seen colours by 0.3."""
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone, gamma=0.3,
                      seen=["red", "green", "blue", "yellow"])
    assert run("index", colour_folder, "--model", model).exit_code == 0
    return model


def test_tag_prints_and_sorts_by_the_calibrated_score(calibrated, run, colour_folder):
    labels = ",".join(COLOURS)
    images = [colour_folder / c / "001.jpg" for c in COLOURS]
    doc = json.loads(run("tag", *images, "--index", "colours", "--labels", labels, "--top", 6, "--json").stdout)
    penalised, offsets = 0, {}
    for entry in doc["images"]:
        tags = entry["tags"]
        assert descending([t["score"] for t in tags])
        for t in tags:
            gamma = 0.3 if t["word"] in ("red", "green", "blue", "yellow") else 0.0
            # score = cosine - gamma - the label's own reference mean, the same for every image
            offsets.setdefault(t["word"], []).append(t["cosine"] - gamma - t["score"])
        penalised += not descending([t["cosine"] for t in tags])
    for word, offset in offsets.items():
        assert max(offset) - min(offset) < 1e-4, word
    assert penalised, "with gamma 0.3 the calibrated order must differ from the cosine order somewhere"
    text = run("tag", *images, "--index", "colours", "--labels", labels, "--top", 6).stdout
    for line in text.splitlines():
        assert descending([float(x) for x in SCORE.findall(line.split(": ", 1)[1])]), line


def test_search_similar_words_and_label_lists_are_sorted(calibrated, run, colour_folder):
    outputs = [run("search", "red + blue - green", "--top", 20).stdout,
               run("similar", colour_folder / "red" / "000.jpg", "--top", 20).stdout,
               run("words", "crimson", "--top", 15).stdout]
    for out in outputs:
        scores = [float(line.split()[1]) for line in out.splitlines()]
        assert len(scores) >= 15 and descending(scores)
    result = run("label", "--labels", ",".join(COLOURS), "--assign")
    assert result.exit_code == 0, result.output
    fields = [line for line in result.stdout.splitlines() if not line.startswith("label:")]
    assert len(fields) == 6 and descending([float(line.split()[0]) for line in fields])
    counts = [int(part.rsplit(" ", 1)[1]) for part in result.stdout.splitlines()[-1][7:].split(", ")]
    assert descending(counts)


def test_public_api_end_to_end_with_typed_results(words_home, colour_folder, fake_backbone, tmp_path):
    import devise

    built = devise.build_index(colour_folder, name="api", progress=False)
    assert (built.items, built.embedded, built.model) == (48, 48, "conse")
    hits = devise.search("red", index="api", top=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert json.loads(json.dumps(hits.to_dict()))["results"][0]["path"] == hits[0].path
    like = devise.similar(colour_folder / "blue" / "000.jpg", index="api", top=3)
    assert all("/blue/" in p for p in like.paths) and str(colour_folder / "blue" / "000.jpg") not in like.paths
    tags = devise.tag([colour_folder / "green" / "002.jpg"], index="api", labels=list(COLOURS), top=2)
    found = tags.images[0].tags  # ConSE on a fake backbone: which colour wins is arbitrary, the shape is not
    assert len(found) == 2 and {t.word for t in found} <= set(COLOURS) and tags.skipped == []
    assert found[0].score >= found[1].score and tags.to_dict()["images"][0]["tags"][0]["cosine"] == found[0].cosine
    near = devise.words("crimson", top=3)
    assert len(near) == 3 and near.to_dict()["results"][0]["word"]
    with pytest.raises(devise.VocabularyError, match="zzqxv"):
        devise.search("zzqxv", index="api")
    with pytest.raises(TypeError):
        devise.search("red", "api")  # options are keyword-only


def test_public_api_on_real_photos_with_real_weights(devise_home, tmp_path):
    """build_index, search, similar and tag through `devise` only: real photos, real Lite0 weights, real GloVe."""
    import shutil

    import devise
    from devise.data.datasets import package_photos

    photos = package_photos()
    if not any(Path(p).name == "chelsea.png" for p in photos) or len(photos) < 10:
        pytest.skip("scikit-image's and foolbox's sample photos are not installed")
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in photos:
        shutil.copy(p, folder / Path(p).name)
    built = devise.build_index(folder, name="photos", progress=False)
    assert built.items == len(photos) and built.skipped == 0
    cat, coffee = folder / "chelsea.png", folder / "coffee.png"
    assert str(cat) in devise.search("cat", index="photos", top=3).paths
    assert str(coffee) in devise.search("espresso cup", index="photos", top=3).paths
    like = devise.similar(cat, index="photos", top=3)
    assert len(like) == 3 and str(cat) not in like.paths
    tags = devise.tag([cat], index="photos", top=10)
    assert {"cat", "cats", "kitten", "dog", "pet"} & {t.word for t in tags.images[0].tags}


def test_readme_python_example_runs(tmp_path):
    """The README's Python example, run as a user would: a fresh interpreter, a fresh home."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    example = next(b for b in blocks if "import devise" in b)
    env = {"DEVISE_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_open_index_is_a_handle_over_the_same_verbs(calibrated, colour_folder, tmp_path):
    """devise.open_index gives the index's facts and the verbs with index= filled in: the same results."""
    import devise

    colours = devise.open_index("colours")
    assert isinstance(colours, devise.Index) and len(colours) == 48 and colours.name == "colours"
    assert colours.model == str(calibrated.resolve()) and colours.backbone == "fake" and colours.root == str(colour_folder)
    assert colours.manifest.to_dict()["kind"] == "index" and colours.version.startswith("v-")
    assert colours.search("red", top=5).to_dict() == devise.search("red", index="colours", top=5).to_dict()
    image = colour_folder / "blue" / "001.jpg"
    assert colours.similar(image, top=3).paths == devise.similar(image, index="colours", top=3).paths
    assert colours.tag([image], labels=["red", "blue"]).images[0].tags[0].word == "blue"
    assert colours.walk(limit=5).visited == 5
    assert colours.label(["red", "blue"], assign=True).to_dict()["images"] == 48
    assert colours.dedupe().to_dict()["groups"] == devise.dedupe(index="colours").to_dict()["groups"]
    assert colours.map(tmp_path / "map.png", size=300, thumb=30).images == 48
    assert "colours" in repr(colours) and devise.open_index().name == "colours"  # None: the default index
    with pytest.raises(devise.SearchIndexError, match="no index named 'nosuch'"):
        devise.open_index("nosuch")
    with pytest.raises(TypeError):
        colours.search("red", 5)  # options stay keyword-only
