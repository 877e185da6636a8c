"""`devise serve`'s JSON API: the CLI's --json shapes, no TensorFlow for indexed images, and the safety rules."""
import asyncio
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from helpers import fit_model, make_image

for _name in ("starlette", "httpx", "multipart", "uvicorn"):
    pytest.importorskip(_name, reason="the web extra is not installed: pip install 'devise[web]' httpx")

from starlette.testclient import TestClient  # noqa: E402

BASE = "http://127.0.0.1:8765"
TOKEN = "test-token"
AUTH = {"X-Devise-Token": TOKEN}
BAD_FILTER = "a_face:[0.5 TO"


def client_for(**options):
    from devise.web.app import create_app

    return TestClient(create_app(token=TOKEN, **options), base_url=BASE, raise_server_exceptions=False)


@pytest.fixture
def colours(words_home, colour_folder, fake_backbone, run, tmp_path):
    """The colour folder indexed through a fitted model, so that "red" finds the red images."""
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    result = run("index", colour_folder, "--model", model, "--name", "colours", "--json")
    assert result.exit_code == 0, result.output
    return colour_folder


def cli_json(run, *args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def upload(client, path, url="/api/similar", name=None, headers=AUTH, **fields):
    with open(path, "rb") as f:
        return client.post(url, files={"image": (name or Path(path).name, f, "image/jpeg")},
                           data={k: str(v) for k, v in fields.items()}, headers=headers)


@pytest.mark.parametrize("query, extra", [("red", {}), ("red + blue - green", {"top": "5"}),
                                          ("yellow:2 white", {"filter": "path:*yellow* OR path:*white*"})])
def test_search_answers_the_cli_json(colours, run, query, extra):
    got = client_for().get("/api/search", params={"q": query, **extra})
    assert got.status_code == 200, got.text
    args = ["search", query, "--index", "colours"] + [a for k, v in extra.items() for a in (f"--{k}", v)]
    assert got.json() == cli_json(run, *args)
    if query == "red":
        assert all("/red/" in hit["path"] for hit in got.json()["results"][:8])
        plain = client_for().get("/api/search", params={"q": query, "feedback": "0"})
        assert plain.json() == cli_json(run, "search", query, "--index", "colours", "--no-feedback")
        assert client_for().get("/api/search", params={"q": query, "feedback": "maybe"}).status_code == 400


def test_similar_and_tag_of_an_indexed_image_need_no_backbone(colours, run, backbone_calls):
    client = client_for(index="colours")
    path = str(colours / "blue" / "003.jpg")
    image_id = client.post("/api/items", json={"paths": [path]}, headers=AUTH).json()["items"][0]["id"]
    similar = client.get("/api/similar", params={"id": image_id, "top": 5})
    tags = client.get("/api/tag", params={"id": image_id, "top": 4})
    walk = client.get("/api/walk", params={"id": image_id, "limit": 5})
    assert [r.status_code for r in (similar, tags, walk)] == [200, 200, 200]
    assert backbone_calls == []  # stored features and the feature cache: TensorFlow would stay unloaded
    assert similar.json() == cli_json(run, "similar", path, "--top", 5)
    assert tags.json() == cli_json(run, "tag", path, "--index", "colours", "--top", 4)
    assert walk.json() == cli_json(run, "walk", "--start-image", path, "--limit", 5)


def test_uploads_answer_like_the_cli_and_leave_no_file(colours, run, tmp_path, backbone_calls):
    mine = make_image(tmp_path / "outside" / "mine.jpg", (225, 25, 35), seed=5)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "devise-upload-*")))
    client = client_for(index="colours")
    similar = upload(client, mine, top=5)
    tags = upload(client, mine, url="/api/tag", top=3)
    assert similar.status_code == 200 and tags.status_code == 200, (similar.text, tags.text)
    want = cli_json(run, "similar", mine, "--top", 5, "--index", "colours")
    assert similar.json() == {**want, "query": "mine.jpg"}
    want = cli_json(run, "tag", mine, "--index", "colours", "--top", 3)
    want["images"][0]["image"] = "mine.jpg"
    assert tags.json() == want and len(want["images"][0]["tags"]) == 3  # open tags: picturable nouns, not colours
    assert backbone_calls  # an uploaded image is embedded through the backbone
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "devise-upload-*"))) == before
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["mine.jpg"]


