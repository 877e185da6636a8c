"""TrainConfig is the one carrier of training options: its fields are the commands' options and the API's keywords."""
import dataclasses
import json

import click
import pytest
from click.testing import CliRunner

import devise
from devise.cli import cli
from devise.commands import training as training_commands
from devise.core.errors import DataError
from devise.train import run
from devise.train.config import MAX_HEADS, TrainConfig

CLI_FIELDS = [f for f in dataclasses.fields(TrainConfig) if f.metadata.get("cli", True)]


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_every_field_is_an_option_with_the_fields_default_and_help(command):
    params = {p.name: p for p in cli.get_command(click.Context(cli), command).params}
    for f in CLI_FIELDS:
        param = params[f.name]
        assert param.opts == ["--" + f.name.replace("_", "-")]
        assert param.help == f.metadata.get("help")
        assert TrainConfig(**{f.name: param.default}) == TrainConfig(**{f.name: f.default}), f.name
    assert "batch_size" not in params and "test_fraction" not in params


def capture(monkeypatch, module, name):
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs, args=args)
        return {}

    monkeypatch.setattr(module, name, fake)
    return seen


def test_train_collects_its_options_into_one_config(monkeypatch, colour_folder, tmp_path):
    seen = capture(monkeypatch, training_commands, "run_train")  # the library function the command calls
    result = CliRunner().invoke(cli, ["train", str(colour_folder), "--out", str(tmp_path / "m"), "--json"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == TrainConfig() and seen["out"] == str(tmp_path / "m")
    result = CliRunner().invoke(cli, ["train", str(colour_folder), "--out", str(tmp_path / "m"), "--json",
                                      "--holdout-classes", "red,blue", "--exclude", "white", "--heads", "2",
                                      "--loss", "hinge", "--calibration", "novelty", "--verbose", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == TrainConfig(holdout_classes=("red", "blue"), exclude=("white",), heads=2, loss="hinge",
                                         calibration="novelty", verbose=True, seed=4)


def test_evaluate_collects_its_options_into_one_config(monkeypatch, colour_folder, tmp_path):
    seen = capture(monkeypatch, training_commands, "run_evaluate")
    result = CliRunner().invoke(cli, ["evaluate", str(colour_folder), "--splits", "3", "--epochs", "7", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {}
    assert seen["config"] == TrainConfig(epochs=7) and seen["splits"] == 3 and seen["model"] is None


def test_keywords_override_a_config_and_an_unknown_keyword_is_named(monkeypatch, colour_folder, tmp_path):
    told = []

    def fake_train_model(data_dir, out, config, ds=None):
        told.append(config)
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(run, "train_model", fake_train_model)
    with pytest.raises(KeyboardInterrupt):
        devise.train(colour_folder, out=tmp_path / "m", config=TrainConfig(seed=3, epochs=9), epochs=2,
                     exclude=["white"])
    assert told == [TrainConfig(seed=3, epochs=2, exclude=("white",))]
    with pytest.raises(TypeError, match=r"train\(\) got an unexpected keyword argument 'holdot'"):
        devise.train(colour_folder, out=tmp_path / "m", holdot=0.3)
    with pytest.raises(TypeError, match=r"evaluate\(\) got an unexpected keyword argument 'spilts'"):
        devise.evaluate(colour_folder, spilts=2)


@pytest.mark.parametrize(("changes", "message"), [
    ({"heads": MAX_HEADS + 1}, f"heads must be between 1 and {MAX_HEADS}, not {MAX_HEADS + 1}"),
    ({"epochs": 0}, "epochs must be between 1 and 1000, not 0"),
    ({"holdout": 1.0}, "holdout must be at least 0 and below 1, not 1.0"),
    ({"batch_size": 0}, "batch_size must be at least 1, not 0"),
    ({"loss": "l2"}, "unknown loss 'l2'; choose one of softmax, cosine, hinge"),
    ({"calibration": "best"}, "unknown calibration 'best'"),
])
def test_python_callers_get_the_bounds_the_command_line_checks(changes, message):
    with pytest.raises(DataError, match=message):
        TrainConfig(**changes)
    assert TrainConfig(holdout=0.0, epochs=1000, heads=1).heads == 1
