"""Commands that train and evaluate a model: train, evaluate, tag, classify, demo."""
from __future__ import annotations

import click

from devise.commands.support import (
    NAME,
    backbone_option,
    config_options,
    echo,
    echo_block,
    emit_json,
    given_path,
    json_option,
    labels_option,
    print_per_image,
)
from devise.demo import demo as run_demo
from devise.models.classify import classify as run_classify
from devise.search.tag import tag as run_tag
from devise.train.config import DEMO_PER_CLASS, TrainConfig
from devise.train.evaluation import evaluate as run_evaluate
from devise.train.report import evaluation_table
from devise.train.run import train as run_train


@click.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=given_path(file_okay=False), help="Model directory to write.")
@config_options
@json_option
def train(data_dir, out, as_json, **options):
    """Train a projection head on DATA_DIR (one subfolder per class)."""
    r = run_train(data_dir, out=out, config=TrainConfig(**options))
    if as_json:
        return emit_json(r)
    more = " ..." if len(r.unseen) > 8 else ""
    echo(f"trained on {r.train_images} images of {len(r.seen)} classes; "
               f"held out {len(r.unseen)} classes ({', '.join(r.unseen[:8])}{more})")
    echo(f"gated blend {r.blend} (head vs ConSE), calibrated stacking gamma={r.gamma}, "
               f"search gamma={r.search_gamma}; skipped {r.skipped} file(s)")
    if r.folds:
        echo(f"seen-class folds: ZSL hit@1 {r.folds['zsl_hit1']:.3f}, GZSL H {r.folds['gzsl_h']:.3f} "
                   "(compare backbones and recipes by these: no held-out class is in them)")
    echo(f"model: {r.model_dir}")


@click.command()
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Evaluate this model on its own split.")
@click.option("--test-dir", type=click.Path(exists=True, file_okay=False), help="Take test images from this folder (e.g. CIFAR-10 test/).")
@click.option("--splits", type=click.IntRange(1, 100), default=1, show_default=True, help="Seeded class splits to average.")
@config_options
@json_option
def evaluate(data_dir, model_dir, test_dir, splits, as_json, **options):
    """Zero-shot (ZSL) and generalized (GZSL) hit@k: model vs ConSE vs chance.

    To compare backbones or recipes, look at the seen-class fold scores in the footer (`runs[].folds`
    in --json): held-out classes play no part in them, unlike the table's figures."""
    report = run_evaluate(data_dir, model=model_dir, test_dir=test_dir, splits=splits, config=TrainConfig(**options))
    if as_json:
        return emit_json(report)
    echo_block(evaluation_table(report.to_dict()))


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), help="Trained model (default: ConSE, no training).")
@click.option("--index", "index_name", type=NAME, default=None, help="Use the model of this index.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@labels_option
@backbone_option
@json_option
def tag(images, model_dir, index_name, top, labels, backbone, as_json):
    """Nearest words for each image (zero-shot classification with --labels). IMAGES may be files or folders.

    Each tag shows its score: the cosine in word space, less a trained
    model's calibrated penalty on the classes it was trained on; --json also
    gives the plain cosine.
    """
    result = run_tag(images, model=model_dir, index=index_name, top=top, labels=labels, backbone=backbone)
    print_per_image(result, len(images), as_json, lambda r: [f"{t.word} ({t.score:.3f})" for t in r.tags])


@click.command()
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True)
@backbone_option
@json_option
def classify(images, top, backbone, as_json):
    """The backbone's own ImageNet labels: what the CNN sees."""
    result = run_classify(images, top=top, backbone=backbone)
    print_per_image(result, len(images), as_json, lambda r: [f"{x.label} ({x.prob:.3f})" for x in r.labels])


@click.command()
@click.argument("data_dir", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=given_path(file_okay=False), help="Where to write the model and sheet (default: HOME/demo).")
@click.option("--epochs", type=click.IntRange(1, 1000), default=30, show_default=True)
@click.option("--per-class", type=click.IntRange(2, 100_000), default=DEMO_PER_CLASS, show_default=True,
              help="Images of each class to train and evaluate on (about 5 minutes on 2 cores for Caltech-101).")
@click.option("--full", is_flag=True, help="Use every image, as the README's results do (about 25 minutes).")
@json_option
def demo(data_dir, out, epochs, per_class, full, as_json):
    """The main job: train with 20% of classes held out, compare with ConSE, tag held-out images."""
    summary = run_demo(data_dir, out=out, epochs=epochs, per_class=per_class, full=full)
    if as_json:
        return emit_json(summary)
    if summary.evaluation is not None:
        echo_block(evaluation_table(summary.evaluation.to_dict()))
        echo()
        echo_block(summary.legend)
        echo()
        echo(f"held-out images on the sheet whose best label is their class: {summary.right} of {len(summary.tags)}")
    for r in summary.tags:
        echo(f"{r.image}: " + ", ".join(f"{t.word} ({t.score:.2f})" for t in r.tags))
    echo(f"{summary.images:,} images, {summary.seconds:.0f} s; wrote: " + ", ".join(summary.wrote))
