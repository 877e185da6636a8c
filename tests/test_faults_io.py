"""Files and homes that are not what they seem: FIFOs, unreadable files and folders, odd names, full and read-only homes.

Each case must end in a result or one line naming the file or folder and what
to do (exit 1), never a hang, a traceback or "this is a bug".
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import fault_inject
import numpy as np
import pytest

HANG_LIMIT_S = 300  # a hang is for good; a loaded CI machine can be slow


@pytest.fixture
def no_hang():
    """Fail a test that blocks (a FIFO opened for reading waits for a writer forever) instead of hanging the suite."""
    def hung(signum, frame):
        raise TimeoutError(f"blocked for {HANG_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def one_line_error(result, *words):
    """The command failed with exit 1 and a single stderr line holding `words`, no traceback, no "bug"."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "bug" not in result.stderr and "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def error_line(result, *words):
    """The command failed with exit 1; its last stderr line is the error, holding `words`; warnings may precede it."""
    assert result.exit_code == 1, result.output
    assert "bug" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: "), result.stderr
    for word in words:
        assert word in line, line
    return line


# --- 1. a FIFO named like an image -------------------------------------------------------------------------------

def test_fifo_is_skipped_by_index_tag_and_similar(no_hang, words_home, colour_folder, fake_backbone, run):
    fifo = colour_folder / "red" / "pipe.jpg"
    os.mkfifo(fifo)
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    assert f"{fifo}: not a regular file (a FIFO); skipped." in result.stderr
    for command in ("tag", "similar"):
        failed = run(command, fifo)
        assert failed.exit_code == 1, failed.output
        assert f"{fifo}: not a regular file (a FIFO)" in failed.stderr
        assert "bug" not in failed.stderr and "Traceback" not in failed.stderr


def test_fifo_in_place_of_an_indexed_image(no_hang, words_home, colour_folder, fake_backbone, run, tmp_path):
    assert run("index", colour_folder).exit_code == 0
    fifo = colour_folder / "red" / "000.jpg"
    fifo.unlink()
    os.mkfifo(fifo)
    commands = [("search", "red", "--sheet", tmp_path / "sheet.png"),
                ("walk", "--gif", tmp_path / "walk.gif"),
                ("dedupe",),
                ("map", "--out", tmp_path / "map.png")]
    for args in commands:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "bug" not in result.stderr and "Traceback" not in result.stderr
    for name in ("sheet.png", "walk.gif", "map.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_server_answers_around_a_fifo(no_hang, words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder).exit_code == 0
    fifo = colour_folder / "red" / "000.jpg"
    fifo.unlink()
    os.mkfifo(fifo)
    client = web_client()
    for url in ("/api/dedupe", "/api/map"):  # both decode every image: pixel thumbnails, the map's cells
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code, answer.text)
    thumbs = [client.get(f"/thumb/{image_id}").status_code for image_id in range(48)]
    assert thumbs.count(404) == 1 and thumbs.count(200) == 47  # the FIFO's id, and nothing else
    assert client.get("/api/search", params={"q": "red"}).status_code == 200


def test_open_image_file_refuses_every_non_regular_file(no_hang, tmp_path):
    from devise.core.errors import BadImageError
    from devise.data.images import open_image_file, open_rgb, pixel_count

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    for target, kind in ((fifo, "a FIFO"), (tmp_path, "a folder"), ("/dev/zero", "a character device")):
        for reader in (open_rgb, pixel_count, lambda p: open_image_file(p).__enter__()):
            with pytest.raises(BadImageError, match=f"not a regular file \\({kind}\\)"):
                reader(target)


def test_fifo_thumbnail_is_a_404(no_hang, tmp_path):
    from devise.core.errors import BadImageError
    from devise.web.thumbs import thumbnail_bytes

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(BadImageError):
        thumbnail_bytes(str(fifo))


