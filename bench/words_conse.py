"""Word vector sets side by side through ConSE, which needs no training: search and labels on Caltech-101.

For each word set, a ConSE index of the whole Caltech-101 folder
(BACKGROUND_Google clutter included) is searched for every class's phrase
(precision@10, with and without visual feedback), and every image of the
100 classes is labelled among the 100 phrases (ConSE hit@1 / hit@5). With
the features cached, no backbone runs.

    python bench/words_conse.py [--words glove-6b-50d,spacy-en-md] [--data-root DIR] [--json]
"""
import argparse
import json
import time
from pathlib import Path

from results_doc import add_doc_option, publish
from text_search import precision_at_k

from common import DEFAULT_DATA_ROOT, ROOT

EXCLUDE = ("BACKGROUND_Google", "Faces_easy")


def measure(root, words, phrases):
    import devise
    from devise.data.folders import scan

    start = time.perf_counter()
    name = f"bench-words-conse-{words}"
    devise.build_index(root, model="conse", name=name, rebuild=True, progress=False, words=words)
    out = {}
    for label, feedback in (("p@10", True), ("p@10 no feedback", False)):
        out[label] = sum(precision_at_k(devise.search(phrases[c], index=name, top=10, feedback=feedback).paths, c)
                         for c in phrases) / len(phrases)
    folder = scan(root)
    images = [(p, c) for p, c in zip(folder.paths, folder.classes) if c in phrases]
    tags = devise.tag([p for p, _ in images], labels=[phrases[c] for c in phrases], top=5, words=words).images
    truth = {str(p): phrases[c] for p, c in images}
    ranked = [(truth[str(r.image)], [t.word for t in r.tags]) for r in tags]
    out["hit@1"] = sum(words[:1] == [true] for true, words in ranked) / len(ranked)
    out["hit@5"] = sum(true in words for true, words in ranked) / len(ranked)
    out["images"], out["seconds"] = len(tags), round(time.perf_counter() - start, 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--words", default="glove-6b-50d,spacy-en-md", help="comma-separated word sets (data.words names)")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    from devise.data.labels import class_phrases, read_label_map

    root = Path(args.data_root) / "caltech101"
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and d.name not in EXCLUDE)
    phrases = class_phrases(classes, read_label_map(ROOT / "data" / "label_maps" / "caltech101.txt"))
    report = {w: measure(root, w, phrases) for w in args.words.split(",")}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    lines = [f"Caltech-101, ConSE, {len(classes)} class phrases searched and used as labels",
             f"{'words':<16}{'p@10':>8}{'p@10 no fb':>12}{'hit@1':>8}{'hit@5':>8}{'images':>8}{'seconds':>9}"]
    for w, r in report.items():
        lines.append(f"{w:<16}{r['p@10']:>8.3f}{r['p@10 no feedback']:>12.3f}{r['hit@1']:>8.3f}{r['hit@5']:>8.3f}"
                     f"{r['images']:>8}{r['seconds']:>9}")
    publish(f"words-conse {args.words}", "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
