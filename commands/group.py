"""The `devise` group: the error policy of every command, and commands loaded only when they run.

Error policy: a `DeviseError` (bad input, a missing or corrupt artifact)
is one line on stderr and exit 1; a usage error is click's, exit 2; any
other exception is a bug, reported in one line that names the command and
says how to get the traceback (`--debug` or DEVISE_DEBUG=1).

Loading: each command's module imports the library it calls (NumPy, Pillow,
the index and curation code) at its top. Importing all of them would make
`devise --help` wait ~1 s for code it does not run, so the group knows its
commands from a table (cli.COMMANDS: module, attribute, short help) and
imports a command's module only to run or show that command.
tests/test_cli_reference.py checks the table against the commands.
"""
from __future__ import annotations

import importlib
import os

import click

from devise.core.errors import DeviseError
from devise.core.home import storage_error
from devise.core.text import printable


class DeviseGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DeviseError as exc:
            raise click.ClickException(printable(exc)) from None
        except click.ClickException as exc:
            # Usage errors quote what was typed: a file name among it is shown escaped too.
            exc.message = printable(exc.message, keep_newlines=True)
            raise
        except (click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            full_or_read_only = storage_error(exc)  # any write the library did not map itself
            if full_or_read_only is not None:
                raise click.ClickException(printable(full_or_read_only)) from None
            if ctx.params.get("debug") or os.environ.get("DEVISE_DEBUG") not in (None, "", "0"):
                raise
            command = ctx.invoked_subcommand or "devise"
            what = printable(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            raise click.ClickException(
                f"`devise {command}` failed unexpectedly ({what}); this is a bug in devise: rerun with --debug "
                f"and report the command and its traceback to the devise issue tracker.") from None



class LazyGroup(DeviseGroup):
    """A DeviseGroup whose commands are {name: (module, attribute, short help)}, imported on first use."""

    def __init__(self, *args, lazy_commands: dict[str, tuple[str, str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy_commands:
            module, attribute, _ = self.lazy_commands[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        """The command list of --help, from the table: short help without importing any command."""
        listed = [(name, click.Command(name, help=self.lazy_commands[name][2]) if name in self.lazy_commands
                   and name not in self.commands else self.commands[name]) for name in self.list_commands(ctx)]
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _ in listed)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in listed])


class Given(click.ParamType):
    """A text option that, when given, must hold something: an empty string would silently mean "not given"."""

    def __init__(self, inner=click.STRING):
        self.inner, self.name = inner, inner.name

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("an empty string; give a value or leave the option out.", param, ctx)
        return self.inner.convert(value, param, ctx)

    def to_info_dict(self):
        return self.inner.to_info_dict()


def given_path(**kwargs):
    """click.Path(**kwargs) that refuses "" (which would write nowhere, or use the default, without a word)."""
    return Given(click.Path(**kwargs))