def test_generate_resume_does_not_block_on_a_fifo(no_hang, tmp_path):
    from devise.generation.output_folder import image_ok, png_entry

    fifo = tmp_path / "0000.png"
    os.mkfifo(fifo)
    assert image_ok(fifo, 32) is False
    assert png_entry(fifo) is None


# --- 2. a damaged .ann file whose mtime was set back -------------------------------------------------------------

def devise_process(home, *args, timeout=120):
    """`devise *args` in its own process: a segfault there fails the test instead of killing pytest."""
    env = {**os.environ, "DEVISE_HOME": str(home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "devise", *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=timeout)


def damage_in_place(path):
    """Every 64th 4-byte word of `path` set to 0x7fffffff, written in place: same inode, same size."""
    data = bytearray(path.read_bytes())
    for at in range(0, len(data) - 3, 64 * 4):
        data[at:at + 4] = b"\xff\xff\xff\x7f"
    with open(path, "r+b") as f:
        f.write(data)


def live_version(home, name="colours"):
    return home / "indexes" / name / (home / "indexes" / name / "CURRENT").read_text().strip()


def test_damaged_ann_with_restored_mtime_is_refused(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder, "--method", "annoy").exit_code == 0
    assert devise_process(words_home, "search", "red").returncode == 0  # remembered as verified
    target = live_version(words_home) / "words.ann"
    before = target.stat()
    damage_in_place(target)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (target.stat().st_size, target.stat().st_mtime_ns, target.stat().st_ino) == \
        (before.st_size, before.st_mtime_ns, before.st_ino)
    result = devise_process(words_home, "search", "red")
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "words.ann" in lines[0] and "corrupt" in lines[0], result.stderr


def test_bit_rot_the_checksum_memo_vouches_for_is_refused(words_home, colour_folder, fake_backbone, run):
    """Bit rot changes no size or time: the memo still vouches for the file, and the node check must catch it."""
    from devise.core import integrity

    assert run("index", colour_folder, "--method", "annoy").exit_code == 0
    version = live_version(words_home)
    sha1 = json.loads((version / "manifest.json").read_text())["files"]["words.ann"]["sha1"]
    damage_in_place(version / "words.ann")
    integrity.forget()
    integrity._remember([(os.stat(version / "words.ann"), sha1)])
    result = devise_process(words_home, "search", "red")
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "words.ann: corrupt Annoy index" in lines[0] and "re-index" in lines[0], result.stderr


@pytest.mark.parametrize("dim, count", [(3, 1), (3, 7), (50, 300), (8, 2000)])
def test_node_check_passes_every_built_index_and_catches_each_kind_of_damage(tmp_path, dim, count):
    from devise.core.errors import SearchIndexError
    from devise.index.ann import build_annoy, check_nodes

    rng = np.random.default_rng(count)
    path = build_annoy(rng.standard_normal((count, dim)).astype(np.float32), tmp_path / "x.ann", n_trees=5)
    check_nodes(path, dim, count)
    good = path.read_bytes()
    table = np.frombuffer(good, np.int32).reshape(-1, 3 + dim)
    split = int(np.flatnonzero(table[:, 0] > 2 + dim)[0]) if (table[:, 0] > 2 + dim).any() else None
    damage = [(0, 0, 7), (len(table) - 1, 0, count + 1)]  # an item that is not a leaf; a root of the wrong size
    if split is not None:
        damage += [(split, 1, split), (split, 2, -1)]  # a cycle to itself; a negative child
    leaves = np.flatnonzero((table[:, 0] > 1) & (table[:, 0] <= 2 + dim))
    if len(leaves):
        damage.append((int(leaves[0]), 1, count))  # an item id past the last item
    for row, column, value in damage:
        bad = table.copy()
        bad[row, column] = value
        path.write_bytes(bad.tobytes())
        with pytest.raises(SearchIndexError, match="corrupt Annoy index"):
            check_nodes(path, dim, count)
    path.write_bytes(good[:-4])
    with pytest.raises(SearchIndexError, match="whole number"):
        check_nodes(path, dim, count)
    with pytest.raises(SearchIndexError, match="node counts"):
        path.write_bytes(good)
        check_nodes(path, dim, count + 1)


# --- 3. control characters in file names -------------------------------------------------------------------------

EVIL = "red\x1b[2J\x1b[31mX\rFAKE\nFAKE: \u202eevil"


def assert_no_raw_controls(result, context):
    """No control character reached the terminal, and no name's LF started a line of its own."""
    for stream in (result.stdout, result.stderr):
        for line in stream.splitlines():
            assert not any(ch in line for ch in "\x1b\r\u202e"), (context, line)
            assert not line.startswith("FAKE"), (context, line)


def test_control_characters_in_names_are_escaped_everywhere(words_home, colour_folder, fake_backbone, run,
                                                            tmp_path):
    from helpers import COLOURS, make_image

    evil = make_image(colour_folder / "red" / f"{EVIL}.jpg", COLOURS["red"], seed=7)
    (colour_folder / "red" / f"{EVIL}-broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (colour_folder / "red" / f"{EVIL}.txt").write_text("notes")
    indexed = run("index", colour_folder)
    assert indexed.exit_code == 0, indexed.output
    assert "\\x1b[2J\\x1b[31mX\\rFAKE\\nFAKE: \\u202eevil" in indexed.stderr  # shown, escaped, in the warnings
    commands = [("index", colour_folder), ("search", "red", "--top", "60"), ("similar", evil, "--top", "60"),
                ("tag", evil), ("walk",), ("dedupe", "--threshold", "0.5"), ("indexes",),
                ("label", "--labels", "red,green", "--assign"), ("search", "red", "--filter", f"path:*{EVIL}*"),
                ("tag", colour_folder / "red" / f"{EVIL}-broken.jpg"), ("similar", tmp_path / f"{EVIL}.jpg")]
    for args in commands:
        result = run(*args)
        assert "bug" not in result.output, (args, result.output)
        assert_no_raw_controls(result, args)
    listed = run("search", "red", "--top", "60")
    assert "\\x1b[2J" in listed.stdout
    exact = run("search", "red", "--top", "60", "--json")
    assert str(evil) in [hit["path"] for hit in json.loads(exact.stdout)["results"]]  # JSON keeps the name exact


def test_printable_escapes_only_what_a_terminal_would_act_on():
    from devise.core.text import printable

    assert printable("caf\u00e9 \u732b/a b.jpg") == "caf\u00e9 \u732b/a b.jpg"
    assert printable("a\x1bb\rc\nd\te\x7f\x9b") == "a\\x1bb\\rc\\nd\\te\\x7f\\x9b"
    assert printable("caf" + b"\xe9".decode("utf-8", "surrogateescape")) == "caf\\xe9"
    assert printable("one\ntwo\x1b", keep_newlines=True) == "one\ntwo\\x1b"
    assert printable("\u202egnp.exe") == "\\u202egnp.exe"


# --- 4. thumbnails answer only their own page --------------------------------------------------------------------

def web_client():
    for name in ("starlette", "httpx"):
        pytest.importorskip(name)
    from starlette.testclient import TestClient

    from devise.web.app import create_app

    return TestClient(create_app(token="t"), base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


def test_thumbnails_refuse_other_sites_and_carry_corp(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder).exit_code == 0
    client = web_client()
    for site in ("cross-site", "same-site"):
        for url in ("/thumb/0", "/thumb/0?index=colours", "/thumb/99999?index=nosuch"):
            refused = client.get(url, headers={"Sec-Fetch-Site": site})
            assert refused.status_code == 403, (site, url, refused.text)
    for headers in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
        served = client.get("/thumb/0?index=colours", headers=headers)
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.headers["cross-origin-resource-policy"] == "same-origin"
        again = client.get("/thumb/0?index=colours", headers={**headers, "If-None-Match": served.headers["etag"]})
        assert again.status_code == 304 and again.headers["cross-origin-resource-policy"] == "same-origin"


# --- 5. a file name that is not UTF-8 ----------------------------------------------------------------------------

def test_a_name_that_is_not_utf8_indexes_like_any_other(words_home, colour_folder, fake_backbone, run, tmp_path):
    from helpers import COLOURS, make_image

    odd = os.fsdecode(os.path.join(os.fsencode(colour_folder), b"red", b"caf\xe9.jpg"))
    make_image(Path(odd), COLOURS["red"], seed=11)
    indexed = run("index", colour_folder, "--json")
    assert indexed.exit_code == 0, indexed.output
    assert json.loads(indexed.stdout)["items"] == 49
    again = run("index", colour_folder, "--json")  # the feature cache found it again: nothing embedded twice
    assert json.loads(again.stdout)["embedded"] == 0, again.output
    for args in (("tag", odd), ("similar", odd), ("classify", odd), ("search", "red", "--top", "60")):
        shown = run(*args)
        assert shown.exit_code == 0 and "bug" not in shown.stderr, (args, shown.output)
        exact = run(*args, "--json")
        assert exact.exit_code == 0, (args, exact.output)
        if args[0] != "similar":  # similar leaves the query image out of its answer
            assert "caf\\xe9.jpg" in shown.stdout, (args, shown.stdout)  # the byte, shown escaped
            assert "caf\\udce9.jpg" in exact.stdout  # JSON: the exact name, as Python's os.fsdecode gives it
    sheet = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"sh\xe9et.png"))
    assert run("search", "red", "--sheet", sheet).exit_code == 0
    assert run("search", "red", "--sheet", sheet).exit_code == 0  # devise's own sheet, recorded: overwritten


def test_file_cache_keys_old_and_odd_names_apart(tmp_path):
    from devise.data.file_cache import FileCache

    plain, odd = tmp_path / "cafe.jpg", os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg"))
    for path in (plain, odd):
        Path(path).write_bytes(b"x")
    with FileCache(tmp_path / "c.sqlite", "facts", (("n", "INTEGER"),)) as cache:
        cache.store([(str(plain), (1,)), (odd, (2,))])
    with FileCache(tmp_path / "c.sqlite", "facts", (("n", "INTEGER"),)) as cache:
        assert cache.lookup([str(plain), odd]) == {str(plain): (1,), odd: (2,)}
        stored = cache.db.execute("SELECT path FROM facts ORDER BY path").fetchall()
    assert sorted(stored, key=repr) == sorted([(str(plain),), (os.fsencode(odd),)], key=repr)  # plain names: TEXT as before


# --- 6, 7. an unreadable folder, an unreadable file ---------------------------------------------------------------

@pytest.fixture
def deny(monkeypatch):
    """deny(path): make `path` unreadable. Root ignores permission bits, so there the OS call itself is made to fail."""
    denied, modes = set(), {}
    real_scandir, real_open = os.scandir, os.open

    def scandir(path="."):
        if os.fspath(path) in denied:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def os_open(path, flags, *args, **kwargs):
        if os.fspath(path) in denied and not flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def make_unreadable(path):
        """Returns a function that makes `path` readable again."""
        modes[path] = path.stat().st_mode
        path.chmod(0)
        if os.geteuid() == 0:
            denied.add(str(path))
            monkeypatch.setattr(os, "scandir", scandir)
            monkeypatch.setattr(os, "open", os_open)

        def allow():
            path.chmod(modes.pop(path))
            denied.discard(str(path))
        return allow

    yield make_unreadable
    for path, mode in modes.items():
        path.chmod(mode)


def test_an_unreadable_folder_is_named(words_home, colour_folder, fake_backbone, run, deny):
    deny(colour_folder / "green")
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    assert f"{colour_folder / 'green'}: folder cannot be listed (permission denied)" in result.stderr
    assert json.loads(result.stdout)["items"] == 40


def test_train_says_why_it_found_one_class(words_home, tmp_path, fake_backbone, run, deny):
    from helpers import COLOURS, make_image

    for name in ("red", "blue"):
        for i in range(4):
            make_image(tmp_path / "two" / name / f"{i}.jpg", COLOURS[name], seed=i)
    deny(tmp_path / "two" / "blue")
    result = run("train", tmp_path / "two", "--out", tmp_path / "model", "--epochs", "1")
    line = error_line(result, "found 1 class folder", "could not be listed", str(tmp_path / "two" / "blue"))
    assert "make them readable" in line


def test_an_unreadable_file_is_permission_denied_not_corrupt(words_home, colour_folder, fake_backbone, run, deny):
    target = colour_folder / "red" / "000.jpg"
    allow = deny(target)
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0, result.output
    assert f"{target}: permission denied" in result.stderr and "corrupt" not in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["items"], summary["embedded"]) == (47, 47)
    for command in ("tag", "similar"):
        failed = run(command, target)
        assert failed.exit_code == 1 and "permission denied" in failed.stderr and "corrupt" not in failed.stderr
    allow()  # size and mtime unchanged: the refusal must not have been remembered as the file's contents
    fixed = run("index", colour_folder, "--json")
    assert fixed.exit_code == 0, fixed.output
    assert (json.loads(fixed.stdout)["items"], json.loads(fixed.stdout)["embedded"]) == (48, 1)


