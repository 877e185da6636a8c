"""Text search on held-out classes: precision@10 of `search "<class phrase>"`.

A model is trained on Caltech-101 with 20 classes held out; the whole
collection (seen and held-out classes) is indexed twice, with that model and
with ConSE; each held-out class's phrase is searched on each, with visual
feedback (the default) and without it (--no-feedback), and precision@10 is
the share of the top 10 that belong to that class.

    python bench/text_search.py [--data-root DIR] [--seed 0] [--backbone NAME] [--heads K] [--words NAME] [--json]

The model is kept in DEVISE_HOME/bench and reused by the next run with the
same seed, backbone, heads and words (--retrain trains it again), so that two
versions of devise can be compared on one model.
"""
import argparse
import json
import sys
import time

from results_doc import add_doc_option, publish

from devise.train.config import DEFAULT_HEADS

from common import DEFAULT_DATA_ROOT, ROOT


def precision_at_k(results, cls, k=10):
    from pathlib import Path

    same = {cls, "Faces_easy"} if cls == "Faces" else {cls}  # Faces_easy re-crops the Faces photos
    return sum(Path(p).parent.name in same for p in results[:k]) / k


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--backbone", default=None, help="for the model and ConSE (default: the default backbone)")
    ap.add_argument("--heads", type=int, default=DEFAULT_HEADS, help="heads averaged in the model (devise train --heads)")
    ap.add_argument("--words", default=None, help="word vectors for the model and ConSE (default: GloVe 6B 50-d)")
    ap.add_argument("--retrain", action="store_true",
                    help="train the model again even if this seed's model is already in DEVISE_HOME")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    args = ap.parse_args()

    import devise
    from devise.core.home import subdir
    from devise.core.manifest import ModelManifest
    from devise.data.labels import class_phrases, read_label_map
    from devise.data.word_sources import words_name

    root = __import__("pathlib").Path(args.data_root) / "caltech101"
    label_map = ROOT / "data" / "label_maps" / "caltech101.txt"
    exclude = ["BACKGROUND_Google", "Faces_easy"]
    start = time.perf_counter()
    tag = f"-{args.backbone.replace('+', '_and_')}" if args.backbone else ""  # index names take no '+'
    heads_tag = f"-heads{args.heads}" if args.heads > 1 else ""
    heads_tag += f"-holdout{args.holdout:g}" if args.holdout != 0.2 else ""
    tag += f"-{words_name(args.words)}" if args.words else ""
    model_dir = subdir("bench") / f"text-search-model-{args.seed}{tag}{heads_tag}"
    if (model_dir / "manifest.json").exists() and not args.retrain:
        # The same model searched by two versions of devise compares search alone.
        unseen = ModelManifest.read(model_dir).unseen
        print(f"reusing {model_dir} (--retrain trains it again)", file=sys.stderr)
    else:
        unseen = devise.train(root, out=model_dir, holdout=args.holdout, seed=args.seed, exclude=exclude,
                              label_map=label_map, backbone=args.backbone, heads=args.heads, words=args.words).unseen
    phrases = class_phrases(unseen, read_label_map(label_map))
    # The whole folder is the collection, BACKGROUND_Google clutter included, as a user's would be.
    table = {}
    for label, model in (("trained head", str(model_dir)), ("ConSE", "conse")):
        name = f"bench-text-conse{tag}" if model == "conse" else f"bench-text-model{tag}{heads_tag}"
        devise.build_index(root, model=model, name=name, rebuild=True, progress=False,
                           backbone=args.backbone if model == "conse" else None,
                           words=args.words if model == "conse" else None)
        for suffix, feedback in (("", True), (", no feedback", False)):
            per_class = {cls: precision_at_k(devise.search(phrases[cls], index=name, top=10, feedback=feedback).paths, cls)
                         for cls in unseen}
            table[label + suffix] = {"precision@10": sum(per_class.values()) / len(per_class), "per_class": per_class}
    report = {"held_out": unseen, "phrases": phrases, "seconds": round(time.perf_counter() - start, 1), **table}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    heads = {"trained head": "trained", "trained head, no feedback": "no fb", "ConSE": "ConSE", "ConSE, no feedback": "no fb"}
    lines = [f"Caltech-101, {len(unseen)} held-out classes (seed {args.seed}), "
             f"backbone {args.backbone or 'default'}, words {args.words or 'default'}, {args.heads} head(s), "
             f"{report['seconds']} s",
             "columns: trained head / ConSE, with visual feedback (the default) and without it",
             f"{'class':<18}{'phrase':<18}" + "".join(f"{h:>10}" for h in heads.values())]
    lines += [f"{cls:<18}{phrases[cls]:<18}" + "".join(f"{table[k]['per_class'][cls]:>10.1f}" for k in heads)
              for cls in unseen]
    lines.append(f"{'mean precision@10':<36}" + "".join(f"{table[k]['precision@10']:>10.3f}" for k in heads))
    name = " ".join(["text-search", *filter(None, (args.backbone, args.words)), f"heads {args.heads}"])
    publish(name, "\n".join(lines), doc=not args.no_doc)


if __name__ == "__main__":
    main()
