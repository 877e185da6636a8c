"""What the commands of cli.py share: click types, common options and printers (the error policy is
commands.group's)."""
from __future__ import annotations

import dataclasses
import json
import math
import sys
import time

import click

from devise.commands.group import Given, given_path
from devise.core.errors import DeviseError
from devise.core.lists import comma_list
from devise.core.text import printable
from devise.data.labels import parse_labels
from devise.index.spaces import SPACES
from devise.search.results import lines
from devise.train.config import TrainConfig


class FiniteFloat(click.FloatRange):
    """A float option: click.FloatRange lets NaN through every bound (NaN compares false), so it is refused here."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


# numpy's legacy seeding, TensorFlow and Keras take seeds in [0, 2**32): more is an OverflowError deep inside.
SEED = click.IntRange(0, 2**32 - 1)


NAME = Given()


class LabelList(click.ParamType):
    """--labels: a file with one phrase per line, or a comma-separated list."""

    name = "LABELS"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value

        try:
            return parse_labels(value)
        except DeviseError as exc:
            self.fail(str(exc), param, ctx)


class ModelOrConse(click.ParamType):
    """A trained model directory, or the word "conse"."""

    name = "MODEL_DIR|conse"

    def convert(self, value, param, ctx):
        if value is None or str(value).lower() == "conse":
            return None if value is None else "conse"
        return click.Path(exists=True, file_okay=False).convert(value, param, ctx)


class CommaList(click.ParamType):
    name = "A,B,..."

    def convert(self, value, param, ctx):
        return value if isinstance(value, list) else comma_list(value)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")(fn)


def labels_option(fn):
    return click.option("--labels", type=LabelList(),
                        help="Restrict tags to these phrases: a file (one per line) or a comma list.")(fn)


def filter_option(fn):
    return click.option("--filter", "filter_text", metavar="FILTER",
                        help='Only items matching e.g. "a_face:[0.58 TO 0.99] AND label:cat AND path:*2024*" '
                             "(AND, OR, NOT, parentheses; also field < 0.3).")(fn)


def search_options(fn):
    """--index, --top, --json, --sheet and --filter: what `search` and `similar` share."""
    fn = filter_option(fn)
    fn = click.option("--sheet", type=given_path(dir_okay=False), help="Also write a contact sheet PNG of the results.")(fn)
    fn = click.option("--json", "as_json", is_flag=True,
                      help='Print {"query": q, "index": name, "results": [{"path": p, "score": s}], ...}.')(fn)
    fn = click.option("--top", type=click.IntRange(1, 10000), default=10, show_default=True)(fn)
    return click.option("--index", "index_name", type=NAME, help="Index to search (default: the last one built).")(fn)


def space_option(fn):
    return click.option("--space", type=click.Choice(list(SPACES)), default="features", show_default=True,
                        help="features: what images look like (backbone); words: what they mean (word space).")(fn)


def config_option(f: dataclasses.Field):
    """The click option for one TrainConfig field, from its metadata: --holdout-classes for holdout_classes,
    the field's default (shown for plain values), its help, and a click type checking its bounds or choices."""
    meta, flag = f.metadata, isinstance(f.default, bool)
    if "choices" in meta:
        kind = click.Choice(meta["choices"])
    elif "max" in meta:
        number = click.IntRange if isinstance(f.default, int) else FiniteFloat  # FloatRange lets NaN through
        kind = number(meta["min"], meta["max"], max_open=meta.get("max_open", False))
    elif f.name == "seed":
        kind = SEED
    elif meta.get("comma_list"):
        kind = CommaList()
    elif meta.get("existing_file"):
        kind = given_path(exists=True, dir_okay=False)
    else:
        kind = None if f.default is None or flag else type(f.default)
    default = None if isinstance(f.default, tuple) else f.default  # a list's default is shown by its help
    return click.option("--" + f.name.replace("_", "-"), f.name, type=kind, is_flag=flag, default=default,
                        show_default=default is not None and not flag, help=meta.get("help"))


def config_options(fn):
    """Every TrainConfig field meant for the command line as an option, in the fields' order:
    what `train` and `evaluate` take; the command passes them on as TrainConfig(**options)."""
    for f in reversed(dataclasses.fields(TrainConfig)):  # click lists options in the reverse order of decoration
        if f.metadata.get("cli", True):
            fn = config_option(f)(fn)
    return fn


def field_option(name: str):
    """One TrainConfig field's option, for a command that takes only it (e.g. --backbone, --label-map)."""
    return config_option(next(f for f in dataclasses.fields(TrainConfig) if f.name == name))


label_map_option = field_option("label_map")
backbone_option = field_option("backbone")


def echo(line="", err=False):
    """One line of text output (stdout, or stderr with `err`), control characters from names escaped."""
    click.echo(printable(line), err=err)


def echo_block(text, err=False):
    """Several lines (a table, a summary): each line's control characters escaped, the line breaks kept."""
    click.echo(printable(text, keep_newlines=True), err=err)


def emit_json(result):
    """Print a result (anything with to_dict(), or plain data) as indented JSON."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    click.echo(json.dumps(data, indent=2))


def print_per_image(result, n_images, as_json, describe):
    """One line per readable image (or the JSON document); fail when none could be read."""
    if as_json:
        emit_json(result)
    else:
        for r in result.images:
            echo(f"{r.image}: " + ", ".join(describe(r)))
    if not result.images:
        raise click.ClickException(f"none of the {n_images} image(s) could be read.")


def print_hits(results, as_json):
    """Search results as JSON or rank/score/path lines; the sheet, if any, is named on stderr."""
    if as_json:
        emit_json(results)
    else:
        for line in lines(results):
            echo(line)
    if results.sheet:
        echo(f"wrote {results.sheet}", err=True)


class GenerateProgress:
    """`generate`'s progress: a live line on a terminal; in logs, one line every 10 s."""

    def __init__(self):
        self.shown, self.tty = 0.0, sys.stderr.isatty()

    def __call__(self, done, total, per_minute):
        if self.tty or done == total or time.monotonic() - self.shown >= 10:
            click.echo(f"generated {done}/{total} images, {per_minute:.1f} images/min", err=True, nl=False)
            click.echo("\r" if self.tty else "\n", err=True, nl=False)
            self.shown = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.tty and self.shown:
            click.echo("", err=True)
