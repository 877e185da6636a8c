"""`devise generate --engine ray`: the same files as a local run, byte for byte, and a resume that makes only what is missing.

The tiny random-weight pipeline (conftest.tiny_model) runs in two CPU actors
on a local Ray started by devise itself.
"""
import importlib.util
import json
import shutil
import sys

import pytest

from helpers import SIZE

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None or importlib.util.find_spec("diffusers") is None,
    reason="needs ray (pip install 'devise[ray]') and the [generate] extra")


def _generate(run, model, out, *engine):
    result = run("generate", "--classes", "cat,hot dog", "--per-class", "3", "--model", model, "--steps", "2",
                 "--guidance", "0", "--size", SIZE, "--batch-size", "2", "--out", out, *engine)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def both_runs(tiny_model, tmp_path_factory):
    """(ray summary, ray folder, local folder): one run of each engine, shared by the tests below."""
    from click.testing import CliRunner

    from devise.cli import cli
    from devise.core.home import set_home

    def run(*args):
        return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)

    root = tmp_path_factory.mktemp("ray-generate")
    with pytest.MonkeyPatch.context() as patch:  # module scope: the per-test home is not set up yet
        patch.setenv("DEVISE_HOME", str(root / "home"))
        set_home(None)
        ray_summary = _generate(run, tiny_model, root / "ray", "--engine", "ray", "--workers", "2")
        _generate(run, tiny_model, root / "local", "--device", "cpu")
    return ray_summary, root / "ray", root / "local"


@needs_ray
def test_ray_generate_matches_local(both_runs):
    summary, ray_out, local_out = both_runs
    assert (summary["engine"], summary["workers"], summary["generated"], summary["device"]) == ("ray", 2, 6, "cpu")
    ray_files, local_files = _files(ray_out), _files(local_out)
    assert sorted(ray_files) == sorted(local_files) and len(ray_files) == 7  # six images and metadata.jsonl
    for name, data in ray_files.items():
        assert data == local_files[name], name  # pixels, PNG text and metadata lines alike


@needs_ray
def test_ray_generate_resumes_only_the_missing(both_runs, tiny_model, run, tmp_path):
    _summary, ray_out, local_out = both_runs
    out = tmp_path / "partial"
    shutil.copytree(ray_out, out)
    (out / "cat" / "0001.png").unlink()
    (out / "hot_dog" / "0002.png").unlink()
    cut = out / "hot_dog" / "0000.png"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    kept = {name: (out / name).stat().st_mtime_ns for name in ("cat/0000.png", "cat/0002.png", "hot_dog/0001.png")}
    summary = _generate(run, tiny_model, out, "--engine", "ray", "--workers", "1")
    assert (summary["generated"], summary["redone"], summary["skipped"]) == (3, 1, 3)
    assert {name: (out / name).stat().st_mtime_ns for name in kept} == kept  # finished images not rewritten
    assert _files(out) == _files(local_out)


def test_ray_generate_without_ray(run, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = run("generate", "--classes", "cat", "--out", tmp_path / "g", "--engine", "ray")
    assert result.exit_code == 1
    assert "pip install 'devise[ray]'" in result.output and len(result.output.strip().splitlines()) == 1
