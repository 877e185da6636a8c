"""`devise dedupe`: planted copies and constant images found, no false group, safe removal."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from helpers import expected_groups, pattern

REPO = Path(__file__).resolve().parent.parent


def groups_of(doc):
    return [{g["keep"], *(d["path"] for d in g["duplicates"])} for g in doc["groups"]]


def index_count(run):
    return json.loads(run("indexes", "--json").stdout)[0]["count"]


def test_finds_planted_copies_and_constant_images_only(dup_index, run):
    result = run("dedupe", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    found = groups_of(doc)
    assert sorted(map(sorted, found)) == sorted(map(sorted, expected_groups(dup_index)))
    for g in doc["groups"]:
        assert all(0.93 <= d["score"] <= 1.0 for d in g["duplicates"])
    by_keep = {g["keep"]: g for g in doc["groups"]}
    # The original (more pixels / bigger file) is kept, not the copy.
    assert str(dup_index / "alpha" / "001.png") in by_keep and str(dup_index / "beta" / "002.png") in by_keep
    assert {g.get("constant") for g in doc["groups"]} == {None, "#000000", "#ffffff"}


def test_like_filter_and_plain_output(dup_index, run):
    doc = json.loads(run("dedupe", "--like", dup_index / "copies" / "black_1.png", "--json").stdout)
    assert groups_of(doc) == [{str(dup_index / "copies" / f"black_{i}.png") for i in range(3)}]
    doc = json.loads(run("dedupe", "--filter", "path:*alpha*", "--json").stdout)
    assert groups_of(doc) == [expected_groups(dup_index)[0]]
    result = run("dedupe")
    assert result.exit_code == 0 and result.stdout.count("keep ") == 4


def test_delete_tombstones_survive_reindex_and_move_to(dup_index, run, tmp_path):
    before = index_count(run)
    result = run("dedupe", "--delete", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["removed"] == 5 and index_count(run) == before - 5
    assert (dup_index / "copies" / "black_2.png").exists()  # files are never deleted
    again = json.loads(run("index", dup_index, "--json").stdout)
    assert again["items"] == before - 5 and again["embedded"] == 0
    assert json.loads(run("dedupe", "--json").stdout)["groups"] == []
    # A new copy is found; --move-to takes it out of the folder into the review folder.
    (dup_index / "copies" / "gamma_003_q70.jpg").write_bytes(b"")
    from PIL import Image

    Image.open(dup_index / "gamma" / "003.png").convert("RGB").save(dup_index / "copies" / "gamma_003_q70.jpg", quality=70)
    run("index", dup_index)
    review = tmp_path / "review"
    doc = json.loads(run("dedupe", "--move-to", review, "--json").stdout)
    assert doc["removed"] == 1 and (review / "copies" / "gamma_003_q70.jpg").is_file()
    assert not (dup_index / "copies" / "gamma_003_q70.jpg").exists()


def test_failed_delete_leaves_the_old_index(dup_index, run, monkeypatch):
    from devise.index import ann

    before = index_count(run)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(ann, "build_annoy", broken)
        result = run("dedupe", "--delete")
    # An unexpected error is one line naming the command, never a traceback.
    assert result.exit_code == 1 and "disk full" in result.stderr and "dedupe" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert "Traceback" not in result.output and len(errors) == 1
    assert index_count(run) == before
    assert len(groups_of(json.loads(run("dedupe", "--json").stdout))) == 4


KILLED = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
from devise.index import ann
def slow(*args, **kwargs):
    open(sys.argv[2], "w").close()
    time.sleep(60)
ann.build_annoy = slow
from devise.curate.pixels import load  # warm the thumbnail cache path before the edit starts
from devise.curate.dedupe import dedupe
dedupe(delete=True, progress=False)
"""


def test_killed_delete_leaves_the_old_index(dup_index, run, words_home, tmp_path):
    before = index_count(run)
    marker = tmp_path / "building"
    env = {**os.environ, "DEVISE_HOME": str(words_home)}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(REPO), str(marker)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), proc.stderr.read().decode() if proc.poll() is not None else "no rebuild started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert index_count(run) == before
    assert len(groups_of(json.loads(run("dedupe", "--json").stdout))) == 4


def test_duplicate_groups_on_arrays():
    from devise.curate import duplicates

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (50, 3, 3, 3)).astype(np.uint8)
    thumbs = np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)  # 24x24 blocky, all distinct
    thumbs = np.concatenate([thumbs, thumbs[[3, 3, 7]] ^ 1, np.zeros((2, 24, 24, 3), np.uint8)])
    constant = np.r_[np.zeros(53, bool), True, True]
    rgb = np.r_[np.full(53, -1), 0, 0]
    groups, confirmed = duplicates.find_groups(thumbs, constant, rgb)
    assert groups == [[3, 50, 51], [7, 52], [53, 54]]
    assert all(s >= duplicates.DEFAULT_THRESHOLD for s in confirmed.values())


def _thumb(img):
    from devise.curate.pixels import SIDE

    return np.asarray(img.convert("RGB").resize((SIDE, SIDE), Image.BOX), np.uint8)


def test_a_mirrored_copy_is_found_and_different_pictures_are_not():
    from devise.curate import duplicates

    distinct = [pattern(seed) for seed in range(40)]
    copy = distinct[5].transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((70, 52), Image.LANCZOS)
    half = np.asarray(pattern(99), np.uint8)[:, :48]
    symmetric = Image.fromarray(np.concatenate([half, half[:, ::-1]], axis=1))  # its own mirror, still one picture
    thumbs = np.stack([_thumb(img) for img in distinct + [copy, symmetric]])
    constant, rgb = np.zeros(len(thumbs), bool), np.full(len(thumbs), -1)

    groups, confirmed = duplicates.find_groups(thumbs, constant, rgb, mirror=True)
    assert groups == [[5, 40]] and confirmed[(5, 40)] >= duplicates.DEFAULT_THRESHOLD
    assert duplicates.find_groups(thumbs, constant, rgb, mirror=False)[0] == []
    rows, _ = duplicates.matches_of(thumbs[40], thumbs, mirror=True)
    assert sorted(rows.tolist()) == [5, 40]
    assert duplicates.matches_of(thumbs[40], thumbs, mirror=False)[0].tolist() == [40]


def test_dedupe_reports_a_mirrored_copy_unless_told_not_to(dup_index, run):
    original = dup_index / "gamma" / "003.png"
    mirrored = dup_index / "copies" / "gamma_003_mirror.jpg"
    Image.open(original).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, quality=90)
    assert run("index", dup_index).exit_code == 0

    doc = json.loads(run("dedupe", "--json").stdout)
    assert sorted(map(sorted, groups_of(doc))) == sorted(map(sorted, expected_groups(dup_index)
                                                             + [{str(original), str(mirrored)}]))
    group = next(g for g in doc["groups"] if g["keep"] == str(original))
    assert [(d["path"], d["mirrored"]) for d in group["duplicates"]] == [(str(mirrored), True)]
    assert all(not d["mirrored"] for g in doc["groups"] if g is not group for d in g["duplicates"])
    assert "(mirrored)" in run("dedupe").stdout

    no_mirror = json.loads(run("dedupe", "--no-mirror", "--json").stdout)
    assert sorted(map(sorted, groups_of(no_mirror))) == sorted(map(sorted, expected_groups(dup_index)))
    like = json.loads(run("dedupe", "--like", mirrored, "--json").stdout)
    assert groups_of(like) == [{str(original), str(mirrored)}]
