"""Commands that weigh how well images match their prompts: score (alignment), slices (where it drops)."""
from __future__ import annotations

import click

from devise.commands.support import (
    NAME,
    SEED,
    FiniteFloat,
    echo,
    echo_block,
    emit_json,
    given_path,
    json_option,
    label_map_option,
)
from devise.curate.score import score as score_index
from devise.curate.score import summary_text
from devise.curate.slice_report import slices as slice_index
from devise.curate.slice_report import text_table


@click.command()
@click.option("--index", "index_name", type=NAME, default=None, help="Index to score (default: the default index).")
@label_map_option
@json_option
def score(index_name, label_map, as_json):
    """Alignment of each image with its prompt (metadata.jsonl) or class phrase; stored as field `alignment`."""
    summary = score_index(index=index_name, label_map=label_map)
    if as_json:
        return emit_json(summary)
    echo_block(summary_text(summary))


@click.command()
@click.option("--index", "index_name", type=NAME, default=None, help="Index to slice (default: the default index).")
@click.option("--field", default="alignment", show_default=True, help="Numeric item field to compare clusters on.")
@click.option("--min-support", type=click.IntRange(min=2), default=5, show_default=True,
              help="Smallest cluster (scored images) worth reporting.")
@click.option("--min-drop", type=FiniteFloat(min=0), default=None,
              help="Smallest |cluster mean - overall mean| reported (default: half the field's std).")
@click.option("--k", type=click.IntRange(min=2), default=None, help="k-means clusters (default: sqrt(n/2), 2..100).")
@click.option("--method", type=click.Choice(["kmeans", "hdbscan"]), default="kmeans", show_default=True)
@click.option("--top", type=click.IntRange(min=1), default=5, show_default=True, help="Slices reported per side.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--out", type=given_path(file_okay=False), default="report", show_default=True,
              help="Folder for index.md and one contact sheet per slice.")
@json_option
def slices(index_name, field, min_support, min_drop, k, method, top, seed, out, as_json):
    """Clusters of similar images whose mean FIELD sits far above or below the collection's."""
    report = slice_index(index=index_name, field=field, min_support=min_support, min_drop=min_drop, k=k,
                        method=method, top=top, seed=seed, out=out)
    echo(f"wrote {report.written[0]} and {len(report.written) - 1} contact sheet(s)", err=True)
    if as_json:
        return emit_json(report)
    echo_block(text_table(report))
