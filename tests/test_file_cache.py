"""The per-file SQLite cache behind the feature and pixel caches."""
import os
import sqlite3

import numpy as np
import pytest

from devise.data.feature_cache import FeatureCache
from devise.data.file_cache import FileCache

COLUMNS = (("value", "BLOB"), ("count", "INTEGER"))


@pytest.fixture
def files(tmp_path):
    paths = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.txt"
        path.write_text(name)
        paths.append(str(path))
    return paths


def test_store_then_lookup_values_and_errors(tmp_path, files):
    a, b, _ = files
    with FileCache(tmp_path / "cache.sqlite", "facts", COLUMNS) as cache:
        cache.store([(a, (b"x", 1)), (b, "b: unreadable")])
        assert cache.lookup(files) == {a: (b"x", 1), b: "b: unreadable"}


def test_changed_and_vanished_files_are_not_returned(tmp_path, files):
    a, b, c = files
    with FileCache(tmp_path / "cache.sqlite", "facts", COLUMNS) as cache:
        cache.store([(p, (p.encode(), 0)) for p in files])
        with open(a, "a") as f:
            f.write("changed")
        os.remove(b)
        cache.store([("/nowhere/gone.txt", (b"", 0))])  # vanished before storing: skipped
        assert set(cache.lookup(files + ["/nowhere/gone.txt"])) == {c}


def test_lookup_in_chunks(tmp_path):
    paths = []
    for i in range(1203):
        path = tmp_path / f"{i}.txt"
        path.write_text("")
        paths.append(str(path))
    with FileCache(tmp_path / "cache.sqlite", "facts", COLUMNS) as cache:
        cache.store([(p, (b"", i)) for i, p in enumerate(paths)])
        found = cache.lookup(paths)
    assert [found[p][1] for p in paths] == list(range(len(paths)))


def test_feature_cache_keeps_its_table_for_plain_sql(tmp_path, files):
    path = tmp_path / "features.sqlite"
    with FeatureCache("fp", path=path) as cache:
        cache.store([(files[0], np.ones(3), np.zeros(4), None), (files[1], None, None, "bad")])
        feats, logits = cache.lookup(files)[files[0]]
    assert feats.dtype == np.float32 and logits.dtype == np.float16 and feats.tolist() == [1, 1, 1]
    rows = sqlite3.connect(str(path)).execute(
        "SELECT path, size, mtime_ns, error, features, logits FROM features ORDER BY path").fetchall()
    assert [(r[0], r[3]) for r in rows] == [(files[0], None), (files[1], "bad")]


@pytest.mark.parametrize("content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 4000])
def test_unreadable_cache_is_moved_aside_with_one_warning(tmp_path, files, capsys, content):
    path = tmp_path / "cache.sqlite"
    path.write_bytes(content)
    with FileCache(path, "facts", COLUMNS) as cache:
        assert cache.lookup(files) == {}
        cache.store([(files[0], (b"x", 1))])
        assert cache.lookup(files) == {files[0]: (b"x", 1)}
    assert (tmp_path / "cache.sqlite.corrupt").read_bytes() == content
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and err.startswith("warning: ")


def test_damage_found_on_lookup_starts_a_fresh_cache(tmp_path, files, capsys):
    path = tmp_path / "cache.sqlite"
    cache = FileCache(path, "facts", COLUMNS)
    cache.store([(p, (b"x" * 5000, 1)) for p in files])
    cache.close()
    data = bytearray(path.read_bytes())
    data[4096:] = b"\x07" * (len(data) - 4096)  # every page after the first is garbage
    path.write_bytes(bytes(data))
    with FileCache(path, "facts", COLUMNS) as cache:
        assert cache.lookup(files) == {}
        cache.store([(files[0], (b"y", 2))])
        assert cache.lookup(files) == {files[0]: (b"y", 2)}
    assert (tmp_path / "cache.sqlite.corrupt").exists()
    assert "warning: " in capsys.readouterr().err