def test_indexes_walk_and_map_answer_the_cli_json(colours, run, tmp_path):
    client = client_for()
    assert client.get("/api/indexes").json() == cli_json(run, "indexes")
    walk = client.get("/api/walk", params={"start": "red", "limit": 6, "space": "words"})
    assert walk.json() == cli_json(run, "walk", "--start", "red", "--limit", 6, "--space", "words")
    got = client.get("/api/map", params={"color_by": "class", "filter": "path:*red* OR path:*blue*"})
    want = cli_json(run, "map", "--out", tmp_path / "map.png", "--color-by", "class", "--filter",
                    "path:*red* OR path:*blue*")
    assert got.status_code == 200, got.text
    assert {**got.json(), "out": None} == {**want, "out": None}
    assert set(got.json()["points"][0]) == {"id", "path", "x", "y", "value"}
    assert client.get("/api/map", params={"color_by": "class", "filter": "path:*red* OR path:*blue*"}).json() == got.json()


def test_items_name_ids_and_labels(colours, run):
    client = client_for(index="colours")
    red = str(colours / "red" / "000.jpg")
    got = client.post("/api/items", json={"paths": [red, "/nowhere.jpg"]}, headers=AUTH).json()
    assert got["index"] == "colours" and got["version"].startswith("v-")
    assert got["items"][0]["class"] == "red" and got["items"][0]["id"] >= 0
    assert got["items"][1] == {"path": "/nowhere.jpg", "id": None, "class": None, "label": None}
    # More paths than are looked up one by one: the version's whole path table answers, and agrees.
    every = [str(p) for p in sorted(colours.rglob("*.jpg"))] + [f"/nowhere/{i}.jpg" for i in range(30)]
    table = client.post("/api/items", json={"paths": every}, headers=AUTH).json()["items"]
    assert [i["id"] is None for i in table] == [False] * 48 + [True] * 30
    assert table[every.index(red)] == got["items"][0]
    assert sorted(i["id"] for i in table[:48]) == list(range(48))


@pytest.fixture
def patterns(words_home, dup_folder, fake_backbone, run):
    result = run("index", dup_folder, "--name", "patterns", "--json")
    assert result.exit_code == 0, result.output
    return dup_folder


def test_dedupe_report_and_edits_only_with_allow_edits(patterns, run, tmp_path):
    report = client_for().get("/api/dedupe")
    assert report.status_code == 200 and report.json() == cli_json(run, "dedupe")
    count = cli_json(run, "indexes")[0]["count"]
    for status, client, headers in ((404, client_for(), AUTH), (403, client_for(allow_edits=True), {}),
                                    (403, client_for(allow_edits=True), {"X-Devise-Token": "guess"}),
                                    (403, client_for(allow_edits=True), {**AUTH, "Origin": "http://evil.example"})):
        for url in ("/api/dedupe/delete", "/api/dedupe/move"):
            got = client.post(url, json={"move_to": str(tmp_path / "review")}, headers=headers)
            assert got.status_code == status, (url, got.text)
    assert cli_json(run, "indexes")[0]["count"] == count and not (tmp_path / "review").exists()
    moved = client_for(allow_edits=True).post("/api/dedupe/move", json={"move_to": str(tmp_path / "review")},
                                               headers=AUTH)
    assert moved.status_code == 200, moved.text
    doc = moved.json()
    assert doc["removed"] == report.json()["duplicates"] and len(doc["moved"]) == doc["removed"]
    assert cli_json(run, "indexes")[0]["count"] == count - doc["removed"]
    inside = client_for(allow_edits=True).post("/api/dedupe/move", json={"move_to": str(patterns / "x")}, headers=AUTH)
    assert inside.status_code in (200, 400)  # nothing left to move, or refused: never a folder inside the index


@pytest.mark.parametrize("url, params", [
    ("/api/search", {"q": "red", "filter": BAD_FILTER}), ("/api/similar", {"id": "0", "filter": BAD_FILTER}),
    ("/api/walk", {"filter": BAD_FILTER}), ("/api/map", {"filter": BAD_FILTER}), ("/api/dedupe", {"filter": BAD_FILTER})])
