"""`devise index --engine ray`: the same index as the local engine, resumable after a kill, a clear hint without Ray.

The Ray actors cannot see the tests' monkeypatches, so they build their
backbone through engines.ray_embed.BACKBONE_FACTORY, pointed here at
helpers.fake_backbone_factory, with this folder on their sys.path.
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import ACTOR_LOG_ENV, COLOURS, PAUSED, kill_when_paused, make_image

TESTS = Path(__file__).resolve().parent
needs_ray = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ray") is None, reason="ray not installed (pip install 'devise[ray]')")

# test_faults' pausing script, with the Ray actors given the fake backbone first.
RAY_PAUSED = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import devise.engines.ray_embed as ray_embed\n"
    "ray_embed.BACKBONE_FACTORY = 'helpers:fake_backbone_factory'\n"
    "ray_embed.WORKER_PATHS = [sys.argv[1]]\n"
) + PAUSED


@pytest.fixture
def ray_fake(monkeypatch):
    from devise.engines import ray_embed

    monkeypatch.setattr(ray_embed, "BACKBONE_FACTORY", "helpers:fake_backbone_factory")
    monkeypatch.setattr(ray_embed, "WORKER_PATHS", [str(TESTS)])


@pytest.fixture
def planted_folder(tmp_path):
    """18 good images in 6 colour classes, plus a text file named .jpg, a truncated PNG and a 1x1 image."""
    root = tmp_path / "planted"
    for i in range(18):
        name = list(COLOURS)[i % len(COLOURS)]
        make_image(root / name / f"{i:03d}.jpg", COLOURS[name], seed=300 + i)
    (root / "red" / "notes.jpg").write_text("not an image at all\n")
    whole = make_image(root / "green" / "whole.png", (10, 200, 10), size=(64, 48), seed=7).read_bytes()
    (root / "green" / "cut.png").write_bytes(whole[: len(whole) // 3])
    (root / "green" / "whole.png").unlink()
    Image.new("RGB", (1, 1), (255, 0, 0)).save(root / "blue" / "dot.png")
    return root


def _index(run, folder, *options):
    result = run("index", folder, "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _contents(home):
    """(item paths in id order, word-space vectors, features) of the default index under `home`."""
    from devise.core import home as home_module
    from devise.index import store

    home_module.set_home(home)
    try:
        found = store.open_index(None)
        return [item["path"] for item in found.items], found.vectors("words"), found.vectors("features")
    finally:
        home_module.set_home(None)


@needs_ray
def test_ray_index_matches_local(words_home, planted_folder, fake_backbone, ray_fake, run, tmp_path, monkeypatch,
                                 capfd, recwarn):
    ray_summary = _index(run, planted_folder, "--engine", "ray", "--workers", "2", "--batch-size", "4")
    # Nothing of Ray's own on stderr: neither its core's actor-restart line nor its Python warnings.
    assert "core_worker" not in capfd.readouterr().err
    from ray.util.annotations import RayDeprecationWarning

    shown = (UserWarning, RayDeprecationWarning)  # the kinds a user saw on stderr before
    assert not [str(w.message) for w in recwarn if issubclass(w.category, shown)]
    local_home = tmp_path / "local-home"
    (local_home / "words").mkdir(parents=True)
    os.symlink(os.readlink(words_home / "words" / "glove-6b-50d"), local_home / "words" / "glove-6b-50d")
    monkeypatch.setenv("DEVISE_HOME", str(local_home))
    local_summary = _index(run, planted_folder, "--engine", "local")
    assert ray_summary["skipped"] == local_summary["skipped"] >= 2  # at least the text file and the cut PNG
    assert ray_summary["items"] == local_summary["items"] and ray_summary["embedded"] == local_summary["embedded"]
    ray_paths, ray_words, ray_feats = _contents(words_home)
    local_paths, local_words, local_feats = _contents(local_home)
    assert ray_paths == local_paths
    np.testing.assert_allclose(ray_feats, local_feats, atol=1e-5)
    np.testing.assert_allclose(ray_words, local_words, atol=1e-5)


def _descendants(pid):
    """PIDs of every live process below `pid` (Linux /proc; empty elsewhere)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z":  # a zombie has exited already
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def _alive(pids):
    """(pid, name) of those of `pids` still running."""
    alive = []
    for pid in pids:
        try:
            name, _, rest = Path(f"/proc/{pid}/stat").read_text().partition(" (")[2].rpartition(")")
            if rest.split()[0] != "Z":
                alive.append((pid, name))
        except (OSError, IndexError):
            continue
    return alive