# --- 8. a 32-bit float TIFF --------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, values", [("F", (-1.5, 0.25, 3.0)), ("I", (-70000, 0, 900000)), ("I;16", (0, 300, 65535))])
def test_high_depth_tiffs_decode(tmp_path, mode, values):
    from PIL import Image

    from devise.data.images import open_rgb

    low, mid, high = values
    arr = np.full((40, 60), mid, {"F": np.float32, "I": np.int32, "I;16": np.uint16}[mode])
    arr[:, :20], arr[:, 40:] = low, high
    img = Image.fromarray(arr)
    assert img.mode == mode
    img.save(tmp_path / "deep.tif")
    rgb = np.asarray(open_rgb(tmp_path / "deep.tif"))
    assert rgb.shape == (40, 60, 3)
    assert rgb[:, :20].max() == 0 and rgb[:, 40:].min() == 255  # stretched from its own range
    assert 0 < rgb[0, 30, 0] < 255


def test_float_tiff_indexes(words_home, colour_folder, fake_backbone, run):
    from PIL import Image

    Image.fromarray(np.linspace(0, 1, 48 * 64, dtype=np.float32).reshape(48, 64)).save(
        colour_folder / "red" / "float.tif")
    result = run("index", colour_folder, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["items"] == 49, result.output
    assert "float.tif" not in result.stderr


# --- 9, 10. a read-only or full home -----------------------------------------------------------------------------

@pytest.fixture
def refuse_writes():
    """refuse_writes(root, kind): every write under `root` fails as on a read-only ("erofs") or full ("enospc") disk.

    bench/fault_inject.py makes the fault, in this process: Python's own writes raise OSError, SQLite opens
    read-only or answers "database or disk is full", os.statvfs agrees. Returns a function that takes it away.
    """
    undos = []

    def refuse(root, kind):
        undos.append(fault_inject.install(f"{kind}:{root}"))
        return undos[-1]

    yield refuse
    for undo in reversed(undos):
        undo()


def search_count(run):
    listed = run("indexes", "--json")
    assert listed.exit_code == 0, listed.output
    return json.loads(listed.stdout)[0]["count"]


READING = [("search", "red"), ("tag", "red/000.jpg"), ("similar", "red/000.jpg"), ("walk",), ("dedupe",),
           ("indexes",)]


def check_read_only_home(run, colour_folder, home):
    for args in READING:
        args = [colour_folder / a if a.endswith(".jpg") else a for a in args]
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "bug" not in result.stderr
    for args in (("index", colour_folder), ("label", "--labels", "red,green", "--assign")):
        one_line_error(run(*args), f"the devise home {os.path.realpath(home)} is read-only",
                       "pass --home (or set DEVISE_HOME) to a writable folder")


def test_read_only_home_by_fault_injection(words_home, colour_folder, fake_backbone, run, refuse_writes):
    assert run("index", colour_folder).exit_code == 0
    allow = refuse_writes(words_home, "erofs")
    check_read_only_home(run, colour_folder, words_home)
    allow()
    assert search_count(run) == 48


@pytest.fixture
def mount_or_skip():
    """mount(*args): run `mount`, skipping the test where this user may not mount; everything is unmounted after."""
    mounted = []

    def mount(*args):
        done = subprocess.run(["mount", *map(str, args)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount here ({done.stderr.strip() or done.returncode}); the fault-injection test "
                        f"covers this case")
        mounted.append(args[-1])

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)  # lazily: the test process may hold files there


def test_read_only_home_on_a_read_only_mount(words_home, colour_folder, fake_backbone, run, mount_or_skip):
    assert run("index", colour_folder).exit_code == 0
    mount_or_skip("--bind", words_home, words_home)
    mount_or_skip("-o", "remount,bind,ro", words_home)
    check_read_only_home(run, colour_folder, words_home)


def test_full_home_during_index_by_fault_injection(words_home, colour_folder, fake_backbone, run, refuse_writes):
    from helpers import COLOURS, make_image

    assert run("index", colour_folder).exit_code == 0
    for i in range(8):
        make_image(colour_folder / "red" / f"new{i}.jpg", COLOURS["red"], seed=500 + i)
    allow = refuse_writes(words_home / "indexes", "enospc")  # the features are cached; the index cannot be written
    error_line(run("index", colour_folder), f"the devise home {os.path.realpath(words_home)} is full",
               "free some space")
    allow()
    assert search_count(run) == 48 and run("search", "red").exit_code == 0  # the old index is intact
    allow = refuse_writes(words_home / "cache", "enospc")  # now the feature cache cannot be written either
    for i in range(8, 12):
        make_image(colour_folder / "red" / f"new{i}.jpg", COLOURS["red"], seed=500 + i)
    error_line(run("index", colour_folder), "is full")
    allow()
    again = run("index", colour_folder, "--json")
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["items"], json.loads(again.stdout)["embedded"]) == (60, 4)  # resumed


