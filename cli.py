"""devise command line: thin wrappers that check input, call one library function, print.

Heavy libraries (TensorFlow, Keras, gensim, diffusers) are imported inside the
library functions, never here, so `--help` and index searches stay fast.
"""
import functools
import json
import sys

import click

from core.errors import DeviseError


def reports_errors(fn):
    """Turn typed library errors into one-line click errors (exit 1)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeviseError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def emit_json(obj):
    click.echo(json.dumps(obj, indent=2))


def comma_list(value):
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=click.Path(file_okay=False), envvar="DEVISE_HOME",
              help="Where models, indexes and caches live (default ~/.devise).")
def cli(home):
    """devise: DeViSE-style joint image/word embeddings, tagging and search."""
    from core.home import set_home

    set_home(home)


# --- commands: trainer (issue 2) -------------------------------------------


# --- commands: generate (issue 5) ------------------------------------------


# --- commands: index and search (issue 3) ----------------------------------


# --- commands: curation (issue 4) ------------------------------------------


def main():
    cli(prog_name="devise")


if __name__ == "__main__":
    main()
