"""Query parsing and arithmetic, nearest words, and the Python API."""
import json

import numpy as np
import pytest

from devise.core.errors import QueryError, VocabularyError
from devise.search.query import parse, query_vector


def elements(query):
    """Parts as (sign, [(text, weight)]); quoting is checked separately."""
    return [(p.sign, [(text, weight) for text, weight, _ in p.elements]) for p in parse(query)]


def test_parse_parts_weights_and_phrases():
    assert elements("cat sofa") == [(1.0, [("cat", 1.0), ("sofa", 1.0)])]
    assert elements("beach + sunset - people") == [(1.0, [("beach", 1.0)]), (1.0, [("sunset", 1.0)]),
                                                   (-1.0, [("people", 1.0)])]
    assert elements("dog:2 snow") == [(1.0, [("dog", 2.0), ("snow", 1.0)])]
    assert elements('"hot dog":0.5 bun -ketchup') == [(1.0, [("hot dog", 0.5), ("bun", 1.0)]), (-1.0, [("ketchup", 1.0)])]
    assert elements("-people beach") == [(-1.0, [("people", 1.0), ("beach", 1.0)])]
    assert elements("t-shirt") == [(1.0, [("t-shirt", 1.0)])]  # a hyphen inside a word is no operator
    assert [quoted for _, _, quoted in parse('"hot dog" bun')[0].elements] == [True, False]


@pytest.mark.parametrize("query, message", [
    ("", "empty query"), ("  ", "empty query"), ("+", "no words"), ("cat + - dog", "two operators"),
    ("cat -", "ends with an operator"), ("dog:x", "must be a number"), ('"hot dog', "unbalanced"),
    ("dog:inf", "finite")])
def test_parse_errors(query, message):
    with pytest.raises(QueryError, match=message):
        parse(query)


def unit(v):
    return v / np.linalg.norm(v)


def test_query_vectors(words_home):
    from devise.data.words import load_words

    wv = load_words()
    vec, used = query_vector("cat sofa", wv)
    assert used == ["cat", "sofa"] and np.allclose(vec, unit(wv.phrase_vector("cat sofa")), atol=1e-6)
    # An unweighted phrase is embedded exactly like a training class phrase.
    assert np.allclose(query_vector("water lily", wv)[0], unit(wv.phrase_vector("water lily")), atol=1e-6)
    vec, _ = query_vector("dog:2 snow", wv)
    assert np.allclose(vec, unit(2 * wv.vector("dog") + wv.vector("snow")), atol=1e-6)
    vec, _ = query_vector("beach + sunset - people", wv)
    want = unit(wv.vector("beach")) + unit(wv.vector("sunset")) - unit(wv.vector("people"))
    assert np.allclose(vec, unit(want), atol=1e-6)
    with pytest.raises(QueryError, match="cancel out"):
        query_vector("cat - cat", wv)
    with pytest.raises(VocabularyError, match=r"'sofaa' \(did you mean: [^)]*sofa"):
        query_vector("cat sofaa", wv)


def test_nearest_words_said(words_home, run):
    result = run("words", "said", "--json", "--top", 5)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    found = [r["word"] for r in doc["results"]]
    assert doc["query"] == "said" and "said" not in found and {"told", "says"} <= set(found)
    assert all(-1 <= r["score"] <= 1 for r in doc["results"])
    assert run("words", "zzqxvblorf").exit_code == 1


def test_nearest_words_through_annoy(tmp_path, devise_home, run, monkeypatch):
    from devise.index import tuning

    rng = np.random.default_rng(0)
    base = {f"w{i}": rng.normal(size=8) for i in range(300)}
    base["near"] = base["w7"] + rng.normal(scale=0.01, size=8)
    (tmp_path / "tiny.txt").write_text("".join(f"{w} {' '.join(f'{x:.5f}' for x in v)}\n" for w, v in base.items()))
    monkeypatch.setitem(tuning.EXACT_BELOW, "words", 0)
    result = run("words", "w7", "--words", tmp_path / "tiny.txt", "--top", 3, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["results"][0]["word"] == "near"
    assert any(p.name == "words.ann" for p in (devise_home / "words").rglob("words.ann"))
    meta = json.loads(next((devise_home / "words").rglob("word_index.json")).read_text())
    assert meta["search"]["mode"] == "annoy" and meta["count"] == 301


def test_python_api_mirrors_the_cli(words_home, colour_folder, fake_backbone):
    import devise

    summary = devise.build_index(colour_folder, name="api", progress=False)
    assert summary.items == 48 and summary.model == "conse"
    results = devise.search("red", index="api", top=4)
    assert len(results) == 4 and set(results.to_dict()["results"][0]) == {"path", "score"}
    like = devise.similar(str(colour_folder / "red" / "000.jpg"), index="api", top=3)
    assert all("/red/" in hit.path for hit in like)
    assert [i.name for i in devise.indexes()] == ["api"]
