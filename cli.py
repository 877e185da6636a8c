"""devise command line: each command checks its input with click types, calls one library function, prints.

Results go to stdout, as text or `--json` (the result's `to_dict()`);
progress and warnings go to stderr. The commands live in devise.commands,
one module per area, and load only when they run (commands.group.LazyGroup),
so `devise --help` answers at once.
"""
from __future__ import annotations

import click

from devise.commands.group import LazyGroup, given_path
from devise.core.errors import restore_option_spelling, spell_options_for_cli
from devise.core.home import set_home

# name: (module, attribute, short help as the command's own, which tests/test_cli_reference.py checks)
COMMANDS = {
    'classify': ('devise.commands.training', 'classify',
             "The backbone's own ImageNet labels: what the CNN sees."),
    'dedupe': ('devise.commands.curation', 'dedupe',
             'Find near-duplicate images (re-encoded, resized, mirrored, constant) and optionally remove them.'),
    'demo': ('devise.commands.training', 'demo',
             'The main job: train with 20% of classes held out, compare with ConSE, tag held-out images.'),
    'evaluate': ('devise.commands.training', 'evaluate',
             'Zero-shot (ZSL) and generalized (GZSL) hit@k: model vs ConSE vs chance.'),
    'export': ('devise.commands.searching', 'export',
             "Write an index's vectors as .npy shards with Parquet metadata (clip-retrieval / autofaiss layout) to OUT."),
    'generate': ('devise.commands.generation', 'generate',
             'Generate a labelled image folder (OUT/<class>/<NNNN>.png) from text prompts; resumable.'),
    'index': ('devise.commands.searching', 'index_command',
             'Build or update a searchable index of IMAGES_DIR (only new or changed files are embedded).'),
    'indexes': ('devise.commands.searching', 'indexes',
             'List the indexes under the home; * marks the default.'),
    'label': ('devise.commands.curation', 'label',
             'Zero-shot label scores (cosine in word space) stored as index fields for --filter and map.'),
    'map': ('devise.commands.curation', 'map_command',
             'A 2-D map of the images (UMAP if installed, else t-SNE or PCA) as thumbnails or coloured dots.'),
    'score': ('devise.commands.analysis', 'score',
             'Alignment of each image with its prompt (metadata.jsonl) or class phrase; stored as field `alignment`.'),
    'search': ('devise.commands.searching', 'search_command',
             'Images matching a text QUERY: "cat", "a photo of a cat", "cat strawberry", "rocket - astronaut".'),
    'serve': ('devise.commands.web', 'serve',
             "A local web page to search, tag, curate and walk the indexes (needs the extra: pip install 'devise[web]')."),
    'similar': ('devise.commands.searching', 'similar',
             'Images that look like IMAGE (a file in the index, or any other image).'),
    'slices': ('devise.commands.analysis', 'slices',
             "Clusters of similar images whose mean FIELD sits far above or below the collection's."),
    'tag': ('devise.commands.training', 'tag',
             'Nearest words for each image (zero-shot classification with --labels).'),
    'train': ('devise.commands.training', 'train',
             'Train a projection head on DATA_DIR (one subfolder per class).'),
    'walk': ('devise.commands.curation', 'walk',
             'A greedy nearest-neighbour tour through the images: each visited once, neighbours alike.'),
    'words': ('devise.commands.searching', 'words',
             'Nearest words to WORD (or to a query such as "king - man + woman").'),
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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


def main():
    cli(prog_name="devise")


if __name__ == "__main__":
    main()
