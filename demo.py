"""The main job, `devise demo`: train, evaluate against ConSE, tag held-out images, draw a sheet.

By default it trains on DEMO_PER_CLASS images of each class, which keeps the
whole run within about five minutes on two cores; `full=True` uses every image,
the setting of the README's results (about 25 minutes there).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devise.core import outputs
from devise.core.errors import DataError
from devise.core.home import subdir
from devise.core.results import Result
from devise.data import datasets
from devise.data.folders import scan
from devise.data.sheet import contact_sheet
from devise.models.model_store import check_target
from devise.search.tag import ImageTags, tag
from devise.train.config import DEMO_PER_CLASS, TrainConfig
from devise.train.evaluation import Evaluation, evaluate
from devise.train.run import train_model

KIND = "demo"
SHEET = "held_out_tags.png"
# Seconds per image of a demo on 2 cores, from a `time devise demo` of 2,000 images on a fresh home (20 a
# class: 38 s embedding, 265 s for the 540 head epochs, 321 s in all): the backbone (new images only) and
# the head's training, calibration and evaluation (every image). They set the estimate printed at the start.
EMBED_S_PER_IMAGE, TRAIN_S_PER_IMAGE, FIXED_S = 0.019, 0.133, 18.0
RIGHT, WRONG = (40, 160, 60), (210, 40, 40)

LEGEND = """\
How to read the table (zero-shot: the held-out classes were never trained on):
  ZSL          each held-out image is labelled among the held-out classes only
  GZSL unseen  held-out images labelled among all classes, seen and held out
  GZSL seen    test images of the trained classes, labelled among all classes
  hit@k        the share of images whose true class is among the k best labels
  H            harmonic mean of GZSL unseen and GZSL seen hit@1: high only when both are
  ConSE        the training-free baseline (ImageNet classes mixed in word space); chance: random labels
