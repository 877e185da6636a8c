"""Edge cases found in review: each was a lost file, a traceback or a wrong picture before its fix."""
import pytest

from helpers import fit_model


def test_a_model_folder_holding_user_files_is_not_replaced(tmp_path, colour_folder, words_home, fake_backbone, run):
    out = tmp_path / "model"
    assert run("train", colour_folder, "--holdout-classes", "yellow", "--epochs", "2", "--heads", "1", "--out", out).exit_code == 0
    notes = out / "my_training_notes.txt"
    notes.write_text("lr sweep: 1e-3 best")
    result = run("train", colour_folder, "--holdout-classes", "yellow", "--epochs", "2", "--heads", "1", "--out", out)
    assert result.exit_code == 1 and "my_training_notes.txt" in result.stderr
    assert notes.read_text() == "lr sweep: 1e-3 best"


def test_similar_to_an_indexed_file_that_was_deleted_is_one_line(words_home, colour_folder, fake_backbone, run):
    import devise
    from devise.core.errors import BadImageError

    assert run("index", colour_folder).exit_code == 0
    gone = colour_folder / "red" / "003.jpg"
    gone.unlink()
    with pytest.raises(BadImageError, match=r"003\.jpg"):
        devise.similar(gone, top=3)


def test_a_label_map_that_is_not_utf8_is_one_line(tmp_path, colour_folder, fake_backbone, words_home, run):
    mapping = tmp_path / "map.txt"
    mapping.write_bytes("red = rouge caf\xe9\n".encode("latin-1"))
    result = run("train", colour_folder, "--label-map", mapping, "--out", tmp_path / "m")
    assert result.exit_code == 1 and "UTF-8" in result.stderr and "Traceback" not in result.output


def test_a_thumbnail_of_an_older_version_is_not_another_image(words_home, colour_folder, fake_backbone, run,
                                                              tmp_path):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    from starlette.testclient import TestClient

    from devise.web.app import create_app

    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    assert run("index", colour_folder, "--model", model, "--name", "colours").exit_code == 0
    client = TestClient(create_app(token="t"), base_url="http://127.0.0.1:8765")
    version = client.get("/api/indexes").json()[0]["version"]
    assert client.get("/thumb/0", params={"v": version}).status_code == 200
    assert run("label", "--labels", "red,blue").exit_code == 0  # every edit writes a new version
    stale = client.get("/thumb/0", params={"v": version})
    assert stale.status_code == 409 and "changed" in stale.text


def test_edits_are_refused_on_a_network_host(words_home, run):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    result = run("serve", "--host", "0.0.0.0", "--allow-edits")
    assert result.exit_code == 2 and "loopback" in result.stderr


def test_dedupe_like_an_unreadable_indexed_image_is_one_line(dup_index, run):
    victim = dup_index / "alpha" / "001.png"
    victim.write_bytes(b"not a png any more")
    result = run("dedupe", "--like", victim, "--json")
    assert result.exit_code == 1 and "001.png" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
