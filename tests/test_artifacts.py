"""Damaged index files: one line and exit 1, never a traceback, never a signal.

Every file of an index that a command reads is damaged in turn (random
bytes, truncation, a zeroed block). The `.ann` cases run the CLI in a
subprocess, where a segfault shows as a negative return code; `--method
annoy` makes even the small test collection search through Annoy. Word
vectors: test_word_artifacts.py; bad input: test_bad_input.py.
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest


def live_version(home, name="colours"):
    return home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()


def damage(path, how, seed=0):
    """Damage a file in place: a few random bytes, the second half cut off, or a zeroed 4 KB block."""
    data = bytearray(path.read_bytes())
    before = bytes(data)
    if how == "bytes":
        rng = np.random.default_rng(seed)
        for at in rng.choice(len(data), size=min(4, len(data)), replace=False):
            data[at] = (data[at] + int(rng.integers(1, 256))) % 256
    elif how == "truncate":
        del data[len(data) // 2:]
    else:
        middle = len(data) // 2
        block = len(data[middle:middle + 4096])
        data[middle:middle + block] = bytes(block) if any(data[middle:middle + block]) else b"\xff" * block
    assert bytes(data) != before
    path.write_bytes(bytes(data))
    return before


def cli(home, *args, setup=""):
    """Run the CLI in a fresh interpreter; `setup` is Python run before it (e.g. to change a threshold)."""
    code = f"import sys\n{setup}\nfrom devise.cli import main\nsys.argv[0] = 'devise'\nmain()\n"
    env = {k: v for k, v in os.environ.items() if k != "DEVISE_DEBUG"}
    env.update(DEVISE_HOME=str(home), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=300)


def assert_one_line_error(result, *words):
    """A CompletedProcess or a click Result that failed with one plain line naming `words`."""
    if isinstance(result, subprocess.CompletedProcess):
        code, text = result.returncode, result.stdout + result.stderr
    else:
        code, text = result.exit_code, result.output
    assert code == 1, f"exit code {code} (negative: killed by a signal)\n{text}"
    assert text.count("\n") == 1 and text.startswith("Error: "), text
    assert "Traceback" not in text and "unexpectedly" not in text, text
    for word in words:
        assert word in text, (word, text)


@pytest.fixture
def annoy_built(words_home, colour_folder, fake_backbone, run):
    result = run("index", colour_folder, "--method", "annoy", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["text_search"], summary["image_search"], summary["method"]) == ("annoy",) * 3
    return live_version(words_home)

@pytest.mark.parametrize("filename, command", [("words.ann", ["search", "red"]),
                                               ("features.ann", ["similar", "red/000.jpg"])])
def test_damaged_ann_is_an_error_not_a_segfault(annoy_built, words_home, colour_folder, run, filename, command):
    args = [colour_folder / a if a.endswith(".jpg") else a for a in command]
    assert cli(words_home, *args).returncode == 0
    target = annoy_built / filename
    for how in ("bytes", "truncate", "zeros"):
        original = damage(target, how, seed=len(how))
        assert_one_line_error(cli(words_home, *args), filename, "re-index it with `devise index")
        target.write_bytes(original)
    damage(target, "bytes")
    assert run("index", colour_folder).exit_code == 0  # re-indexing repairs it
    assert cli(words_home, *args).returncode == 0


@pytest.mark.parametrize("filename, command", [("vectors_words.npy", ["search", "red"]),
                                               ("features.npy", ["similar", "red/000.jpg"]),
                                               ("items.jsonl", ["search", "red"]),
                                               ("items.offsets.npy", ["similar", "red/000.jpg"])])
def test_damaged_arrays_and_items(annoy_built, colour_folder, run, filename, command):
    args = [colour_folder / a if a.endswith(".jpg") else a for a in command]
    for how in ("bytes", "truncate", "zeros"):
        original = damage(annoy_built / filename, how, seed=3)
        assert_one_line_error(run(*args), filename)
        (annoy_built / filename).write_bytes(original)
    assert run(*args).exit_code == 0


def test_damaged_tombstones_need_a_deliberate_rebuild(annoy_built, colour_folder, run):
    damage(annoy_built / "tombstones.json", "bytes")
    assert_one_line_error(run("index", colour_folder), "tombstones.json", "--rebuild")
    result = run("index", colour_folder, "--rebuild")
    assert result.exit_code == 0 and "warning:" in result.output and "come back" in result.output


@pytest.mark.parametrize("text", ["[1, 2]", "null", "{}", '"index"', '{"kind": "index", "format_version": 1}'])
def test_manifest_that_is_no_manifest(annoy_built, words_home, colour_folder, run, text):
    (annoy_built / "manifest.json").write_text(text)
    assert_one_line_error(run("search", "red"), "manifest.json")
    assert_one_line_error(run("similar", colour_folder / "red" / "000.jpg"), "manifest.json")
    listing = run("indexes")
    assert listing.exit_code == 0 and "colours: " in listing.output and "manifest.json" in listing.output
    result = run("index", colour_folder, "--rebuild", "--json")  # the damaged version is replaced
    assert result.exit_code == 0 and "from scratch" in result.stderr
    assert json.loads(result.stdout)["method"] == "auto"
    assert run("search", "red").exit_code == 0


@pytest.mark.parametrize("field, value", [("search", [1, 2]), ("files", None), ("count", "48"), ("count", True),
                                          ("search", {"mode": "annoy"}), ("word_dim", 0), ("root", 5)])
def test_manifest_fields_of_the_wrong_type(annoy_built, run, field, value):
    data = json.loads((annoy_built / "manifest.json").read_text())
    (annoy_built / "manifest.json").write_text(json.dumps({**data, field: value}))
    assert_one_line_error(run("search", "red"), "manifest.json")
    assert "manifest.json" in run("indexes").output


@pytest.mark.parametrize("seed", range(6))
def test_manifest_random_bytes(annoy_built, words_home, colour_folder, seed):
    path = annoy_built / "manifest.json"
    damage(path, "bytes", seed)
    try:
        json.loads(path.read_bytes())
        parses = True
    except ValueError:
        parses = False
    for args in (["search", "red"], ["similar", colour_folder / "red" / "000.jpg"]):
        result = cli(words_home, *args)
        if parses:  # a changed byte in a free-text field ("created", "reason") harms nothing
            assert result.returncode in (0, 1), result.stderr
            assert "Traceback" not in result.stderr and "unexpectedly" not in result.stderr, result.stderr
        if result.returncode or not parses:
            assert_one_line_error(result, "manifest.json")
    listing = cli(words_home, "indexes")
    assert listing.returncode == 0 and "Traceback" not in listing.stderr and "colours" in listing.stdout


def old_sample_ranges(size, chunks=32, chunk=64 << 10):
    """The byte ranges that devise once hashed for files over 8 MB."""
    return [((size - chunk) * i // (chunks - 1), (size - chunk) * i // (chunks - 1) + chunk) for i in range(chunks)]


def old_fingerprint(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for start, end in old_sample_ranges(os.path.getsize(path)):
            f.seek(start)
            digest.update(f.read(end - start))
    return digest.hexdigest()


def test_large_ann_damaged_between_the_old_sample_points(words_home):
    from devise.index import items, writer

    n, rng = 42_000, np.random.default_rng(0)
    rows = [items.make_item(i, f"/photos/x/img{i:06d}.jpg", "x", 1, 0) for i in range(n)]
    counts = {"items": n, "embedded": 0, "reused": 0, "removed": 0, "skipped": 0, "tombstoned": 0}
    version, _ = writer.write_version(
        "big", rng.normal(size=(n, 50)).astype(np.float32), np.abs(rng.normal(size=(n, 8))).astype(np.float32),
        rows, trees=1, method="annoy", root="/photos", model="conse", model_fingerprint="synthetic",
        backbone="fake", backbone_fingerprint=None, words="glove-6b-50d", counts=counts)
    target = version / "words.ann"
    size = target.stat().st_size
    assert size > 8 << 20
    assert cli(words_home, "search", "red").returncode == 0
    ranges = old_sample_ranges(size)
    at = (ranges[15][1] + ranges[16][0]) // 2  # the middle of the file, between two sampled chunks
    assert not any(start <= at < end for start, end in ranges)
    before = old_fingerprint(target)
    with open(target, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0x5A]))
    assert old_fingerprint(target) == before  # the old check would have passed it to Annoy
    assert_one_line_error(cli(words_home, "search", "red"), "words.ann")


def test_verified_files_are_remembered(annoy_built, colour_folder, run, monkeypatch):
    from devise.core import integrity
    from devise.index.store import open_index

    hashed = []
    real = integrity.sha1_of
    monkeypatch.setattr(integrity, "sha1_of", lambda path: hashed.append(os.path.basename(path)) or real(path))
    integrity.forget()  # as a new process would start
    idx = open_index()
    idx.space("words"), idx.space("features")
    assert hashed == []  # the build recorded its files as verified: the first search hashes nothing
    target = annoy_built / "features.npy"
    target.write_bytes(target.read_bytes())  # same bytes, new mtime: hashed again before use
    open_index().space("features")
    assert hashed == ["features.npy"]
    open_index().space("features")  # written just now: it could still change within the clock's tick
    assert hashed == ["features.npy"] * 2
    stamp = target.stat().st_mtime_ns - integrity.SETTLE_NS
    os.utime(target, ns=(stamp, stamp))
    integrity.forget()
    open_index().space("features")
    open_index().space("features")
    assert hashed == ["features.npy"] * 3  # settled: hashed once more, then remembered
    (annoy_built.parent.parent.parent / "cache" / integrity.MEMO).write_bytes(b"\x00garbage")
    integrity.forget()
    assert run("search", "red").exit_code == 0  # a damaged memo only costs time


def test_records_of_older_versions(tmp_path):
    from devise.core import integrity
    from devise.core.errors import SearchIndexError

    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(b"x" * 1000)
    large.write_bytes(np.random.default_rng(0).bytes(9 << 20))
    # Files up to 8 MB were hashed whole before, so their records still hold.
    integrity.check(small, {"bytes": 1000, "sha1": hashlib.sha1(small.read_bytes()).hexdigest()}, error=SearchIndexError, fix="x")
    with pytest.raises(SearchIndexError, match=r"older devise.*samples.*; rebuild it"):
        integrity.check(large, {"bytes": 9 << 20, "sha1": old_fingerprint(large)}, error=SearchIndexError, fix="rebuild it")
    for record in (None, [], {"bytes": "9", "sha1": "0" * 40}, {"bytes": 1000, "sha1": 5}):
        with pytest.raises(SearchIndexError, match="damaged manifest"):
            integrity.check(small, record, error=SearchIndexError, fix="x")
