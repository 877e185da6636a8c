"""Never lose a user's files: symlinked and cyclic folders, review folders, broken links, restoring removed files."""
import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from helpers import pattern


def warnings(result):
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


def index_count(run):
    return json.loads(run("indexes", "--json").stdout)[0]["count"]


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def real_files(*folders):
    """{content digest: [paths]} of the regular files under `folders`, never through a symlink."""
    found = {}
    for folder in folders:
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    found.setdefault(digest(path), []).append(path)
    return found


@pytest.fixture
def album(tmp_path):
    """photos/2023: two distinct photos and a JPEG copy of the first; photos/favourites -> 2023."""
    root = tmp_path / "photos"
    (root / "2023").mkdir(parents=True)
    pattern(1).save(root / "2023" / "p1.png")
    pattern(2).save(root / "2023" / "p2.png")
    Image.open(root / "2023" / "p1.png").save(root / "2023" / "p1_q70.jpg", quality=70)
    os.symlink("2023", root / "favourites")
    return root


def assert_every_photo_once(before, root, review):
    after = real_files(root, review)
    assert sorted(after) == sorted(before)
    assert all(len(paths) == 1 for paths in after.values()), after


def test_symlinked_folder_gives_one_item_per_photo_and_move_to_keeps_each_once(
        album, words_home, fake_backbone, run, tmp_path):
    before = real_files(album)
    result = run("index", album, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 3
    assert len(warnings(result)) == 1 and "favourites" in warnings(result)[0]
    review = tmp_path / "review"
    doc = json.loads(run("dedupe", "--move-to", review, "--json").stdout)
    assert doc["removed"] == 1 and [m["source"] for m in doc["moved"]] == [str(album / "2023" / "p1_q70.jpg")]
    assert_every_photo_once(before, album, review)
    keep = doc["groups"][0]["keep"]
    assert keep == str(album / "2023" / "p1.png")
    for path in (keep, album / "favourites" / "p1.png"):
        with Image.open(path) as img:
            img.load()


def test_index_holding_both_paths_never_moves_a_kept_file(album, words_home, fake_backbone, run, tmp_path,
                                                         monkeypatch):
    """An index built before scans knew symlinks holds 2023/x and favourites/x: two names, one file."""
    from devise.data import folders
    from devise.index import builder

    def scan_every_path(root, exclude=(), warn=True):
        found = folders.ImageFolder(Path(root).resolve())
        for dirpath, dirnames, filenames in os.walk(found.root, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                found.paths.append(os.path.join(dirpath, name))
                found.classes.append(os.path.relpath(dirpath, found.root).split(os.sep)[0])
        return found

    before = real_files(album)
    with monkeypatch.context() as patched:
        patched.setattr(builder, "scan", scan_every_path)  # where `devise index` looks it up
        built = run("index", album, "--json")
        assert built.exit_code == 0, built.output
        assert json.loads(built.stdout)["items"] == 6
    review = tmp_path / "review"
    result = run("dedupe", "--move-to", review, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["removed"] == 4 and len(doc["moved"]) == 1 and len(doc["left_in_place"]) == 3
    assert {g["keep"] for g in doc["groups"]} == {str(album / "2023" / "p1.png"), str(album / "2023" / "p2.png")}
    assert_every_photo_once(before, album, review)
    for group in doc["groups"]:
        with Image.open(group["keep"]) as img:
            img.load()


def test_cyclic_symlink_is_walked_once_with_one_warning(words_home, fake_backbone, run, tmp_path):
    root = tmp_path / "loopy"
    (root / "sub").mkdir(parents=True)
    for i, rel in enumerate(["a.png", "sub/b.png", "sub/c.png"]):
        pattern(10 + i).save(root / rel)
    os.symlink("..", root / "sub" / "loop")
    result = run("index", root, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["items"] == 3
    assert len(warnings(result)) == 1 and str(root / "sub" / "loop") in warnings(result)[0]


def test_move_to_inside_the_indexed_folder_is_refused(dup_index, run, tmp_path):
    before, files = index_count(run), real_files(dup_index)
    os.symlink(dup_index, tmp_path / "shortcut")
    for target in (dup_index / "review", dup_index / "copies", tmp_path / "shortcut" / "review"):
        result = run("dedupe", "--move-to", target)
        errors = result.stderr.strip().splitlines()
        assert result.exit_code == 1 and len(errors) == 1, result.output
        assert str(target) in errors[0] and str(dup_index) in errors[0]
    assert real_files(dup_index) == files and index_count(run) == before
    assert not (dup_index / "review").exists()


def test_move_to_a_folder_the_index_reaches_through_a_symlink_is_refused(words_home, fake_backbone, run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "inner").mkdir(parents=True)
    pattern(5).save(elsewhere / "inner" / "e.png")
    root = tmp_path / "photos"
    (root / "mine").mkdir(parents=True)
    pattern(6).save(root / "mine" / "m.png")
    os.symlink(elsewhere, root / "linked")
    assert json.loads(run("index", root, "--json").stdout)["items"] == 2
    result = run("dedupe", "--move-to", elsewhere / "review")
    assert result.exit_code == 1 and "through" in result.stderr and str(elsewhere) in result.stderr


def test_broken_symlink_is_warned_about_and_counted(words_home, fake_backbone, run, tmp_path, capsys):
    from devise.data.folders import scan

    root = tmp_path / "photos"
    (root / "2023").mkdir(parents=True)
    pattern(1).save(root / "2023" / "a.png")
    pattern(2).save(root / "2023" / "b.png")
    os.symlink("deleted.jpg", root / "2023" / "gone.jpg")
    found = scan(root)
    assert len(found.paths) == 2
    assert [(p, r.split(" (")[0]) for p, r in found.skipped] == [(str(root / "2023" / "gone.jpg"), "broken symlink")]
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "gone.jpg" in err[0] and "broken symlink" in err[0]
    result = run("index", root, "--json")
    assert json.loads(result.stdout)["items"] == 2
    assert len(warnings(result)) == 1 and "broken symlink" in warnings(result)[0]


def test_delete_restore_index_brings_the_image_back_and_counts_tombstones(dup_index, run):
    from devise.index.store import open_index

    before = index_count(run)
    assert json.loads(run("dedupe", "--delete", "--json").stdout)["removed"] == 5
    summary = json.loads(run("index", dup_index, "--json").stdout)
    assert (summary["items"], summary["tombstoned"]) == (before - 5, 5)
    assert "5 tombstoned" in run("index", dup_index).stdout
    black = dup_index / "copies" / "black_0.png"
    assert open_index().items.find(str(black)) is None
    result = run("dedupe", "--restore", black)
    assert result.exit_code == 0 and result.stdout.strip() == f"restored {black}"
    summary = json.loads(run("index", dup_index, "--json").stdout)
    assert (summary["items"], summary["tombstoned"]) == (before - 4, 4)
    assert open_index().items.find(str(black)) is not None
    unknown = run("dedupe", "--restore", dup_index / "alpha" / "000.png")
    assert unknown.exit_code == 1 and len(unknown.stderr.strip().splitlines()) == 1
    assert "nothing to restore" in unknown.stderr


def test_restore_after_move_to_says_the_file_is_elsewhere(dup_index, run, tmp_path):
    review = tmp_path / "review"
    doc = json.loads(run("dedupe", "--move-to", review, "--json").stdout)
    source = doc["moved"][0]["source"]
    restored = json.loads(run("dedupe", "--restore", source, "--json").stdout)
    assert restored["restored"] == [source] and restored["missing"] == [source]
    assert "move it back" in run("dedupe", "--restore", doc["moved"][1]["source"]).stdout


def test_failed_move_puts_the_unmoved_files_back(dup_index, run, tmp_path, monkeypatch):
    from devise.curate import dedupe as dedupe_module

    before, calls = index_count(run), []
    real_move = dedupe_module.move_file

    def fail_second(source, dest):
        calls.append(source)
        if len(calls) == 2:
            raise PermissionError(errno.EACCES, "Permission denied", source)
        return real_move(source, dest)

    monkeypatch.setattr(dedupe_module, "move_file", fail_second)
    result = run("dedupe", "--move-to", tmp_path / "review")
    assert result.exit_code == 1 and calls[1] in result.stderr and "devise index" in result.stderr
    assert os.path.exists(calls[1]) and not os.path.exists(calls[0])
    assert json.loads(run("index", dup_index, "--json").stdout)["items"] == before - 1


def test_killed_between_index_edit_and_moves_is_recoverable(dup_index, run, tmp_path, monkeypatch):
    from devise.curate import dedupe as dedupe_module

    before = index_count(run)

    def killed(source, dest):
        raise KeyboardInterrupt

    monkeypatch.setattr(dedupe_module, "move_file", killed)
    with pytest.raises(KeyboardInterrupt):
        dedupe_module.dedupe(move_to=tmp_path / "review", progress=False)
    assert index_count(run) == before - 5
    from devise.index.store import open_index

    hidden = sorted(open_index().tombstones())
    assert len(hidden) == 5 and all(os.path.exists(p) for p in hidden)
    report = dedupe_module.restore_removed(hidden)
    assert report.restored == hidden and report.missing == []
    assert json.loads(run("index", dup_index, "--json").stdout)["items"] == before


def test_move_file_never_overwrites_and_copies_across_filesystems(tmp_path, monkeypatch):
    from devise.curate import review_folder

    source, dest = tmp_path / "a.png", tmp_path / "review" / "a.png"
    dest.parent.mkdir()
    pattern(1).save(source)
    pattern(2).save(dest)
    taken = digest(dest)

    def no_hard_links(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    content = digest(source)
    monkeypatch.setattr(os, "link", no_hard_links)
    went = review_folder.move_file(str(source), str(dest))
    assert went == str(tmp_path / "review" / "a.1.png") and digest(went) == content
    assert digest(dest) == taken and not source.exists()
    assert sorted(os.listdir(dest.parent)) == ["a.1.png", "a.png"]
