"""What the commands of cli.py share: the error policy, click types, common options and printers.

Error policy: a `DeviseError` (bad input, a missing or corrupt artifact)
is one line on stderr and exit 1; a usage error is click's, exit 2; any
other exception is a bug, reported in one line that names the command and
says how to get the traceback (`--debug` or DEVISE_DEBUG=1).
"""
from __future__ import annotations

import json
import math
import os
import sys
import time

import click

from devise.core.errors import DeviseError
from devise.core.home import storage_error
from devise.core.lists import comma_list
from devise.core.text import printable
from devise.index.spaces import SPACES
from devise.train.config import CALIBRATIONS, DEFAULT_HEADS, DEFAULT_LOSS, LOSSES, MAX_HEADS


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


class FiniteFloat(click.FloatRange):
    """A float option: click.FloatRange lets NaN through every bound (NaN compares false), so it is refused here."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


# numpy's legacy seeding, TensorFlow and Keras take seeds in [0, 2**32): more is an OverflowError deep inside.
SEED = click.IntRange(0, 2**32 - 1)


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


NAME = Given()


class LabelList(click.ParamType):
    """--labels: a file with one phrase per line, or a comma-separated list."""

    name = "LABELS"

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        from devise.data.labels import parse_labels

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


def label_map_option(fn):
    return click.option("--label-map", type=click.Path(exists=True, dir_okay=False),
                        help="File mapping class folder names to phrases (JSON or `name = phrase` lines).")(fn)


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


def split_options(fn):
    fn = click.option("--holdout", type=FiniteFloat(0, 1, max_open=True), default=0.2, show_default=True,
                      help="Fraction of classes held out (zero-shot).")(fn)
    fn = click.option("--holdout-classes", type=CommaList(), default=None,
                      help="Comma-separated class folders to hold out (overrides --holdout).")(fn)
    fn = click.option("--seed", type=SEED, default=0, show_default=True)(fn)
    fn = click.option("--exclude", type=CommaList(), default="",
                      help="Comma-separated class folders to ignore, e.g. BACKGROUND_Google.")(fn)
    fn = click.option("--loss", type=click.Choice(LOSSES), default=DEFAULT_LOSS, show_default=True)(fn)
    fn = click.option("--epochs", type=click.IntRange(1, 1000), default=30, show_default=True)(fn)
    fn = click.option("--heads", type=click.IntRange(1, MAX_HEADS), default=DEFAULT_HEADS, show_default=True,
                      help="Heads fitted from different seeds and averaged: better text search, K times the "
                           "training.")(fn)
    fn = click.option("--calibration", type=click.Choice(CALIBRATIONS), default=CALIBRATIONS[0], show_default=True,
                      help="How the seen-label penalty gamma is chosen on seen-class folds: h (best ZSL + GZSL H) "
                           "or novelty (a fixed share of seen images given an unseen top label).")(fn)
    return label_map_option(fn)


def backbone_option(fn):
    return click.option("--backbone", default=None,
                        help="efficientnet-lite0 (default, offline), efficientnet-lite1 or -lite2 (offline, extras "
                             "[lite1]/[lite2]), vgg16, efficientnetv2b0, resnet50 (need internet once); A+B "
                             "ensembles two (features side by side, logits averaged).")(fn)


WORDS_HELP = ("Word vectors: a GloVe .txt or word2vec file, a spaCy model (directory or wheel), or a converted "
              "name such as spacy-en-md (default: GloVe 6B 50-d).")


def model_options(fn):
    """--backbone and --words: what a model is built on."""
    fn = click.option("--words", "words", default=None, help=WORDS_HELP)(fn)
    return backbone_option(fn)


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
    from devise.search.results import lines

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