def test_a_malformed_filter_is_a_400_with_the_cli_message(colours, run, url, params):
    got = client_for().get(url, params=params)
    assert got.status_code == 400, got.text
    cli = run("search", "red", "--filter", BAD_FILTER)
    assert cli.exit_code == 1 and got.json() == {"error": cli.output.strip().removeprefix("Error: ")}


def test_bad_queries_and_parameters_are_400_and_unknown_indexes_404(colours, run):
    client = client_for()
    unknown = client.get("/api/search", params={"q": "red sofaa"})
    assert unknown.status_code == 400 and "did you mean" in unknown.json()["error"]
    assert unknown.json()["error"] == run("search", "red sofaa").output.strip().removeprefix("Error: ")
    for params in ({"q": ""}, {"q": "red", "top": "0"}, {"q": "red", "top": "ten"}, {"q": "cat + - dog"}):
        got = client.get("/api/search", params=params)
        assert got.status_code == 400 and "\n" not in got.json()["error"], (params, got.text)
    assert client.get("/api/search", params={"q": "red", "index": "nope"}).status_code == 404
    assert client.get("/api/search", params={"q": "red", "index": "../../etc"}).status_code == 404
    assert client.get("/api/similar", params={"id": "48"}).status_code == 404
    assert client.get("/api/tag", params={"id": "-1"}).status_code == 400
    assert client.get("/api/walk", params={"space": "pixels"}).status_code == 400


