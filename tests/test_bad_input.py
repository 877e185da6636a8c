"""Hostile input: an unusable home, absurd filters and queries, empty answers, `index --method`.

Each is one plain line (exit 1), or a clear note, never a traceback.
"""
import json
import os

import pytest


def assert_one_line_error(result, *words):
    assert result.exit_code == 1, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
    assert "unexpectedly" not in result.output, result.output
    for word in words:
        assert word in result.output, (word, result.output)


@pytest.fixture
def annoy_built(words_home, colour_folder, fake_backbone, run):
    result = run("index", colour_folder, "--method", "annoy", "--json")
    assert result.exit_code == 0, result.output
    return words_home / "indexes" / "colours" / (words_home / "indexes" / "colours" / "CURRENT").read_text().strip()


def test_method_is_recorded_and_kept(annoy_built, words_home, colour_folder, run):
    data = json.loads((annoy_built / "manifest.json").read_text())
    assert data["search"]["method"] == "annoy" and "method annoy chosen" in data["search"]["reason"]
    assert all(record["whole"] for record in data["files"].values())
    again = json.loads(run("index", colour_folder, "--json").stdout)  # no --method: the recorded one stays
    assert (again["method"], again["text_search"]) == ("annoy", "annoy")
    auto = json.loads(run("index", colour_folder, "--method", "auto", "--json").stdout)
    assert (auto["method"], auto["text_search"], auto["image_search"]) == ("auto", "exact", "exact")
    listing = json.loads(run("indexes", "--json").stdout)
    assert listing[0]["method"] == "auto"
    result = run("index", colour_folder, "--method", "fast")
    assert result.exit_code == 2 and "fast" in result.output


@pytest.mark.parametrize("where", ["/proc/devise-home", "/sys/devise-home", "/proc", "FILE/home", "FILE"])
def test_unusable_home(tmp_path, run, where):
    afile = tmp_path / "plain.txt"
    afile.write_text("a file, not a folder")
    home = where.replace("FILE", str(afile))
    for args in (["search", "cat"], ["indexes"]):
        result = run("--home", home, *args)
        if where == "FILE":  # click's own check of --home: a usage error
            assert result.exit_code == 2 and "is a file" in result.output
        else:
            assert_one_line_error(result, "--home")
    assert not os.path.exists("/proc/devise-home") and not os.path.exists("/sys/devise-home")


def test_home_api_errors_are_typed(monkeypatch, tmp_path):
    from devise.core import home
    from devise.core.errors import DeviseError

    (tmp_path / "f").write_text("x")
    for value in ("/sys/kernel/devise", str(tmp_path / "f" / "x"), "~no-such-user-devise/x"):
        monkeypatch.setenv("DEVISE_HOME", value)
        with pytest.raises(DeviseError, match="DEVISE_HOME"):
            home.subdir("indexes")


@pytest.mark.parametrize("text", ["(" * 2000 + "label:red" + ")" * 2000, "NOT " * 2000 + "label:red",
                                  "(" * 2000])
def test_deeply_nested_filter(annoy_built, colour_folder, run, text):
    for command in (["search", "red"], ["similar", colour_folder / "red" / "000.jpg"]):
        result = run(*command, "--filter", text)
        assert_one_line_error(result, "nested more than")
        assert len(result.output) < 400


def test_long_unknown_query_is_capped(annoy_built, run):
    query = " ".join(f"zq{i}xv" for i in range(5000))
    result = run("search", query)
    assert_one_line_error(result, "not in the word vectors", "and 4,990 more unknown words")
    assert len(result.output) < 1500


def test_filter_that_matches_nothing_says_so(annoy_built, colour_folder, run):
    result = run("search", "red", "--filter", "class:purple")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no results" in result.stderr and "class:purple" in result.stderr
    result = run("similar", colour_folder / "red" / "000.jpg", "--filter", "path:red/000.jpg")
    assert result.exit_code == 0 and result.stdout == "" and "no other image" in result.stderr
    result = run("search", "red", "--filter", "class:purple", "--json")
    assert json.loads(result.stdout)["results"] == []


def test_build_index_rejects_an_unknown_method(words_home, colour_folder, fake_backbone):
    from devise.core.errors import SearchIndexError
    from devise.index.builder import build_index

    with pytest.raises(SearchIndexError, match="method 'fast'"):
        build_index(colour_folder, method="fast", progress=False)
