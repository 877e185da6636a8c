"""docs/cli.md is generated from --help: a change to a command's options or help must regenerate it."""
import importlib
from pathlib import Path

import click
import pytest

from devise.cli import COMMANDS, cli
from devise.commands.reference import command_help, reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == reference(cli), \
        "docs/cli.md is stale: run `python -m devise.commands.reference > docs/cli.md`"


def test_reference_holds_every_command_and_its_options():
    text = reference(cli)
    for name in cli.list_commands(click.Context(cli)):
        command = cli.get_command(click.Context(cli), name)
        assert f"## devise {name}\n" in text
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in command_help(cli, name), (name, opt)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_table_matches_each_command(name):
    """cli.COMMANDS lets --help list the commands without importing them: its short help must be the command's."""
    module, attribute, short = COMMANDS[name]
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command) and command.name == name
    stub = click.Command(name, help=short)
    for limit in (45, 66, 1000):
        assert stub.get_short_help_str(limit) == command.get_short_help_str(limit), (name, limit)


def test_every_command_module_command_is_in_the_table():
    from devise.commands import analysis, curation, generation, searching, training, web

    found = {c.name for m in (analysis, curation, generation, searching, training, web)
             for c in vars(m).values() if isinstance(c, click.Command) and c.callback.__module__ == m.__name__}
    assert found == set(COMMANDS)


def test_help_lists_the_commands_without_importing_them():
    import subprocess
    import sys

    code = ("import sys; from click.testing import CliRunner; from devise.cli import cli; "
            "r = CliRunner().invoke(cli, ['--help']); assert 'search' in r.output, r.output; "
            "print(sorted(m for m in sys.modules if m.startswith('devise.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['devise.commands.group']"