def test_thumbnails_by_id_only_cached_under_the_version(colours, devise_home):
    client = client_for()
    first = client.get("/thumb/0")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(first.content)).size[0] <= 256
    version = client.get("/api/indexes").json()[0]["version"]
    assert (devise_home / "cache" / "thumbs" / "colours" / version / "0.jpg").is_file()
    assert first.headers["etag"] and "no-cache" in first.headers["cache-control"]
    again = client.get("/thumb/0", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    pinned = client.get("/thumb/0", params={"v": version})
    assert "immutable" in pinned.headers["cache-control"] and pinned.content == first.content
    large = client.get("/thumb/0", params={"size": "512"})
    assert large.status_code == 200 and large.headers["etag"] != first.headers["etag"]
    assert (devise_home / "cache" / "thumbs" / "colours" / version / "0-512.jpg").is_file()


@pytest.mark.parametrize("path", [
    "/thumb/../../etc/passwd", "/thumb/..%2F..%2Fetc%2Fpasswd", "/thumb/48", "/thumb/-1", "/thumb/1e1",
    "/thumb/%D9%A3", "/thumb/0x1", "/thumb/99999999999999999999", "/thumb/0?index=..%2F..%2Fetc",
    "/thumb/0?size=1024", "/thumb/0?size=..%2F..%2Fetc%2Fpasswd",
    "/static/../../setup.cfg", "/static/..%2F..%2Fsetup.cfg", "/static/%2e%2e/%2e%2e/setup.cfg", "/etc/passwd"])
def test_nothing_outside_the_index_is_served(colours, path):
    got = client_for().get(path)
    assert got.status_code == 404, (path, got.status_code)
    assert b"root:" not in got.content and b"[metadata]" not in got.content


def raw_get(app, raw_path):
    """Status of a GET whose path reaches the app exactly as given: no client tidies the dots away."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    path, _, query = raw_path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8765")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8765)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_dot_segments_that_reach_the_app_unchanged_get_404(colours):
    from devise.web.app import create_app

    app = create_app(token=TOKEN)
    for path in ("/thumb/../../etc/passwd", "/thumb/0/../../../etc/passwd", "/static/../../../../etc/passwd",
                 "/static/../app.py", "/thumb/0?index=../../../etc"):
        status, body = raw_get(app, path)
        assert status == 404 and b"root:" not in body, path


def test_upload_caps_bombs_and_tokens(colours, tmp_path, backbone_calls):
    client = client_for(max_upload_mb=0.05)
    big = tmp_path / "big.png"
    Image.effect_noise((200, 200), 60).convert("RGB").save(big)
    assert big.stat().st_size > 0.05 * (1 << 20)
    assert upload(client, big).status_code == 413
    assert upload(client, big, url="/api/tag").status_code == 413
    bomb = tmp_path / "bomb.png"
    Image.new("1", (12_000, 12_000)).save(bomb, optimize=True)
    got = upload(client_for(), bomb)
    assert got.status_code == 400 and "decompression bomb" in got.json()["error"], got.text
    assert got.json()["error"].startswith("bomb.png:") and tempfile.gettempdir() not in got.json()["error"]
    junk = tmp_path / "notes.jpg"
    junk.write_text("not an image")
    assert upload(client_for(), junk).status_code == 400
    assert backbone_calls == []  # refused before any backbone was asked for
    small = make_image(tmp_path / "ok.jpg", (30, 40, 220))
    assert upload(client_for(), small, headers={}).status_code == 403
    assert upload(client_for(), small, headers={"X-Devise-Token": "nope"}).status_code == 403
    assert client_for().post("/api/items", json={"paths": []}).status_code == 403
    form = client_for().post("/api/similar", data={"top": "3"}, headers=AUTH)
    assert form.status_code == 400 and "image" in form.json()["error"]


def test_the_page_carries_its_token_and_refuses_other_hosts(colours):
    client = client_for(allow_edits=True)
    page = client.get("/")
    assert page.status_code == 200 and TOKEN in page.text and "no-store" in page.headers["cache-control"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<body>")[1].replace('href="?', "")  # nothing from other sites
    assert client.get("/static/app.js").status_code == 200
    assert "app;dur=" in client.get("/api/indexes").headers["server-timing"]
    from devise.web.app import create_app

    rebound = TestClient(create_app(token=TOKEN), base_url="http://evil.example:8765")
    assert rebound.get("/api/indexes").status_code == 421
    network = TestClient(create_app(token=TOKEN, loopback_only=False), base_url="http://192.168.1.5:8765")
    assert network.get("/api/indexes").status_code == 200


def test_serve_names_the_extra_warns_off_loopback_and_checks_the_index(colours, run, monkeypatch):
    from devise.web import app as web_app

    started = []

    def serve_forever(app, sock):  # the socket serve bound before it said "serving"
        started.append(sock.getsockname()[:2])
        sock.close()

    monkeypatch.setattr(web_app, "serve_forever", serve_forever)
    result = run("serve", "--host", "0.0.0.0", "--port", 8999, "--index", "colours")
    assert result.exit_code == 0 and started == [("0.0.0.0", 8999)]
    assert "warning: serving on 0.0.0.0" in result.stderr and "visible on the network" in result.stderr
    assert "warning" not in run("serve").stderr
    missing = run("serve", "--index", "nope")
    assert missing.exit_code == 1 and "no index named 'nope'" in missing.output
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    lacking = run("serve")
    assert lacking.exit_code == 1 and lacking.output.strip().endswith("pip install 'devise[web]'")
    assert len(lacking.output.strip().splitlines()) == 1


def test_starting_the_app_loads_no_tensorflow(tmp_path):
    code = ("import json, sys\nfrom starlette.testclient import TestClient\nfrom devise.web.app import create_app\n"
            "c = TestClient(create_app(), base_url='http://127.0.0.1')\n"
            "codes = [c.get(u).status_code for u in ('/', '/api/indexes', '/static/app.js')]\n"
            "print(json.dumps([codes, [m for m in ('tensorflow', 'keras') if m in sys.modules]]))\n")
    env = {**os.environ, "DEVISE_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[200, 200, 200], []]


def test_ctrl_c_stops_serve_cleanly(tmp_path):
    """Ctrl-C is how the page is stopped: exit 0, nothing but the announcement on stderr."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DEVISE_HOME": str(tmp_path / "home")}
    server = subprocess.Popen([sys.executable, "-m", "devise", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announced = server.stderr.readline()  # said once the socket listens; "" if serve died first
        assert "Ctrl-C stops it" in announced, announced + server.stderr.read()
        # The socket already listens, so this waits for uvicorn itself to answer: its Ctrl-C handling is in place.
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).status == 200
    finally:
        server.send_signal(signal.SIGINT)
        err = announced + server.communicate(timeout=60)[1]
    assert server.returncode == 0, err
    assert err.strip().splitlines() == [f"devise: serving the default index at http://127.0.0.1:{port}/; Ctrl-C stops it."]
