"""docs/api.md's train/evaluate signatures are generated from TrainConfig's fields: a new field must regenerate them."""
import dataclasses
import inspect
from pathlib import Path

from devise.commands.api_reference import api_reference, signature_text
from devise.train.config import TrainConfig
from devise.train.evaluation import evaluate
from devise.train.run import train

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"


def test_api_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == api_reference(DOC.read_text(encoding="utf-8")), \
        "docs/api.md is stale: run `python -m devise.commands.api_reference docs/api.md`"


def test_signatures_name_every_training_option_with_its_default():
    for fn in (train, evaluate):
        text = signature_text(fn)
        assert text.startswith(f"{fn.__name__}(data_dir, *, ")
        for f in dataclasses.fields(TrainConfig):
            default = f'"{f.default}"' if isinstance(f.default, str) else repr(f.default)
            assert f", {f.name}={default}" in text, (fn.__name__, f.name)
        assert "**options" not in str(inspect.signature(fn))  # help() shows the fields, not a catch-all


def test_a_stale_row_is_rewritten_and_a_missing_row_is_an_error():
    import pytest

    stale = "| `train(data_dir, *, out, holdout=0.5)` | TrainResult |\n| `evaluate(data_dir)` | Evaluation |\n"
    fresh = api_reference(stale)
    assert fresh.splitlines()[0] == f"| `{signature_text(train)}` | TrainResult |"
    assert fresh.splitlines()[1] == f"| `{signature_text(evaluate)}` | Evaluation |"
    with pytest.raises(ValueError, match="evaluate"):
        api_reference("| `train(data_dir)` | TrainResult |\n")
