"""The main job, `devise demo`: train, evaluate against ConSE, tag held-out images, draw a sheet."""
import sys
from pathlib import Path

from devise.core.errors import DataError
from devise.core.home import subdir
from devise.data.sheet import contact_sheet
from devise.data import datasets


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


def run_demo(data_dir=None, out=None, holdout=0.2, seed=0, epochs=30, n_tag=12):
    from devise.search.tag import tag
    from devise.train.run import evaluate, train_model

    out = Path(out) if out else subdir("demo")
    out.mkdir(parents=True, exist_ok=True)
    folder, exclude, label_map, note = _resolve_data(data_dir)
    print(f"demo: {note}", file=sys.stderr)
    summary = {"data": note, "wrote": []}
    if folder is None:
        photos = datasets.package_photos()
        if not photos:
            raise DataError("no images available: pass an image folder, e.g. `devise demo path/to/photos`.")
        results, _ = tag(photos[:n_tag], top=5)
        summary["tags"] = results
        summary["mode"] = "conse"
    else:
        model_dir = out / "model"
        model_dir, split, fitted, ds = train_model(folder, model_dir, holdout, None, seed, exclude, label_map, epochs=epochs)
        summary["model"] = str(model_dir)
        summary["wrote"].append(str(model_dir))
        summary["evaluation"] = evaluate(folder, model_dir=model_dir, exclude=exclude, label_map=label_map)
        step = max(1, len(split.test_unseen) // n_tag)
        picks = split.test_unseen[::step][:n_tag]
        # Every class phrase competes (generalized zero-shot); seen ones carry the calibrated penalty.
        every_label = sorted({ds.phrases[c] for c in ds.class_names})
        results, _ = tag(picks, model_dir=model_dir, top=3, labels=every_label)
        summary["tags"] = results
        summary["mode"] = "trained"
        summary["unseen"] = split.unseen
    truth = {}
    items = []
    for r in summary["tags"]:
        cls = Path(r["image"]).parent.name
        truth[r["image"]] = cls
        lines = [f"{t['word']} {t['score']:.2f}" for t in r["tags"]]
        if summary["mode"] == "trained":
            lines = [f"true: {cls}"] + lines
        items.append((r["image"], lines))
    sheet = contact_sheet(items, out / "held_out_tags.png",
                          title="devise: held-out classes, tagged zero-shot" if summary["mode"] == "trained"
                          else "devise: package photos tagged with ConSE (offline, no training data)",
                          caption_lines=4)
    summary["wrote"].append(str(sheet))
    summary["sheet"] = str(sheet)
    return summary
