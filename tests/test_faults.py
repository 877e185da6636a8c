"""Fault injection: kill -9 at several points of index, dedupe and train; searches during a rebuild.

Each killed command runs in a subprocess with the fake backbone and one
library function wrapped so that, at its N-th call, it drops a marker file
and sleeps; the test then sends SIGKILL. Afterwards the invariants must
hold: the previous index and model still load, every user file still
exists exactly once (on its own path or in the review folder), and a
re-run completes.
"""
import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from helpers import COLOURS, kill_when_paused, make_image, start_paused


def contents(*roots):
    """Sorted sha256 digests of every regular file under `roots`: a file lost or doubled changes the list."""
    digests = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return sorted(digests)


def index_count(run, name=None):
    result = run("indexes", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    return next(i["count"] for i in found if name is None or i["name"] == name)


def add_colour_images(folder, count, start=0):
    names = list(COLOURS)
    for i in range(start, start + count):
        name = names[i % len(names)]
        make_image(folder / name / f"{i:04d}.jpg", COLOURS[name], seed=5000 + i)


@pytest.fixture
def big_folder(tmp_path):
    folder = tmp_path / "photos"
    add_colour_images(folder, 150)
    return folder


KILL_INDEX_AT = [
    pytest.param("devise.data.feature_cache:FeatureCache.store", 1, id="embedding"),
    pytest.param("devise.index.ann:build_annoy", 0, id="annoy-build"),
    pytest.param("devise.index.layout:publish", 0, id="publish"),
]


@pytest.mark.parametrize("target, after", KILL_INDEX_AT)
def test_kill_index(target, after, words_home, big_folder, fake_backbone, run, tmp_path):
    assert run("index", big_folder).exit_code == 0
    add_colour_images(big_folder, 150, start=150)
    proc, marker = start_paused(words_home, tmp_path, target, after, "index", big_folder)
    kill_when_paused(proc, marker)
    assert index_count(run) == 150  # the previous version is still the live one, and it loads
    result = run("search", "red", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["results"]
    again = run("index", big_folder, "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert summary["items"] == 300
    if target.endswith("FeatureCache.store"):
        assert summary["embedded"] < 150  # batches committed before the kill are not embedded again


@pytest.mark.parametrize("target, after", [
    pytest.param("devise.index.ann:build_annoy", 0, id="new-version"),
    pytest.param("devise.curate.review_folder:move_file", 1, id="moving-files"),
])
def test_kill_dedupe_move_to(target, after, dup_index, words_home, run, tmp_path):
    review = tmp_path / "review"
    before_files, before_count = contents(dup_index), index_count(run)
    planted = json.loads(run("dedupe", "--json").stdout)["duplicates"]
    proc, marker = start_paused(words_home, tmp_path, target, after, "dedupe", "--move-to", review)
    kill_when_paused(proc, marker)
    assert contents(dup_index, review) == before_files  # every file exists exactly once
    count = index_count(run)
    assert count in (before_count, before_count - planted)  # the old version or the new one, never a broken one
    result = run("dedupe", "--move-to", review)
    assert result.exit_code == 0, result.output
    assert contents(dup_index, review) == before_files


def test_kill_dedupe_delete(dup_index, words_home, run, tmp_path):
    before_files, before_count = contents(dup_index), index_count(run)
    planted = json.loads(run("dedupe", "--json").stdout)["duplicates"]
    proc, marker = start_paused(words_home, tmp_path, "devise.index.layout:publish", 0, "dedupe", "--delete")
    kill_when_paused(proc, marker)
    assert contents(dup_index) == before_files and index_count(run) == before_count
    assert run("dedupe", "--delete").exit_code == 0
    assert index_count(run) == before_count - planted and contents(dup_index) == before_files


@pytest.mark.parametrize("target, after", [
    pytest.param("devise.train.trainer:fit_head", 0, id="fitting"),
    pytest.param("devise.core.manifest:write", 0, id="saving"),
])
def test_kill_train(target, after, colour_folder, words_home, fake_backbone, run, tmp_path):
    from devise.models import model_store

    out = tmp_path / "model"
    first = run("train", colour_folder, "--holdout-classes", "yellow", "--epochs", "2", "--heads", "1", "--out", out)
    assert first.exit_code == 0, first.output
    before = (out / "manifest.json").read_bytes()
    proc, marker = start_paused(words_home, tmp_path, target, after, "train", colour_folder, "--holdout-classes",
                                "white", "--epochs", "2", "--heads", "1", "--out", out)
    kill_when_paused(proc, marker, timeout=300)
    assert (out / "manifest.json").read_bytes() == before
    assert model_store.load(out).manifest.unseen == ["yellow"]  # the previous model still loads
    again = run("train", colour_folder, "--holdout-classes", "white", "--epochs", "2", "--heads", "1", "--out", out)
    assert again.exit_code == 0, again.output
    assert model_store.load(out).manifest.unseen == ["white"]
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert leftovers == [], leftovers  # the killed run's staging folder was cleaned up


def test_fifty_searches_during_a_rebuild(words_home, big_folder, fake_backbone, run, tmp_path):
    assert run("index", big_folder).exit_code == 0
    # Each Annoy build sleeps 1.5 s first, so the rebuild spans the searches and its swap lands among them.
    proc, marker = start_paused(words_home, tmp_path, "devise.index.ann:build_annoy", 0, "index", big_folder,
                                "--rebuild", sleep=1.5)
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    failures, during = [], 0
    for i in range(50):
        result = run("search", ["red", "green grass", "blue + white", "black - white"][i % 4], "--json")
        during += proc.poll() is None
        if result.exit_code != 0 or not json.loads(result.stdout)["results"]:
            failures.append(result.output)
        time.sleep(0.05)
    proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read().decode()[-1500:]
    assert not failures, failures[:3]
    assert during >= 10  # most searches really ran while the rebuild did
    assert index_count(run) == 150
