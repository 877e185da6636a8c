"""Issue 31's input faults: NaN and out-of-range numbers, a busy port, hostile JSON, odd EXIF, HEIC/AVIF,
duplicate labels, files gone since indexing, empty strings. Each answer is one line, never a traceback."""
import json
import socket
import struct
import warnings

import pytest
from PIL import Image

from helpers import make_image

ONE_LINE_JSON = {"error"}


def assert_usage_error(result, option):
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output, result.output


@pytest.mark.parametrize("args, option", [
    (["dedupe", "--threshold", "nan"], "--threshold"),
    (["dedupe", "--threshold", "NaN"], "--threshold"),
    (["label", "--labels", "cat", "--assign", "--min-score", "nan"], "--min-score"),
    (["label", "--labels", "cat", "--assign", "--min-score", "inf"], "--min-score"),
    (["serve", "--max-upload-mb", "nan"], "--max-upload-mb"),
    (["train", "DIR", "--holdout", "nan", "--out", "OUT"], "--holdout"),
    (["index", "DIR", "--engine", "ray", "--gpus-per-worker", "nan"], "--gpus-per-worker"),
    (["slices", "--min-drop", "-inf"], "--min-drop"),
])
def test_nan_and_infinity_are_usage_errors(run, tmp_path, args, option):
    args = [str(tmp_path) if a == "DIR" else str(tmp_path / "m") if a == "OUT" else a for a in args]
    assert_usage_error(run(*args), option)


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999999", str(2**32)])
def test_seeds_outside_what_numpy_takes_are_usage_errors(run, tmp_path, seed):
    assert_usage_error(run("train", tmp_path, "--seed", seed, "--out", tmp_path / "m"), "--seed")
    assert_usage_error(run("slices", "--seed", seed), "--seed")


def test_the_largest_seed_is_one_numpy_takes():
    import numpy as np

    from devise.commands.support import SEED

    np.random.seed(SEED.convert(str(2**32 - 1), None, None))
    assert SEED.max == 2**32 - 1


@pytest.mark.parametrize("args, option", [
    (["--home", "", "indexes"], "--home"),
    (["index", "DIR", "--name", ""], "--name"),
    (["search", "cat", "--sheet", ""], "--sheet"),
    (["search", "cat", "--index", " "], "--index"),
    (["walk", "--gif", ""], "--gif"),
    (["map", "--out", ""], "--out"),
    (["dedupe", "--move-to", ""], "--move-to"),
])
def test_empty_strings_are_usage_errors(run, tmp_path, devise_home, args, option):
    args = [str(tmp_path) if a == "DIR" else a for a in args]
    assert_usage_error(run(*args), option)
    assert not (devise_home / "indexes").exists()  # nothing was built under a default name


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_serve_on_a_busy_port_or_unknown_host_is_one_line(run, busy_port):
    pytest.importorskip("uvicorn")
    for args, word in ((["--port", busy_port], "already in use"), (["--host", "no-such-host.invalid"], "--host")):
        result = run("serve", *args)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and result.output.startswith("Error: "), result.output
        assert word in result.output and "serving" not in result.output


def _web_client(**options):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from devise.web.app import create_app

    return TestClient(create_app(token="t", **options), base_url="http://127.0.0.1:8765",
                      raise_server_exceptions=False)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("url", ["/api/items", "/api/dedupe/delete", "/api/dedupe/move"])
@pytest.mark.parametrize("body", [DEEP, '{"paths": ' + "[" * 40 + "]" * 40 + "}", '{"index": ' + DEEP + "}"])
def test_deeply_nested_json_is_a_400(url, body):
    got = _web_client(allow_edits=True).post(url, content=body, headers={"X-Devise-Token": "t",
                                                                         "Content-Type": "application/json"})
    assert got.status_code == 400, got.text
    assert set(got.json()) == ONE_LINE_JSON and "nest" in got.json()["error"]


def test_nul_bytes_are_a_400(dup_index):
    client = _web_client(allow_edits=True)
    auth = {"X-Devise-Token": "t"}
    moved = client.post("/api/dedupe/move", json={"move_to": "/tmp/a\0b"}, headers=auth)
    items = client.post("/api/items", json={"paths": ["/x\0y"]}, headers=auth)
    search = client.get("/api/search", params={"q": "cat", "filter": "path:*\0*"})
    for got in (moved, items, search):
        assert got.status_code == 400, got.text
        assert "NUL" in got.json()["error"]
    assert dup_index.exists()