@needs_ray
def test_killed_ray_run_resumes(words_home, planted_folder, fake_backbone, ray_fake, run, tmp_path):
    marker = tmp_path / "paused"
    env = {**os.environ, "DEVISE_HOME": str(words_home), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-c", RAY_PAUSED, str(TESTS), "devise.data.feature_cache", "FeatureCache.store", str(marker),
         "1", "120", "index", str(planted_folder), "--engine", "ray", "--workers", "2", "--batch-size", "4"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 150
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    ray_processes = _descendants(proc.pid)  # the local Ray devise started: GCS, raylet, agents, actors
    kill_when_paused(proc, marker, timeout=1)
    deadline = time.time() + 60
    while _alive(ray_processes) and time.time() < deadline:
        time.sleep(0.2)
    if Path("/proc").is_dir():  # Ray's agents used to outlive a killed driver for ever
        assert len(ray_processes) >= 4 and not _alive(ray_processes)
    from devise.data.feature_cache import FeatureCache

    paths = [str(p) for p in planted_folder.rglob("*") if p.is_file()]
    with FeatureCache(fake_backbone.fingerprint) as cache:
        cached = len(cache.lookup(paths))
    assert 0 < cached < len(paths)  # the first batch was committed before the kill, the rest was not
    summary = _index(run, planted_folder, "--engine", "ray", "--workers", "2", "--batch-size", "4")
    assert summary["items"] + summary["skipped"] == len(paths)
    # Only what was missing went through the backbone ("embedded" counts images embedded, not unreadable files).
    assert summary["items"] - cached <= summary["embedded"] <= len(paths) - cached


def test_ray_engine_without_ray(words_home, planted_folder, fake_backbone, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = run("index", planted_folder, "--engine", "ray")
    assert result.exit_code == 1
    assert "pip install 'devise[ray]'" in result.output and len(result.output.strip().splitlines()) == 1


def test_gpus_per_worker_needs_the_ray_engine(words_home, planted_folder, fake_backbone, run):
    result = run("index", planted_folder, "--gpus-per-worker", "1")
    assert result.exit_code == 2 and "--gpus-per-worker" in result.output


@needs_ray
def test_actors_get_the_gpus_asked_for(words_home, planted_folder, fake_backbone, run, tmp_path, monkeypatch):
    """On a Ray with one (logical) GPU: two actors at 1 GPU each are refused at once, in one line;
    at 0.5 each they share it, and each runs the backbone on a GPU runtime."""
    import ray

    from devise.engines import ray_embed
    from devise.engines.ray_runtime import QUIET
    from devise.models.backbones.runtimes import RUNTIME_ENV, keras_backend

    monkeypatch.setattr(ray_embed, "BACKBONE_FACTORY", "helpers:logging_backbone_factory")
    monkeypatch.setattr(ray_embed, "WORKER_PATHS", [str(TESTS)])
    monkeypatch.delenv(RUNTIME_ENV, raising=False)
    log = tmp_path / "actors"
    log.mkdir()
    monkeypatch.setenv(ACTOR_LOG_ENV, str(log))  # before ray.init: the actors' processes inherit it
    ray.init(num_cpus=2, num_gpus=1, **QUIET)
    try:
        refused = run("index", planted_folder, "--engine", "ray", "--workers", "2", "--gpus-per-worker", "1",
                      "--batch-size", "4")
        assert refused.exit_code == 1, refused.output
        assert refused.output.strip() == ("Error: --gpus-per-worker 1 for 2 worker(s) needs 2 GPU(s); the Ray "
                                          "cluster has 1: lower --gpus-per-worker or --workers.")
        assert not list(log.iterdir())  # refused before any actor started
        summary = _index(run, planted_folder, "--engine", "ray", "--workers", "2", "--gpus-per-worker", "0.5",
                         "--batch-size", "4")
    finally:
        ray.shutdown()
    assert summary["items"] == 18 and summary["embedded"] == 18 and summary["skipped"] == 3  # unreadable: not embedded
    records = [json.loads(p.read_text()) for p in log.iterdir()]
    assert len(records) == 2 and all(r["gpus"] == ["0"] for r in records)
    expected = "keras" if keras_backend() == "tensorflow" else None  # TFLite has no GPU path
    assert all(r["runtime"] == expected for r in records)


def test_actors_get_the_drivers_home_and_a_share_of_the_cores(tmp_path, monkeypatch):
    from devise.core.home import HOME_ENV, set_home
    from devise.engines import ray_embed
    from devise.models.backbones.runtimes import INVOKE_ENV, THREADS_ENV

    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv(INVOKE_ENV, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    set_home(tmp_path / "chosen")  # --home: the environment still names another folder
    try:
        env = ray_embed._actor_env(workers=2, local=True)
        assert env[HOME_ENV] == str(tmp_path / "chosen") != os.environ[HOME_ENV]
        assert env[THREADS_ENV] == "4"
        assert THREADS_ENV not in ray_embed._actor_env(workers=2, local=False)  # a cluster's nodes have their own
        assert INVOKE_ENV not in env
        monkeypatch.setenv(INVOKE_ENV, "8")  # the driver's images per invoke travel to every node
        assert ray_embed._actor_env(workers=2, local=False)[INVOKE_ENV] == "8"
    finally:
        set_home(None)
