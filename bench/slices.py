"""Slices on Caltech-101: with the true class phrase as the prompt, which groups does the model get wrong?

    DEVISE_HOME=/tmp/dh python bench/slices.py                 # ConSE, no training
    DEVISE_HOME=/tmp/dh python bench/slices.py --model models/caltech --name caltech101-head

Indexes Caltech-101 (features come from the feature cache after the first
run), drops BACKGROUND_Google and Faces_easy from the index (tombstones:
Faces_easy duplicates Faces, the background class has no phrase), runs
`score` with the Caltech label map and then `slices`, and copies the best
and the worst slice's contact sheet to --docs (shrunk to at most 500 KB).
"""
import argparse
import json
import os
import shutil
import time
from pathlib import Path

from results_doc import add_doc_option, publish

from common import DEFAULT_DATA_ROOT, ROOT

EXCLUDED = ("BACKGROUND_Google", "Faces_easy")
MAX_DOC_BYTES = 500_000


def shrink_copy(src, dst):
    """Copy a PNG sheet, scaling it down until it fits in MAX_DOC_BYTES."""
    from PIL import Image

    from devise.core.atomic import atomic_path

    shutil.copyfile(src, dst)
    scale = 1.0
    while os.path.getsize(dst) > MAX_DOC_BYTES and scale > 0.3:
        scale *= 0.85
        with Image.open(src) as img:
            small = img.convert("RGB").resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
        with atomic_path(dst, suffix=".png") as tmp:
            small.quantize(256).save(tmp, format="PNG", optimize=True)
    return os.path.getsize(dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--model", default="conse", help="trained model directory, or conse (default)")
    ap.add_argument("--name", default="caltech101-slices", help="index name (under DEVISE_HOME)")
    ap.add_argument("--rebuild", action="store_true", help="re-project every image (after a model/ConSE change)")
    ap.add_argument("--k", type=int, default=None)
    ap.add_argument("--min-support", type=int, default=5)
    ap.add_argument("--out", default="/tmp/caltech-slices-report")
    ap.add_argument("--docs", default=str(ROOT / "docs"), help="where the best/worst sheets go ('' to skip)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    import devise
    from devise.curate.score import summary_text
    from devise.curate.slice_report import text_table
    from devise.index.edit import remove_items
    from devise.index.store import open_index

    root = Path(args.data_root) / "caltech101"
    timings, start = {}, time.perf_counter()
    built = devise.build_index(root, model=args.model, name=args.name, rebuild=args.rebuild)
    idx = open_index(args.name)
    drop = [item["path"] for item in idx.items if item["class"] in EXCLUDED]
    if drop:
        remove_items(drop, index=args.name)
    timings["index"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    scored = devise.score(index=args.name, label_map=ROOT / "data" / "label_maps" / "caltech101.txt")
    timings["score"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    report = devise.slices(index=args.name, min_support=args.min_support, k=args.k, out=args.out)
    written = report.written
    timings["slices"] = round(time.perf_counter() - start, 1)

    docs = {}
    if args.docs and not args.no_doc:
        for side in ("above", "below"):
            sheet = Path(args.out) / f"slice-{side}-1.png"
            if sheet.is_file():
                target = Path(args.docs) / f"slices-caltech101-{'best' if side == 'above' else 'worst'}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                docs[str(target)] = shrink_copy(sheet, target)
    result = {"index": built.to_dict(), "removed": len(drop), "timings_s": timings, "report": str(written[0]), "docs": docs}
    if args.json:
        print(json.dumps({**result, "score": scored.to_dict(), "slices": report.to_dict()}, indent=2))
        return
    name = " ".join(["slices caltech101", "conse" if args.model == "conse" else f"model {Path(args.model).name}",
                     f"min-support {args.min_support}", *([f"k {args.k}"] if args.k else [])])
    publish(name, "\n".join([json.dumps(result, indent=2), summary_text(scored), text_table(report)]),
            doc=not args.no_doc)


if __name__ == "__main__":
    main()