def test_the_connection_still_answers_after_a_hostile_body(words_home):
    pytest.importorskip("uvicorn")
    import httpx

    from devise.web.app import BackgroundServer, create_app

    with BackgroundServer(create_app(token="t")) as server, httpx.Client(base_url=server.url) as client:
        bad = client.post("/api/items", content=DEEP, headers={"X-Devise-Token": "t"})
        after = client.get("/api/indexes")  # the same keep-alive connection
    assert bad.status_code == 400 and after.status_code == 200 and after.json() == []


def exif_jpeg(path, entries=2):
    """A JPEG whose EXIF Orientation tag has `entries` values (it must have exactly one)."""
    ifd = struct.pack("<HHHI", 1, 0x0112, 3, entries) + struct.pack("<HH", 6, 6) + struct.pack("<I", 0)
    Image.new("RGB", (64, 48), (30, 120, 200)).save(path, exif=b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd)
    return path


def test_malformed_exif_warns_nothing(tmp_path, capfd):
    from devise.data.images import open_rgb

    path = exif_jpeg(tmp_path / "two-orientations.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = open_rgb(path)
    assert min(img.size) == 48
    assert capfd.readouterr().err == ""


def test_heic_and_avif_are_images_for_every_command(words_home, fake_backbone, run, tmp_path):
    pytest.importorskip("pillow_heif")
    from devise.data import folders, formats, images
    from devise.web import uploads

    assert folders.IMAGE_SUFFIXES is formats.IMAGE_SUFFIXES is images.IMAGE_SUFFIXES is uploads.IMAGE_SUFFIXES
    root = tmp_path / "phone"
    make_image(root / "a.jpg", (200, 30, 30))
    Image.new("RGB", (40, 30), (30, 200, 30)).save(root / "b.avif")
    formats.heif_plugin()
    Image.new("RGB", (40, 30), (30, 30, 200)).save(root / "c.heic")
    built = run("index", root, "--json")
    assert built.exit_code == 0 and "not an image" not in built.output, built.output
    assert json.loads(built.stdout)["items"] == 3
    tagged = run("tag", root / "c.heic", root / "b.avif", "--json")
    assert tagged.exit_code == 0, tagged.output
    assert len(json.loads(tagged.stdout)["images"]) == 2


def test_heic_without_the_plugin_names_the_install(tmp_path, monkeypatch):
    from devise.core.errors import BadImageError
    from devise.data import formats
    from devise.data.images import open_rgb

    (tmp_path / "x.heic").write_bytes(b"\0\0\0\x18ftypheic" + bytes(64))
    monkeypatch.setattr(formats, "heif_plugin", lambda: False)
    with pytest.raises(BadImageError, match="pip install pillow-heif"):
        open_rgb(tmp_path / "x.heic")


def test_duplicate_labels_are_merged(tmp_path, capsys):
    from devise.data.labels import parse_labels

    (tmp_path / "labels.txt").write_text("cup\ncup\nCUP\n\nhot dog\nHot  Dog\na\na\n")
    assert parse_labels(str(tmp_path / "labels.txt")) == ["cup", "hot dog", "a"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "4 duplicate label(s) merged" in err and "'CUP' into 'cup'" in err
    assert parse_labels("cat,dog") == ["cat", "dog"] and capsys.readouterr().err == ""


def test_tag_prints_one_row_per_merged_label(words_home, fake_backbone, run, tmp_path):
    make_image(tmp_path / "x.jpg", (200, 30, 30))
    (tmp_path / "labels.txt").write_text("cup\ncup\nCUP\n")
    result = run("tag", tmp_path / "x.jpg", "--labels", tmp_path / "labels.txt", "--json")
    assert result.exit_code == 0, result.output
    assert [t["word"] for t in json.loads(result.stdout)["images"][0]["tags"]] == ["cup"]


def test_files_gone_since_indexing_are_named_and_drawn_as_missing(words_home, colour_folder, fake_backbone, run,
                                                                 tmp_path):
    assert run("index", colour_folder).exit_code == 0
    gone = sorted(colour_folder.rglob("*.jpg"))
    for path in gone[:3]:
        path.unlink()
    sheet = run("search", "red", "--top", "48", "--sheet", tmp_path / "sheet.png")
    gif = run("walk", "--gif", tmp_path / "walk.gif")
    for result in (sheet, gif):
        assert result.exit_code == 0, result.output
        warning = [line for line in result.stderr.splitlines() if line.startswith("warning")]
        assert len(warning) == 1 and "3 of 48 image(s)" in warning[0] and "'missing'" in warning[0], result.stderr
        assert str(gone[0]) in warning[0] or any(str(p) in warning[0] for p in gone[:3])


def test_the_missing_tile_says_so_in_words(tmp_path):
    from devise.data.sheet import missing_tile

    (tmp_path / "here.jpg").write_bytes(b"not an image")
    missing, unreadable = missing_tile(tmp_path / "gone.jpg", 192), missing_tile(tmp_path / "here.jpg", 192)
    assert missing.tobytes() != unreadable.tobytes()  # the words differ
    text_pixels = sum(1 for p in missing.getdata() if p == (170, 30, 30))
    assert text_pixels > 50  # a word is drawn, not a plain square


def _release_fifo(path):
    """Open `path` for writing and close it, so that any reader blocked on it sees end of file."""
    import os

    for _ in range(50):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return


def test_the_server_stays_up_under_a_hostile_mix(dup_index, tmp_path):
    """100 requests touching a FIFO, a decompression bomb and a huge TIFF: /api/search keeps answering within 1 s."""
    pytest.importorskip("uvicorn")
    import io
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from devise.web.app import BackgroundServer, create_app

    fifo, bomb, huge = dup_index / "alpha" / "000.png", dup_index / "beta" / "000.png", dup_index / "gamma" / "000.png"
    for path in (fifo, bomb, huge):
        path.unlink()
    os.mkfifo(fifo)
    Image.new("1", (12_000, 12_000)).save(bomb, format="PNG", optimize=True)
    Image.new("L", (9000, 9000), 90).save(huge, format="TIFF", compression="tiff_lzw")
    upload_bomb, upload_huge = bomb.read_bytes(), huge.read_bytes()
    app = create_app(token="t", decode_slots=2, decode_seconds=3, collection_seconds=3)
    try:
        with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=60) as client:
            ids = {item["path"]: item["id"] for item in client.post(
                "/api/items", json={"paths": [str(fifo), str(bomb), str(huge)]},
                headers={"X-Devise-Token": "t"}).json()["items"]}
            assert client.get("/api/search", params={"q": "black"}).status_code == 200  # the index is open

            def hostile(i):
                target = ids[str((fifo, bomb, huge)[i % 3])]
                kind = i % 5
                if kind == 0:
                    return client.get(f"/thumb/{target}")
                if kind == 1:
                    return client.get("/api/similar", params={"id": target})
                if kind == 2:
                    return client.get("/api/dedupe")
                data = upload_bomb if i % 2 else upload_huge
                return client.post("/api/tag", files={"image": ("x.tif" if i % 2 == 0 else "x.png", io.BytesIO(data))},
                                   headers={"X-Devise-Token": "t"})

            with ThreadPoolExecutor(16) as pool:
                answers = pool.map(hostile, range(100))
                time.sleep(1.0)  # the mix is in flight
                timings = []
                for _ in range(5):
                    start = time.perf_counter()
                    got = client.get("/api/search", params={"q": "white"})
                    timings.append(time.perf_counter() - start)
                    assert got.status_code == 200, got.text
                statuses = [a.status_code for a in answers]
    finally:
        _release_fifo(fifo)
    assert max(timings) < 1.0, timings
    assert len(statuses) == 100 and not [s for s in statuses if s >= 500 and s != 503], statuses
    assert {200, 503} & set(statuses) and 500 not in statuses


def test_numpy_saying_not_enough_free_space_is_a_full_home(devise_home):
    """Found by bench/faults.py on a real 3 MB tmpfs: np.save's space check raises an OSError with no errno."""
    from devise.core import home

    error = home.storage_error(OSError("Not enough free space to write 80000000 bytes after offset 128"),
                               devise_home / "words" / "vectors.npy")
    assert error is not None and "is full" in str(error) and "Not enough free space" in str(error)
    assert home.storage_error(OSError("something else"), devise_home / "x") is None
