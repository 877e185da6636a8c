"""Never lose a user's files: every command that writes a file or folder refuses one devise did not write.

Each case builds a user's file or folder at the target (a web project with
its own manifest.json, a src/ tree and a photo; a user's PNG; a symbolic
link), runs the command, and checks: exit 1, one line naming the path, and
every user byte still there. Running a command twice (over devise's own
output) works.
"""
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from devise.core import outputs
from devise.core.errors import OutputError

from helpers import FAST, fit_model, make_image


def web_project(path):
    (path / "src" / "components").mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({"name": "site"}))
    (path / "src" / "index.js").write_text("console.log('hello')\n")
    (path / "src" / "components" / "App.jsx").write_text("export default () => null;\n")
    make_image(path / "photo.jpg", (200, 120, 40))
    return path


def snapshot(root):
    """Every byte and link under `root` (or of the file itself), to compare before and after."""
    root = Path(root)
    if root.is_symlink() or not root.is_dir():
        return {"": ("link", os.readlink(root)) if root.is_symlink() else root.read_bytes()}
    return {str(p.relative_to(root)): ("link", os.readlink(p)) if p.is_symlink() else
            p.read_bytes() if p.is_file() else "folder" for p in sorted(root.rglob("*"))}


def refused(result, path):
    """Exit 1 with one error line, the last one, naming `path`; no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0] == lines[-1] and str(path) in errors[0], result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def test_claim_file_trusts_only_what_devise_wrote(tmp_path):
    assert outputs.claim_file(tmp_path / "new.png") == tmp_path / "new.png"
    theirs = make_image(tmp_path / "theirs.png", (10, 20, 30))
    with pytest.raises(OutputError, match="devise did not write this file"):
        outputs.claim_file(theirs)
    ours = outputs.save_image(Image.new("RGB", (8, 8)), tmp_path / "ours.png")
    gif = outputs.save_image(Image.new("P", (8, 8)), tmp_path / "ours.gif", format="GIF")
    text = tmp_path / "order.txt"
    text.write_text("a\n")
    outputs.record(text)
    for path in (ours, gif, text):
        assert outputs.claim_file(path) == path
    text.write_text("a\nb\n")  # changed since devise wrote it: someone else's now
    with pytest.raises(OutputError):
        outputs.claim_file(text)
    (tmp_path / "link.png").symlink_to(ours)
    for path, message in ((tmp_path / "link.png", "symbolic link"), (tmp_path, "is a folder"),
                          (theirs / "x.png", "is a file")):
        with pytest.raises(OutputError, match=message):
            outputs.claim_file(path)


def test_marks_survive_another_home_and_a_damaged_registry(tmp_path, devise_home):
    png = outputs.save_image(Image.new("RGB", (8, 8)), tmp_path / "sheet.png")
    text = tmp_path / "order.txt"
    text.write_text("a\n")
    outputs.record(text)
    (devise_home / "cache" / "outputs.sqlite").write_bytes(b"not a database" * 100)
    assert outputs.is_devise_file(png)  # the PNG's own mark
    assert not outputs.is_devise_file(text)  # the record is gone: refuse, never guess
    outputs.record(text)
    assert outputs.is_devise_file(text) and (devise_home / "cache" / "outputs.sqlite.corrupt").exists()


def test_claim_folder_and_remove_stale(tmp_path):
    from devise.core import manifest

    assert outputs.claim_folder(tmp_path / "new", "report")
    (tmp_path / "empty").mkdir()
    assert outputs.claim_folder(tmp_path / "empty", "report")
    with pytest.raises(OutputError, match="holds files devise did not write"):
        outputs.claim_folder(web_project(tmp_path / "site"), "report")
    folder = outputs.make_folder(tmp_path / "report", "report")
    assert manifest.peek(folder)["kind"] == "report" and outputs.claim_folder(folder, "report")
    with pytest.raises(OutputError, match="as a report, not a model"):
        outputs.claim_folder(folder, "model")
    (tmp_path / "link").symlink_to(folder)
    with pytest.raises(OutputError, match="symbolic link"):
        outputs.claim_folder(tmp_path / "link", "report")
    ours = outputs.save_image(Image.new("RGB", (8, 8)), folder / "slice-a.png")
    theirs = make_image(folder / "slice-b.png", (1, 2, 3))
    assert outputs.remove_stale(folder, "slice-*.png", keep=set()) == [ours] and theirs.exists()


@pytest.fixture
def model(tmp_path, colour_folder, fake_backbone, words_home):
    return fit_model(tmp_path / "model", colour_folder, fake_backbone)


@pytest.mark.parametrize("damage", ["truncated", "not an archive", "missing arrays", "list manifest"])
def test_damaged_model_is_a_one_line_error(model, colour_folder, run, damage):
    npz = model / "head.npz"
    if damage == "truncated":
        npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 3])
    elif damage == "not an archive":
        npz.write_bytes(b"\x00" * 10)
    elif damage == "missing arrays":
        np.savez(npz, w1=np.zeros((2, 2)))
    else:
        (model / "manifest.json").write_text("[]")
    named = model / "manifest.json" if damage == "list manifest" else npz
    refused(run("tag", colour_folder / "red" / "000.jpg", "--model", model), named)


def test_model_store_refuses_links_and_foreign_swap_folders(model, tmp_path, colour_folder, fake_backbone):
    (tmp_path / "link").symlink_to(model)
    with pytest.raises(OutputError, match="symbolic link"):
        fit_model(tmp_path / "link", colour_folder, fake_backbone)
    web_project(tmp_path / ".model.old")
    before = snapshot(tmp_path / ".model.old")
    with pytest.raises(OutputError, match=r"\.model\.old"):
        fit_model(model, colour_folder, fake_backbone)
    assert snapshot(tmp_path / ".model.old") == before and (model / "head.npz").is_file()


def kill_mid_save(target):
    """Start a save to `target` in another process and SIGKILL it while it writes; returns its staging folder."""
    code = ("import time, numpy as np\nfrom devise.models import model_store\n"
            "class Slow:\n    def save(self, path):\n        open(path, 'w').write('half')\n        time.sleep(600)\n"
            f"model_store.save({str(target)!r}, Slow(), {{'w': np.zeros(2)}}, {{}})\n")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not list(target.parent.glob(f".{target.name}.*/head.keras")):
        assert proc.poll() is None and time.monotonic() < deadline, "the saving process never got going"
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    return next(target.parent.glob(f".{target.name}.*/head.keras")).parent


def test_train_refuses_a_users_folder_then_replaces_only_its_own(tmp_path, colour_folder, fake_backbone, words_home,
                                                                 run):
    site = web_project(tmp_path / "site")
    before = snapshot(site)
    message = refused(run("train", colour_folder, "--epochs", "2", "--heads", "1", "--out", site), site)
    assert "devise did not write" in message and snapshot(site) == before
    assert not [p for p in tmp_path.glob(".site*")]  # no staging left behind either

    out = tmp_path / "m"
    assert run("train", colour_folder, "--epochs", "2", "--heads", "1", "--out", out).exit_code == 0
    killed = kill_mid_save(out)
    alive = tmp_path / ".m.alive"  # a save still running in this very process: kept
    alive.mkdir()
    (alive / ".devise-staging").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    mine = tmp_path / ".m.notes"  # a user's hidden folder of the same pattern: no mark, kept
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me\n")
    result = run("train", colour_folder, "--epochs", "2", "--heads", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert not killed.exists() and alive.is_dir() and (mine / "todo.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["head.keras", "head.npz", "manifest.json", "split.json"]


def test_demo_refuses_a_users_folder_and_reruns_over_its_own(tmp_path, colour_folder, fake_backbone, words_home, run):
    site = web_project(tmp_path / "site")
    before = snapshot(site)
    refused(run("demo", colour_folder, "--epochs", "2", "--out", site), site)
    assert snapshot(site) == before
    out = tmp_path / "demo"
    out.mkdir()
    theirs = make_image(out / "held_out_tags.png", (9, 9, 9))  # a user's file where the sheet goes
    refused(run("demo", colour_folder, "--epochs", "2", "--out", out), out)
    theirs.unlink()
    for _ in range(2):
        result = run("demo", colour_folder, "--epochs", "2", "--out", out)
        assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["kind"] == "demo"
    assert outputs.is_devise_file(out / "held_out_tags.png") and (out / "model" / "head.npz").is_file()


def test_generate_refuses_a_users_folder_and_skips_their_files(tiny_model, tiny_pipe, tmp_path, run, capsys):
    from devise.generation import generate as gen

    site = web_project(tmp_path / "site")
    dataset = tmp_path / "dataset"  # another tool's image folder: its metadata.jsonl is not generate's
    make_image(dataset / "cat" / "0000.png", (1, 2, 3))
    (dataset / "metadata.jsonl").write_text(json.dumps({"file_name": "cat/0000.png", "text": "a cat"}) + "\n")
    for folder in (site, dataset):
        before = snapshot(folder)
        refused(run("generate", "--classes", "cat", "--per-class", "1", "--model", tiny_model, "--steps", "1",
                    "--size", FAST["size"], "--device", "cpu", "--out", folder), folder)
        assert snapshot(folder) == before

    out = tmp_path / "gen"
    args = dict(per_class=3, pipeline=tiny_pipe, **FAST)
    gen.generate(["cat"], out=out, **args)
    (out / "cat" / "0001.png").unlink()
    theirs = make_image(out / "cat" / "0001.png", (5, 5, 5), size=(FAST["size"],) * 2)
    (out / "cat" / "0002.png").unlink()
    (out / "cat" / "0002.png").symlink_to(theirs)
    before = snapshot(out / "cat")
    again = gen.generate(["cat"], out=out, **args)
    assert (again.generated, again.skipped, again.foreign) == (0, 1, 2) and snapshot(out / "cat") == before
    assert "cat/0001.png was not written by devise" in capsys.readouterr().err
    (out / "cat" / "0002.png").unlink()
    theirs.unlink()
    third = gen.generate(["cat"], out=out, **args)  # its own images it makes, resumes and keeps
    assert (third.generated, third.skipped, third.foreign) == (2, 1, 0)


@pytest.fixture
def indexed(model, colour_folder, run):
    result = run("index", colour_folder, "--model", model)
    assert result.exit_code == 0, result.output
    return colour_folder


def test_slices_refuse_a_users_folder_and_sheet(indexed, tmp_path, run):
    assert run("score").exit_code == 0
    site = web_project(tmp_path / "site")
    before = snapshot(site)
    args = ("slices", "--k", "3", "--min-support", "3", "--min-drop", "0", "--json", "--out")
    refused(run(*args, site), site)
    assert snapshot(site) == before
    out = tmp_path / "report"
    for _ in range(2):
        result = run(*args, out)
        assert result.exit_code == 0, result.output
    sheet = out / json.loads(result.stdout)["slices"][0]["sheet"]
    sheet.unlink()
    make_image(sheet, (7, 7, 7))
    before = snapshot(out)
    refused(run(*args, out), sheet)
    assert snapshot(out) == before


def test_map_refuses_a_users_png_and_a_link(indexed, tmp_path, run):
    theirs = make_image(tmp_path / "photo.png", (30, 60, 90))
    (tmp_path / "link.png").symlink_to(theirs)
    before = theirs.read_bytes()
    for target in (theirs, tmp_path / "link.png"):
        refused(run("map", "--size", "300", "--thumb", "30", "--out", target), target)
    assert theirs.read_bytes() == before and (tmp_path / "link.png").is_symlink()
    for _ in range(2):
        assert run("map", "--size", "300", "--thumb", "30", "--out", tmp_path / "map.png").exit_code == 0


def test_walk_refuses_users_files_before_writing_any(indexed, tmp_path, run):
    theirs = make_image(tmp_path / "photo.png", (30, 60, 90))
    frames = tmp_path / "frames"
    ok = {"--out": tmp_path / "order.txt", "--gif": tmp_path / "walk.gif", "--frames": frames}
    site = web_project(tmp_path / "site")
    for option, target in (("--out", theirs), ("--gif", theirs), ("--frames", site)):
        paths = dict(ok, **{option: target})
        before = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("home")}
        refused(run("walk", "--size", "16", *[str(x) for pair in paths.items() for x in pair]), target)
        # Nothing written, not even the outputs that were free: the home's caches aside, all as it was.
        assert {k: v for k, v in snapshot(tmp_path).items() if not k.startswith("home")} == before
    for _ in range(2):
        result = run("walk", "--size", "16", *[str(x) for pair in ok.items() for x in pair])
        assert result.exit_code == 0, result.output
    assert len(list(frames.glob("frame_*.png"))) == 48
    (frames / "frame_00003.png").unlink()
    make_image(frames / "frame_00003.png", (1, 1, 1))  # a user's file inside devise's frames folder
    refused(run("walk", "--size", "16", "--frames", frames), frames / "frame_00003.png")
    result = run("walk", "--size", "16", "--limit", "2", "--frames", tmp_path / "short")
    assert result.exit_code == 0 and len(list((tmp_path / "short").glob("frame_*.png"))) == 2


@pytest.mark.parametrize("command", ["search", "similar"])
def test_search_sheet_refuses_a_users_png(indexed, tmp_path, run, command):
    query = "red" if command == "search" else indexed / "red" / "000.jpg"
    theirs = make_image(tmp_path / "photo.png", (30, 60, 90))
    before = theirs.read_bytes()
    refused(run(command, query, "--sheet", theirs), theirs)
    assert theirs.read_bytes() == before
    for _ in range(2):
        assert run(command, query, "--sheet", tmp_path / "sheet.png").exit_code == 0


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_honour_the_umask(indexed, tmp_path, run, umask):
    """Sheets, maps and GIFs are files for people: their mode is what `cp` would give, not mkstemp's 0600."""
    previous = os.umask(umask)
    try:
        sheet, gif = tmp_path / "sheet.png", tmp_path / "walk.gif"
        assert run("search", "red", "--sheet", sheet).exit_code == 0
        assert run("walk", "--start", "red", "--limit", "3", "--size", "16", "--gif", gif).exit_code == 0
    finally:
        os.umask(previous)
    for made in (sheet, gif):
        assert stat.S_IMODE(made.stat().st_mode) == 0o666 & ~umask, made