This is one split of the classes, so figures move by several points with --seed; the README's
figures average five splits over all images: `devise evaluate DIR --splits 5`."""


def _resolve_data(data_dir):
    """Return (folder, exclude, label_map, note) or (None, ..., note) for the offline fallback."""
    if data_dir:
        return Path(data_dir), (), None, f"images from {data_dir}"
    found = datasets.find_caltech101()
    if found is None:
        try:
            found = datasets.download_caltech101()
        except DataError as exc:
            return None, (), None, f"Caltech-101 not found locally and not downloadable ({exc}); using package photos with ConSE only"
    return found, datasets.CALTECH_EXCLUDE, datasets.CALTECH_LABEL_MAP, f"Caltech-101 at {found}"


def expected_seconds(n_images, n_cached=0):
    """What a demo on `n_images` images, `n_cached` of them already embedded, takes on 2 cores."""
    return FIXED_S + EMBED_S_PER_IMAGE * (n_images - n_cached) + TRAIN_S_PER_IMAGE * n_images


@dataclass
class DemoSummary(Result):
    data: str                       # where the images came from
    mode: str                       # "trained", or "conse" for the offline fallback
    tags: list[ImageTags] = field(default_factory=list)
    evaluation: Evaluation | None = None
    model: str | None = None
    unseen: list[str] = field(default_factory=list)
    sheet: str | None = None
    wrote: list[str] = field(default_factory=list)
    images: int = 0                 # images trained and evaluated on
    right: int = 0                  # held-out images on the sheet whose best label is their class
    seconds: float = 0.0
    legend: str = LEGEND


def _sample(folder, exclude, per_class, full):
    """The folder to train on: `folder` itself, or links to `per_class` images of each class."""
    if full:
        return folder
    dst = subdir("demo", "data", f"{folder.name}-{per_class}")
    return datasets.subset_folder(folder, per_class, dst, exclude=exclude)


def demo(data_dir: str | Path | None = None, *, out: str | Path | None = None, holdout: float = 0.2, seed: int = 0,
         epochs: int = 30, n_tag: int = 12, per_class: int = DEMO_PER_CLASS, full: bool = False) -> DemoSummary:
    """The main job: train with `holdout` of the classes held out, compare with ConSE, tag held-out images.

    data_dir: a labelled folder; default Caltech-101 (found locally or
    downloaded), else the photos that installed packages ship, tagged with
    ConSE. per_class: images of each class used (full: all of them). Writes
    the model and a contact sheet under `out` (default HOME/demo); `out`
    must be new, empty or a demo folder devise wrote, checked before any work.
    """
    start = time.perf_counter()
    claim = bool(out)
    if claim:
        outputs.claim_folder(out, KIND)
        check_target(Path(out) / "model")
        outputs.claim_file(Path(out) / SHEET)
        out = outputs.make_folder(out, KIND)
    else:
        out = subdir("demo")  # devise's own folder in its home: what is there, devise put there
    folder, exclude, label_map, note = _resolve_data(data_dir)
    if folder is None:
        print(f"demo: {note}", file=sys.stderr)
        photos = datasets.package_photos()
        if not photos:
            raise DataError("no images available: pass an image folder, e.g. `devise demo path/to/photos`.")
        summary = DemoSummary(note, "conse", tag(photos[:n_tag], top=5).images, images=len(photos[:n_tag]))
    else:
        folder = _sample(folder, exclude, per_class, full)
        n_images = len(scan(folder, exclude=exclude, warn=False).paths)
        size = "all images" if full else f"{per_class} images of each class (--full: all)"
        print(f"demo: {note}, {size}: {n_images:,} images; expect about "
              f"{expected_seconds(n_images) / 60:.0f} min on 2 cores", file=sys.stderr)
        config = TrainConfig(holdout=holdout, seed=seed, exclude=exclude, label_map=label_map, epochs=epochs)
        model_dir, split, _, ds = train_model(folder, out / "model", config)
        print("demo: evaluating against ConSE on the held-out classes", file=sys.stderr)
        evaluation = evaluate(folder, model=model_dir, exclude=exclude, label_map=label_map)
        step = max(1, len(split.test_unseen) // n_tag)
        picks = split.test_unseen[::step][:n_tag]
        # Every class phrase competes (generalized zero-shot); seen ones carry the calibrated penalty.
        every_label = sorted({ds.phrases[c] for c in ds.class_names})
        tagged = tag(picks, model=model_dir, top=3, labels=every_label)
        summary = DemoSummary(note, "trained", tagged.images, evaluation, str(model_dir), split.unseen,
                              wrote=[str(model_dir)], images=len(ds.paths))
        summary.right = sum(r.tags[0].word == ds.phrases[Path(r.image).parent.name] for r in summary.tags if r.tags)
    summary.sheet = _draw_sheet(summary, out / SHEET, claim, ds.phrases if summary.mode == "trained" else {})
    summary.wrote.append(summary.sheet)
    summary.seconds = round(time.perf_counter() - start, 1)
    return summary


def _draw_sheet(summary, path, claim, phrases):
    """The tagged images; with a trained model, each framed green when its best label is its class, else red."""
    items, frames = [], []
    for r in summary.tags:
        lines = [f"{t.word} {t.score:.2f}" for t in r.tags]
        frame = None
        if summary.mode == "trained":
            truth = phrases[Path(r.image).parent.name]
            right = bool(r.tags) and r.tags[0].word == truth
            lines = [f"{'right' if right else 'wrong'}; true: {truth}"] + lines
            frame = RIGHT if right else WRONG
        items.append((r.image, lines))
        frames.append(frame)
    if summary.mode == "trained":
        title = (f"devise: held-out classes, tagged zero-shot: {summary.right} of {len(summary.tags)} right "
                 "(green frame: best label is the true class)")
    else:
        title = "devise: package photos tagged with ConSE (offline, no training data)"
    return str(contact_sheet(items, path, title=title, caption_lines=4, claim=claim, frames=frames))
