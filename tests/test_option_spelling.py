"""Errors name options as the caller spells them: `--holdout-classes` on the command line, `holdout_classes=` in Python."""
import pytest

import devise
from devise.core.errors import DataError, option


def test_a_message_names_the_option_for_python_unless_the_cli_runs(run, colour_folder, fake_backbone, words_home, tmp_path):
    message = f"pass {option('holdout_classes')} or {option('rebuild', flag=True)} or {option('engine', 'ray')}"
    assert str(DataError(message)) == "pass holdout_classes= or rebuild=True or engine='ray'"
    with pytest.raises(DataError, match="holdout_classes=") as raised:
        devise.train(colour_folder, out=tmp_path / "m", holdout_classes=["nosuch"])
    assert "--" not in str(raised.value)
    result = run("train", colour_folder, "--out", tmp_path / "m", "--holdout-classes", "nosuch")
    assert result.exit_code == 1 and "--holdout-classes" in result.stderr and "holdout_classes=" not in result.stderr
    assert str(DataError(message)).startswith("pass holdout_classes=")  # the CLI's spelling ended with its run
