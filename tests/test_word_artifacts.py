"""Damaged word vectors and nearest-word indexes: converted or built again, or one line and exit 1.

The default GloVe and a file given with --words are converted again from
their source (with a warning); vectors known only by name cannot be, so
they are an error. The nearest-word index is derived data: built again.
"""
import json
import shutil

import numpy as np
import pytest
from test_artifacts import assert_one_line_error, cli, damage


@pytest.fixture
def own_glove(devise_home, glove_dir):
    """A private copy of the converted GloVe (the session's copy is shared, so it must not be damaged)."""
    from devise.data import words

    shutil.copytree(glove_dir, devise_home / "words" / "glove-6b-50d")
    words.clear_cache()
    yield devise_home / "words" / "glove-6b-50d"
    words.clear_cache()


@pytest.mark.parametrize("filename, how", [("vectors.npy", "bytes"), ("vocab.txt", "bytes"), ("lookup.npy", "zeros"),
                                           ("offsets.npy", "bytes"), ("manifest.json", "truncate")])
def test_damaged_default_word_vectors_are_converted_again(own_glove, colour_folder, fake_backbone, run, filename, how):
    from devise.data import words

    assert run("index", colour_folder).exit_code == 0
    before = run("search", "red", "--json").stdout
    damage(own_glove / filename, how, seed=1)
    words.clear_cache()
    result = run("search", "red", "--json")
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "Traceback" not in result.output
    assert json.loads(result.stdout) == json.loads(before)


@pytest.mark.parametrize("filename, how", [("vectors.npy", "bytes"), ("lookup.npy", "truncate"), ("vocab.txt", "zeros"),
                                           ("manifest.json", "truncate")])
def test_damaged_word_vectors_without_their_source(tmp_path, devise_home, run, filename, how):
    from devise.data import words

    source = tmp_path / "tiny.txt"
    source.write_text("".join(f"w{i} {i % 7} {i % 5} {i % 3} 1\n" for i in range(50)))
    name = words.load_words(str(source)).name
    source.unlink()
    assert run("words", "w7", "--words", name).exit_code == 0
    damage(devise_home / "words" / name / filename, how, seed=2)
    words.clear_cache()
    assert_one_line_error(run("words", "w7", "--words", name), name)


FORCE_ANNOY = "from devise.index import tuning\ntuning.EXACT_BELOW['words'] = 0"


@pytest.mark.parametrize("filename, hows", [("words.ann", ("bytes", "truncate", "zeros")),
                                            ("word_norms.npy", ("bytes", "truncate")),
                                            ("word_index.json", ("truncate",))])
def test_damaged_nearest_word_index_is_built_again(tmp_path, devise_home, filename, hows):
    rng = np.random.default_rng(0)
    source = tmp_path / "tiny.txt"
    source.write_text("".join(f"w{i} {' '.join(f'{x:.4f}' for x in rng.normal(size=8))}\n" for i in range(300)))
    first = cli(devise_home, "words", "w7", "--words", source, "--json", setup=FORCE_ANNOY)
    assert first.returncode == 0, first.stderr
    target = next((devise_home / "words").rglob(filename))
    for how in hows:
        damage(target, how, seed=4)
        again = cli(devise_home, "words", "w7", "--words", source, "--json", setup=FORCE_ANNOY)
        assert again.returncode == 0, f"exit code {again.returncode} (negative: a signal)\n{again.stderr}"
        assert "warning:" in again.stderr and "again" in again.stderr and "Traceback" not in again.stderr
        assert json.loads(again.stdout) == json.loads(first.stdout)
