"""Low-resolution photos: the published crop against the full square, by the photo's short side.

    python bench/low_res.py                    # Lite0; ~10 min on 2 cores
    python bench/low_res.py --sides 32,64 --json
    python bench/low_res.py --caltech          # also Caltech-101's own small photos

Every photo of imagenet-probe-dev (500 photos, one per class, short side
256 px) is reduced, keeping its aspect, to each short side (Lanczos, then
saved as a quality-95 JPEG, as a small photo on disk would be), then read
through devise's own preprocessing (`Recipe.load`: decoding, crop and
resize) with each candidate recipe:

- crop: the published centre square of size / (size + 32) of the short
  side, bicubic (87.5% at 224 px), at every side;
- full square, bilinear: what the low-resolution rule gives now;
- full square, bicubic.

Scored: the backbone's ImageNet top-1 and top-5 over 1,000 classes, and
ConSE's hit@1 among the 500 probe classes (each class's WordNet lemmas in
GloVe, as ConSE's own label vectors). The last column says which recipe the
rule in models/backbones/preprocessing.py picks at that side. The rule's
threshold was set from this table.

With --caltech, a check on photos that are small as they were taken rather
than reduced: Caltech-101's photos (every class but BACKGROUND_Google and
Faces_easy) whose short side falls in each of BANDS (at most 500 of each,
evenly spaced), ConSE's hit@1 among
Caltech's 100 class phrases (data/label_maps/caltech101.txt) per recipe.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from backbones import probe_labels
from PIL import Image
from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, ROOT

SIDES = (32, 48, 64, 96, 128, 160, 192)
JPEG_QUALITY = 95
BANDS = ((80, 128), (128, 160), (160, 192))  # Caltech-101's short sides start at 80 px
BAND_PHOTOS = 500  # at most, evenly spaced over the band's sorted paths
CALTECH_EXCLUDE = ("BACKGROUND_Google", "Faces_easy")


def candidates(size):
    """(column name, recipe) pairs; none has a thumbnail rule, so each applies at every side."""
    from devise.models.backbones.preprocessing import CROP_PADDING, Recipe

    return (("crop, bicubic", Recipe("bench-crop", size, size / (size + CROP_PADDING), "bicubic")),
            ("full square, bilinear", Recipe("bench-full-bilinear", size, 1.0, "bilinear")),
            ("full square, bicubic", Recipe("bench-full-bicubic", size, 1.0, "bicubic")))


def reduce_to(files, side, folder):
    """Copies of `files` whose short side is `side` px, as JPEGs in `folder`."""
    out = []
    for f in files:
        with Image.open(f) as img:
            img = img.convert("RGB")
            scale = side / min(img.size)
            small = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                               Image.Resampling.LANCZOS)
        path = Path(folder) / (Path(f).stem + ".jpg")
        small.save(path, quality=JPEG_QUALITY)
        out.append(str(path))
    return out


def _short_side(path):
    with Image.open(path) as img:
        return min(img.size)


def predict_logits(backbone, pixels):
    batch = backbone.batch_size
    return np.concatenate([backbone.predict(pixels[i:i + batch])[1] for i in range(0, len(pixels), batch)])


def scores(logits, labels, conse, probe_vectors):
    top5 = np.argsort(-logits, axis=1)[:, :5]
    word = conse.project(logits) @ probe_vectors.T
    return {"top1": float((top5[:, 0] == labels).mean()), "top5": float((top5 == labels[:, None]).any(1).mean()),
            "conse_hit1": float((word.argmax(1) == np.arange(len(labels))).mean())}


def measure(backbone, files, labels, sides):
    from devise.core.vectors import unit_rows
    from devise.data.words import load_words
    from devise.models.backbones.preprocessing import recipe_for
    from devise.models.conse import ConSE

    conse = ConSE(load_words(None))
    probe_vectors = unit_rows(conse.label_vectors[labels])  # row i: photo i's class
    rule = recipe_for(backbone)
    rows = []
    with tempfile.TemporaryDirectory(prefix="devise-low-res-") as tmp:
        for side in sides:
            start = time.perf_counter()
            if side:
                folder = Path(tmp, str(side))
                folder.mkdir()
                paths = reduce_to(files, side, folder)
            else:
                paths = files
            row = {"side": side or "original", "recipes": {}}
            for name, recipe in candidates(backbone.input_size):
                pixels = np.stack([recipe.load(p) for p in paths])
                row["recipes"][name] = scores(predict_logits(backbone, pixels), labels, conse, probe_vectors)
            low_res = sum((side or _short_side(p)) < rule.thumbnail_side for p in paths)
            row["rule_picks"] = ("full square, bilinear" if low_res == len(paths) else "crop, bicubic" if not low_res
                                 else f"crop, bicubic ({low_res} under {rule.thumbnail_side} px: full square)")
            rows.append(row)
            print(f"{row['side']} px done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return rule, rows


def caltech_bands(backbone, caltech):
    """Caltech-101's photos by short side: ConSE hit@1 among its classes, per recipe and band."""
    from devise.data.labels import class_phrases, phrase_vectors, read_label_map
    from devise.data.words import load_words
    from devise.models.conse import ConSE

    words = load_words(None)
    conse = ConSE(words)
    classes = sorted(p.name for p in Path(caltech).iterdir() if p.is_dir() and p.name not in CALTECH_EXCLUDE)
    phrases = class_phrases(classes, read_label_map(ROOT / "data" / "label_maps" / "caltech101.txt"))
    names, vectors = phrase_vectors(phrases, words)
    rows = []
    for low, high in BANDS:
        start = time.perf_counter()
        paths, y = [], []
        for i, cls in enumerate(names):
            for f in sorted((Path(caltech) / cls).glob("*.jpg")):
                if low <= _short_side(f) < high:
                    paths.append(str(f))
                    y.append(i)
        keep = np.unique(np.linspace(0, len(paths) - 1, min(BAND_PHOTOS, len(paths))).round().astype(int))
        paths, y = [paths[k] for k in keep], [y[k] for k in keep]
        row = {"band": f"{low}-{high - 1} px", "photos": len(paths), "recipes": {}}
        for name, recipe in candidates(backbone.input_size):
            logits = predict_logits(backbone, np.stack([recipe.load(p) for p in paths]))
            row["recipes"][name] = float(((conse.project(logits) @ vectors.T).argmax(1) == np.array(y)).mean())
        rows.append(row)
        print(f"Caltech-101 {row['band']} done in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return rows


def table_text(backbone, rule, rows, n):
    names = list(rows[0]["recipes"])
    lines = [f"{backbone.name} at {backbone.input_size} px; imagenet-probe-dev, {n} photos; "
             f"rule: {rule.id} (full square, bilinear under {rule.thumbnail_side} px)",
             "top-1 / top-5 over 1,000 ImageNet classes; ConSE hit@1 among the 500 probe classes", "",
             "| short side | " + " | ".join(f"{name}: top-1 / top-5 / ConSE@1" for name in names) + " | rule picks |",
             "|---|" + "---|" * (len(names) + 1)]
    for row in rows:
        best = max(r["top1"] for r in row["recipes"].values())
        cells = []
        for name in names:
            r = row["recipes"][name]
            top1 = f"**{r['top1']:.3f}**" if r["top1"] == best else f"{r['top1']:.3f}"
            cells.append(f"{top1} / {r['top5']:.3f} / {r['conse_hit1']:.3f}")
        side = f"{row['side']} px" if row["side"] != "original" else "as they are (most 256 px)"
        lines.append(f"| {side} | " + " | ".join(cells) + f" | {row['rule_picks']} |")
    return "\n".join(lines)


def caltech_text(rows):
    names = list(rows[0]["recipes"])
    lines = ["\nCaltech-101 photos by their own short side: ConSE hit@1 among 100 classes", "",
             "| short side | photos | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for row in rows:
        best = max(row["recipes"].values())
        cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in row["recipes"].values()]
        lines.append(f"| {row['band']} | {row['photos']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--backbone", default="efficientnet-lite0")
    ap.add_argument("--sides", default=",".join(map(str, SIDES)),
                    help="comma-separated short sides in px; the original photos are always measured too")
    ap.add_argument("--caltech", action="store_true", help="also Caltech-101's photos by their own short side")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()
    probe_dir, caltech = Path(args.data_root) / "imagenet-probe-dev", Path(args.data_root) / "caltech101"
    for needed in [probe_dir] + ([caltech] if args.caltech else []):
        if not needed.is_dir():
            sys.exit(f"{needed}: not found; pass --data-root DIR holding imagenet-probe-dev/ and caltech101/")
    try:
        sides = [int(s) for s in args.sides.split(",") if s]
    except ValueError:
        ap.error("--sides takes whole numbers of pixels, e.g. 32,64")

    from devise.models.backbones import get_backbone

    backbone = get_backbone(args.backbone)
    files, labels = probe_labels(probe_dir)
    rule, rows = measure(backbone, files, labels, sides + [0])
    caltech_rows = caltech_bands(backbone, caltech) if args.caltech else []
    if args.json:
        print(json.dumps({"backbone": backbone.name, "rule": rule.to_dict(), "rows": rows, "caltech": caltech_rows},
                         indent=2))
        return
    text = table_text(backbone, rule, rows, len(files))
    if caltech_rows:
        text += "\n" + caltech_text(caltech_rows)
    publish(f"low-res {backbone.name}", text, doc=not args.no_doc, fence=False)


if __name__ == "__main__":
    main()
