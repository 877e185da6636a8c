"""The store-agnostic behaviour, on Annoy (the default) and on Milvus Lite: the same commands, the same answers.

Each test runs once per store. Milvus Lite is a real Milvus (pymilvus
talking gRPC to an embedded server over a .db file), so these tests also
show that the Milvus store's collections, aliases and filters work.
"""
import json
import socket
import sys
import time

import pytest

from helpers import add_images, expected_groups, fit_model, kill_when_paused, start_paused

STORES = ["annoy", "milvus"]


def _has_milvus():
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(params=STORES)
def store(request, tmp_path):
    """CLI arguments that put an index in this store (none for Annoy, the default)."""
    if request.param == "milvus" and not _has_milvus():
        pytest.skip("the milvus extra is not installed: pip install 'devise[milvus]'")
    yield [] if request.param == "annoy" else ["--store", "milvus", "--uri", str(tmp_path / "milvus" / "devise.db")]
    from devise.index.stores import milvus

    milvus.close()  # stop this test's Milvus Lite, as a process exit would


def ok(run, *args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def paths(doc):
    return [r["path"] for r in doc["results"]]


@pytest.fixture
def colours(words_home, colour_folder, fake_backbone, run, tmp_path, store):
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    ok(run, "index", colour_folder, "--model", model, "--name", "colours", *store)
    return colour_folder


def test_index_records_its_store_and_no_secret(colours, run, store, monkeypatch):
    (found,) = ok(run, "indexes", "--json")
    assert found["store"] == ("annoy" if not store else "milvus") and found["count"] == 48
    from devise.index.store import open_index

    record = open_index("colours").manifest.store
    if store:
        assert record["uri"] == store[-1] and record["collection"].startswith(record["alias"])
        assert set(record) == {"kind", "uri", "collection", "alias", "filters", "field_names"}  # no token, ever


def test_search_and_similar_with_filters(colours, run):
    assert all("/red/" in p for p in paths(ok(run, "search", "red", "--top", "5", "--json")))
    image = colours / "blue" / "003.jpg"
    doc = ok(run, "similar", image, "--top", "5", "--json")
    assert str(image) not in paths(doc) and all("/blue/" in p for p in paths(doc))
    doc = ok(run, "similar", image, "--top", "20", "--json", "--filter", "path:*/red/*")
    assert len(doc["results"]) == 8 and all("/red/" in p for p in paths(doc))
    scores = [r["score"] for r in doc["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("text, colours_kept, falls_back", [
    ("path:*/red/* OR (label:BLUE AND NOT path:*/blue/001*)", {"red", "blue"}, False),
    ('path:"*/[r]ed/*"', {"red"}, True),  # a glob class, which Milvus cannot say: the kept ids instead
])
def test_filters_on_either_store(colours, run, store, text, colours_kept, falls_back, monkeypatch):
    from devise.index.stores import milvus

    asked, real = [], milvus.MilvusVersion.ids_where
    monkeypatch.setattr(milvus.MilvusVersion, "ids_where", lambda self, node: asked.append(node) or real(self, node))
    image = colours / "blue" / "003.jpg"
    doc = ok(run, "similar", image, "--top", "20", "--json", "--filter", text)
    expected = {str(p) for c in colours_kept for p in (colours / c).iterdir()} - {str(image), str(colours / "blue" / "001.jpg")}
    assert set(paths(doc)) == expected
    assert set(paths(ok(run, "search", "colour", "--top", "48", "--json", "--filter", text))) <= expected | {str(image)}
    assert bool(asked) == (falls_back and bool(store))  # Milvus filters by itself whatever maps


def test_label_then_filter_and_walk(colours, run):
    ok(run, "label", "--labels", ",".join(["red", "green", "blue", "yellow", "black", "white"]), "--assign")
    doc = ok(run, "search", "colour", "--top", "100", "--json", "--filter", "red:[0.5 TO 1] AND label:red")
    assert doc["results"] and all("/red/" in p for p in paths(doc))
    walk = ok(run, "walk", "--filter", "label:blue OR label:red", "--json")
    assert sorted(walk["order"]) == sorted(str(p) for c in ("blue", "red") for p in (colours / c).iterdir())


def test_incremental_index_embeds_only_new_files(colours, run, store):
    add_images(colours, "red", 3, start=100)
    summary = ok(run, "index", colours, "--name", "colours", "--json")
    assert (summary["items"], summary["embedded"], summary["reused"]) == (51, 3, 48)
    assert summary["store"] == ("annoy" if not store else "milvus")  # the store is kept without --store
    assert len(ok(run, "search", "red", "--top", "100", "--json")["results"]) == 51


def test_dedupe_delete_and_restore(words_home, dup_folder, fake_backbone, run, store):
    ok(run, "index", dup_folder, *store)
    doc = ok(run, "dedupe", "--json")
    found = [{g["keep"], *(d["path"] for d in g["duplicates"])} for g in doc["groups"]]
    assert sorted(map(sorted, found)) == sorted(map(sorted, expected_groups(dup_folder)))
    before = ok(run, "indexes", "--json")[0]["count"]
    assert ok(run, "dedupe", "--delete", "--json")["removed"] == 5
    assert ok(run, "indexes", "--json")[0]["count"] == before - 5
    assert ok(run, "index", dup_folder, "--json")["items"] == before - 5  # tombstones keep them out
    gone = doc["groups"][0]["duplicates"][0]["path"]
    ok(run, "dedupe", "--restore", gone)
    again = ok(run, "index", dup_folder, "--json")
    assert again["items"] == before - 4 and again["embedded"] == 0


def test_serve_answers_from_either_store(colours, run):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from devise.web.app import create_app

    client = TestClient(create_app(token="t"), base_url="http://127.0.0.1:8765", raise_server_exceptions=False)
    got = client.get("/api/search", params={"q": "red", "top": "5"})
    assert got.status_code == 200, got.text
    assert [r["path"] for r in got.json()["results"]] == paths(ok(run, "search", "red", "--top", "5", "--json"))


def test_both_stores_give_the_same_top_10(words_home, colour_folder, fake_backbone, run, tmp_path):
    if not _has_milvus():
        pytest.skip("the milvus extra is not installed")
    from devise.index.stores import milvus

    uri = str(tmp_path / "same.db")
    ok(run, "index", colour_folder, "--name", "a", "--method", "exact")
    ok(run, "index", colour_folder, "--name", "m", "--method", "exact", "--store", "milvus", "--uri", uri)
    try:
        for args in (["search", "red"], ["search", "blue + white"], ["similar", colour_folder / "green" / "001.jpg"],
                     ["similar", colour_folder / "black" / "004.jpg", "--filter", "NOT path:*black*"]):
            a, m = (ok(run, *args, "--top", "10", "--json", "--index", name) for name in ("a", "m"))
            assert paths(a) == paths(m), args
            assert [r["score"] for r in a["results"]] == pytest.approx([r["score"] for r in m["results"]], abs=1e-5)
    finally:
        milvus.close()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("uri", ["http://127.0.0.1:{port}", "mongodb://nowhere", "http://host-without-port", "photos"])
def test_bad_uri_is_one_line_and_exit_1_within_15_s(words_home, colour_folder, fake_backbone, run, uri):
    if not _has_milvus():
        pytest.skip("the milvus extra is not installed")
    start = time.monotonic()
    result = run("index", colour_folder, "--store", "milvus", "--uri", uri.format(port=_closed_port()))
    assert time.monotonic() - start < 15
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and "uri" in result.output.lower(), result.output


def test_bad_token_is_one_line(words_home, colour_folder, fake_backbone, run, monkeypatch):
    """A token for a server that is not there: the same one line, and the token is never printed."""
    if not _has_milvus():
        pytest.skip("the milvus extra is not installed")
    monkeypatch.setenv("MILVUS_TOKEN", "root:not-the-password")
    result = run("index", colour_folder, "--store", "milvus", "--uri", f"http://127.0.0.1:{_closed_port()}")
    assert result.exit_code == 1 and "not-the-password" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("target", ["devise.data.feature_cache:FeatureCache.store",
                                    "devise.index.stores.milvus_writer:MilvusWriter.switch"])
def test_kill_9_during_a_milvus_index_keeps_the_previous_alias(target, words_home, colour_folder, fake_backbone,
                                                                 run, tmp_path):
    if not _has_milvus():
        pytest.skip("the milvus extra is not installed")
    from devise.index.stores import milvus

    uri = str(tmp_path / "kill.db")
    ok(run, "index", colour_folder, "--store", "milvus", "--uri", uri)
    milvus.close()  # Milvus Lite: one process per .db file
    add_images(colour_folder, "red", 150, start=100)
    proc, marker = start_paused(words_home, tmp_path, target, 1 if "cache" in target else 0, "index", colour_folder)
    kill_when_paused(proc, marker)
    try:
        assert ok(run, "indexes", "--json")[0]["count"] == 48  # the previous version still serves
        from pymilvus import MilvusClient  # noqa: F401  (imported by the store already)

        from devise.index.store import open_index

        idx = open_index("colours")
        live = milvus.client(uri).describe_alias(milvus.alias_of("colours"))["collection_name"]
        assert live == idx.manifest.store["collection"]
        assert paths(ok(run, "search", "red", "--json"))
        again = ok(run, "index", colour_folder, "--json")
        assert again["items"] == 198 and again["store"] == "milvus"
        if target.endswith("FeatureCache.store"):
            assert again["embedded"] < 150  # batches cached before the kill are not embedded again
        left = [c for c in milvus.client(uri).list_collections() if c.startswith(milvus.alias_of("colours"))]
        assert len(left) <= 2  # the killed build's collection was swept
    finally:
        milvus.close()


def test_pymilvus_is_not_imported_for_an_annoy_index(colours, run, store):
    if store:
        pytest.skip("an Annoy-only check")
    code = ("import sys, devise; devise.search('red'); devise.similar(sys.argv[1]); "
            "print('pymilvus' in sys.modules)")
    import os
    import subprocess

    out = subprocess.run([sys.executable, "-c", code, str(colours / "red" / "001.jpg")], capture_output=True,
                         text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_export_writes_npy_shards_and_parquet_metadata(colours, run, tmp_path):
    import numpy as np
    import pyarrow.parquet as pq

    from devise.index.store import open_index

    out = tmp_path / "export"
    doc = ok(run, "export", out, "--shard-rows", "20", "--json")
    assert (doc["rows"], doc["shards"]) == (48, 3)
    idx = open_index("colours")
    features = np.concatenate([np.load(p) for p in sorted((out / "img_emb").glob("*.npy"))])
    words = np.concatenate([np.load(p) for p in sorted((out / "word_emb").glob("*.npy"))])
    np.testing.assert_array_equal(features, np.asarray(idx.vectors("features")))
    np.testing.assert_array_equal(words, np.asarray(idx.vectors("words")))
    meta = pq.read_table(sorted((out / "metadata").glob("*.parquet"))).to_pylist()
    assert [m["id"] for m in meta] == list(range(48))
    assert [m["image_path"] for m in meta] == [it["path"] for it in idx.items]
    assert json.loads((out / "manifest.json").read_text())["kind"] == "export"
    again = run("export", out)  # never over an existing folder
    assert again.exit_code == 1 and "already exists" in again.output
    assert not list(tmp_path.glob(".export.*"))  # no staging folder left behind


def test_compressed_image_trees_rerank_exactly(words_home):
    """Image features wide enough get PCA trees; the re-rank scores on the full rows, and edits keep the trees."""
    import numpy as np

    from devise.core.errors import SearchIndexError
    from devise.index import edit, items, tuning, writer
    from devise.index.store import open_index

    n, dim, rng = 1500, tuning.COMPRESS_DIMS + 64, np.random.default_rng(1)
    centres = np.abs(rng.normal(size=(30, dim)))
    features = (centres[rng.integers(0, 30, n)] + rng.normal(0, 0.3, (n, dim))).astype(np.float32)
    rows = [items.make_item(i, f"/photos/x/img{i:05d}.jpg", "x", 1, 0) for i in range(n)]
    counts = {"items": n, "embedded": 0, "reused": 0, "removed": 0, "skipped": 0, "tombstoned": 0}
    writer.write_version("wide", rng.normal(size=(n, 50)).astype(np.float32), features, rows, method="annoy",
                         root="/photos", model="conse", model_fingerprint="synthetic", backbone="fake",
                         backbone_fingerprint=None, words="glove-6b-50d", counts=counts)
    idx = open_index("wide")
    assert idx.manifest.store["compressed"]["features"]["dims"] == tuning.COMPRESS_DIMS
    space, full = idx.space("features"), np.asarray(idx.vectors("features"))
    hits = 0
    for q in rng.choice(n, 50, replace=False):
        found = space.nearest(full[q], 10, exclude={int(q)})
        sims = full @ full[q]
        sims[q] = -np.inf
        want = set(np.argsort(-sims)[:10].tolist())
        hits += len({i for i, _ in found} & want)
        assert [s for _, s in found] == pytest.approx([float(sims[i]) for i, _ in found], abs=1e-5)  # exact scores
    assert hits / 500 >= 0.99
    edit.edit_fields("wide", {0: {"note": 1.0}})  # a new version linking the arrays: still compressed
    idx = open_index("wide")
    assert idx.manifest.store["compressed"] and idx.items[0]["fields"] == {"note": 1.0}
    (idx.version_dir / "features.pca.npy").write_bytes(b"damaged")
    with pytest.raises(SearchIndexError, match=r"features\.pca\.npy"):
        open_index("wide").space("features")


@pytest.fixture
def milvus_server(tmp_path):
    """A Milvus Lite gRPC server on a free port: a Milvus URI that many processes can use, like a real server."""
    import subprocess

    if not _has_milvus():
        pytest.skip("the milvus extra is not installed")
    port = _closed_port()
    proc = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "the Milvus Lite server did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        from devise.index.stores import milvus

        milvus.close()
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(__import__("importlib").util.find_spec("ray") is None, reason="ray not installed")
def test_ray_actors_write_the_rows_into_a_milvus_server(words_home, colour_folder, fake_backbone, run, tmp_path,
                                                         milvus_server, monkeypatch):
    from pathlib import Path

    from devise.engines import ray_embed as ray_engine
    from devise.index.stores import milvus_rows

    tests = str(Path(__file__).resolve().parent)
    monkeypatch.setattr(ray_engine, "BACKBONE_FACTORY", "helpers:fake_backbone_factory")
    monkeypatch.setattr(ray_engine, "WORKER_PATHS", [tests])
    monkeypatch.setattr(milvus_rows, "SHARD", 10)  # 5 shards over 2 actors
    ray_args = ["--engine", "ray", "--workers", "2"]

    def driver_insert(*args, **kwargs):
        raise AssertionError("the driver inserted rows")

    with monkeypatch.context() as m:
        m.setattr(milvus_rows, "insert", driver_insert)  # the actors' processes keep the real one
        ok(run, "index", colour_folder, "--name", "srv", "--store", "milvus", "--uri", milvus_server, *ray_args)
    ok(run, "index", colour_folder, "--name", "ann")
    for args in (["search", "red"], ["similar", colour_folder / "blue" / "003.jpg", "--filter", "NOT label:blue"]):
        a, m = (ok(run, *args, "--top", "10", "--json", "--index", name) for name in ("ann", "srv"))
        assert paths(a)[:5] == paths(m)[:5], args  # the fake backbone ties some images further down
        assert [r["score"] for r in a["results"]] == pytest.approx([r["score"] for r in m["results"]], abs=1e-5)
    lite = run("index", colour_folder, "--name", "lite", "--store", "milvus", "--uri", tmp_path / "l.db", *ray_args)
    assert lite.exit_code == 0, lite.output
    assert "the driver writes the rows" in lite.stderr  # Milvus Lite: one process per .db file
