"""docs/cli.md is generated from --help: a change to a command's options or help must regenerate it."""
from pathlib import Path

from devise.cli import cli
from devise.commands.reference import command_help, reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == reference(cli), \
        "docs/cli.md is stale: run `python -m devise.commands.reference > docs/cli.md`"


def test_reference_holds_every_command_and_its_options():
    text = reference(cli)
    for name, command in cli.commands.items():
        assert f"## devise {name}\n" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in command_help(cli, name), (name, opt)