def test_thumbnails_and_map_on_a_full_home_come_from_memory(words_home, colour_folder, fake_backbone, run,
                                                            refuse_writes):

    assert run("index", colour_folder).exit_code == 0
    client = web_client()
    allow = refuse_writes(words_home / "cache", "enospc")
    thumb = client.get("/thumb/3")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    mapped = client.get("/api/map", params={"color_by": "class"})
    assert mapped.status_code == 200, mapped.text
    assert len(mapped.json()["points"]) == 48 and mapped.json()["out"] is None
    assert client.get("/api/map", params={"color_by": "class"}).json() == mapped.json()
    allow()
    assert not list((words_home / "cache").rglob("*.jpg"))


def test_full_home_on_a_small_tmpfs(tmp_path, colour_folder, fake_backbone, run, glove_dir, monkeypatch,
                                    mount_or_skip):
    from devise.core import home as home_module
    from devise.data import words

    home = tmp_path / "small-home"
    home.mkdir()
    mount_or_skip("-t", "tmpfs", "-o", "size=3m", "tmpfs", home)
    (home / "words").mkdir()
    os.symlink(glove_dir, home / "words" / "glove-6b-50d")
    monkeypatch.setenv("DEVISE_HOME", str(home))
    home_module.set_home(None)
    words.clear_cache()
    assert run("index", colour_folder).exit_code == 0
    free = os.statvfs(home)
    (home / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 8192))
    result = run("index", colour_folder, "--rebuild")
    error_line(result, f"the devise home {home} is full", "free some space")
    assert search_count(run) == 48 and run("search", "red").exit_code == 0
    (home / "filler").unlink()
    assert run("index", colour_folder, "--rebuild").exit_code == 0
    words.clear_cache()
