"""devise command line: each command checks its input with click types, calls one library function, prints.

Results go to stdout, as text or `--json` (the result's `to_dict()`);
progress and warnings go to stderr. Heavy libraries load inside the library
functions, never here, so `--help` and index searches stay fast. The
commands live in devise.commands, one module per area.
"""
from __future__ import annotations

import click

from devise.commands import analysis, curation, generation, searching, training, web
from devise.commands.support import DeviseGroup, given_path
from devise.core.errors import restore_option_spelling, spell_options_for_cli
from devise.core.home import set_home


@click.group(cls=DeviseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", type=given_path(file_okay=False), envvar="DEVISE_HOME",
              help="Where models, indexes and caches live (default ~/.devise).")
@click.option("--verbose", "-v", is_flag=True, help="Also show the start-up messages of TensorFlow and other libraries.")
@click.option("--debug", is_flag=True, envvar="DEVISE_DEBUG",
              help="Show the full traceback of an unexpected error (also DEVISE_DEBUG=1).")
def cli(home, verbose, debug):
    """devise: DeViSE-style joint image/word embeddings, tagging, search and curation."""
    import os

    set_home(home)
    token = spell_options_for_cli()
    click.get_current_context().call_on_close(lambda: restore_option_spelling(token))
    if verbose:
        os.environ["DEVISE_VERBOSE"] = "1"


for command in (training.train, training.evaluate, training.tag, training.classify, training.demo,
                generation.generate, analysis.score, analysis.slices,
                searching.index_command, searching.search_command, searching.similar, searching.words,
                searching.indexes, searching.export,
                curation.dedupe, curation.label, curation.walk, curation.map_command, web.serve):
    cli.add_command(command)


def main():
    cli(prog_name="devise")


if __name__ == "__main__":
    main()
