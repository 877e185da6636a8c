"""The main job, `devise demo`: train, evaluate against ConSE, tag held-out images, draw a sheet."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from devise.core import outputs
from devise.core.errors import DataError
from devise.core.home import subdir
from devise.core.results import Result
from devise.data import datasets
from devise.data.sheet import contact_sheet
from devise.search.tag import ImageTags
from devise.train.evaluation import Evaluation

KIND = "demo"
SHEET = "held_out_tags.png"


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


def demo(data_dir: str | Path | None = None, *, out: str | Path | None = None, holdout: float = 0.2, seed: int = 0,
         epochs: int = 30, n_tag: int = 12) -> DemoSummary:
    """The main job: train with `holdout` of the classes held out, compare with ConSE, tag held-out images.

    data_dir: a labelled folder; default Caltech-101 (found locally or
    downloaded), else the photos that installed packages ship, tagged with
    ConSE. Writes the model and a contact sheet under `out` (default HOME/demo);
    `out` must be new, empty or a demo folder devise wrote, checked before any work.
    """
    from devise.models.model_store import check_target
    from devise.search.tag import tag
    from devise.train.config import TrainConfig
    from devise.train.evaluation import evaluate
    from devise.train.run import train_model

    claim = bool(out)
    if claim:
        outputs.claim_folder(out, KIND)
        check_target(Path(out) / "model")
        outputs.claim_file(Path(out) / SHEET)
        out = outputs.make_folder(out, KIND)
    else:
        out = subdir("demo")  # devise's own folder in its home: what is there, devise put there
    folder, exclude, label_map, note = _resolve_data(data_dir)
    print(f"demo: {note}", file=sys.stderr)
    if folder is None:
        photos = datasets.package_photos()
        if not photos:
            raise DataError("no images available: pass an image folder, e.g. `devise demo path/to/photos`.")
        summary = DemoSummary(note, "conse", tag(photos[:n_tag], top=5).images)
    else:
        config = TrainConfig(holdout=holdout, seed=seed, exclude=exclude, label_map=label_map, epochs=epochs)
        model_dir, split, _, ds = train_model(folder, out / "model", config)
        evaluation = evaluate(folder, model=model_dir, exclude=exclude, label_map=label_map)
        step = max(1, len(split.test_unseen) // n_tag)
        picks = split.test_unseen[::step][:n_tag]
        # Every class phrase competes (generalized zero-shot); seen ones carry the calibrated penalty.
        every_label = sorted({ds.phrases[c] for c in ds.class_names})
        tagged = tag(picks, model=model_dir, top=3, labels=every_label)
        summary = DemoSummary(note, "trained", tagged.images, evaluation, str(model_dir), split.unseen,
                              wrote=[str(model_dir)])
    items = []
    for r in summary.tags:
        lines = [f"{t.word} {t.score:.2f}" for t in r.tags]
        if summary.mode == "trained":
            lines = [f"true: {Path(r.image).parent.name}"] + lines
        items.append((r.image, lines))
    title = ("devise: held-out classes, tagged zero-shot" if summary.mode == "trained"
             else "devise: package photos tagged with ConSE (offline, no training data)")
    summary.sheet = str(contact_sheet(items, out / SHEET, title=title, caption_lines=4, claim=claim))
    summary.wrote.append(summary.sheet)
    return summary
