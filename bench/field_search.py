"""Search and tags as people type them, before and after a change, on all of Caltech-101.

The collection is every Caltech-101 class folder but BACKGROUND_Google (101
classes; Faces and Faces_easy are the same photos, both "face"), indexed
twice per code version: with ConSE (the default, no training) and with a
model trained on every class (holdout 0; Faces_easy left out of training as
the other benches do). The model is cached under the home, keyed by the
content of the training code (train/, models/, data/ *.py) and the label
map, so a re-run, or a version whose training code is the same, reuses it.

BEFORE is git revision --before (default 563152a), checked out into a
temporary git worktree; AFTER is this working tree. Each is measured by
`measure()` in its own process (this file run with --measure, PYTHONPATH
a shim whose `devise` links to that tree), one after the other, sharing
DEVISE_HOME and so the feature cache. Scoring (bench/field_scoring.py) runs in
this process, the same for both. The raw results are saved under the home
first; --from-raw FILE scores them again without measuring.

Queries (bench/field_queries.tsv, bench/caltech101_synsets.tsv, written
before the first measurement; see bench/field_queries.py), all searched with
default settings, top 10:
  class word   each class phrase; p@10 counts the folders with that phrase;
  sentence     a sentence over a class word; p@10 counts its classes;
  two classes  "X Y" and "X and Y"; p@10 counts either class, and "both" is
               the share of queries with each class in the top 10; "each
               alone in own top 5" (top 10) is the share whose classes each
               appear in the top 5 (top 10) of their own class word's query:
               what a fusion giving each thing half the page (the whole page)
               could reach, and the footer names the classes that miss;
  category     a common word; p@10 counts its member classes.
A hit counts for a class when its folder has the same phrase as one of the
query's classes (a "face" query is answered by Faces and Faces_easy alike).
Hub share: of all top-10 slots over the class-word queries, the share taken
by the single most frequent class (by phrase); 0.01 when every class word
finds only its own class.

Open tags: `devise.tag` on the index's model, no labels, top 5, on a seeded
sample of --tags-per-class images per class; judged with WordNet 3.0 (see
bench/wordnet30.py), independently of devise's own word lists:
  tag hit      an image's top 5 hold the class word (or its plural), a
               synonym (a lemma of the class's synset,
               bench/caltech101_synsets.tsv) or a hypernym of that synset
               (hypernym and instance-hypernym links) at depth >= 4 below
               entity, so entity, physical entity, object, whole, matter and
               thing do not count;
  picturable   a tag is a picturable noun when WordNet's morphy finds it a
               noun lemma and some noun sense of that lemma lies under
               physical_entity.n.01 (by hypernym or instance-hypernym links).

    python bench/field_search.py [--before REV] [--home DIR] [--quick] [--json] [--no-doc]

Progress goes to stderr; the table to stdout and to docs/results.md
(section "field-search"), unless --quick or --no-doc.
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import field_queries
import wordnet30
from field_scoring import Judge, score
from results_doc import add_doc_option, publish

from devise.core.atomic import write_text

from common import DEFAULT_DATA_ROOT, ROOT, subset_folder

DEFAULT_BEFORE = "563152a"
DEFAULT_HOME = "/work/bench-home"
EXCLUDE = ("BACKGROUND_Google",)
TRAIN_EXCLUDE = ["BACKGROUND_Google", "Faces_easy"]  # Faces_easy re-crops the Faces photos
TRAINING_CODE = ("train", "models", "data")
INDEXES = ("ConSE", "trained")
GOALS = {  # metric: (text, test on the column's figures)
    "sentence_ratio": ("≥ 0.90", lambda f, base: f["sentence_ratio"] >= 0.9),
    "pair_both": ("≥ 0.80", lambda f, base: f["pair_both"] >= 0.8),
    "category": ("≥ 0.80", lambda f, base: f["category"] >= 0.8),
    "hub_share": ("≤ 0.05", lambda f, base: f["hub_share"] <= 0.05),
    "tag_hit": ("≥ 0.60", lambda f, base: f["tag_hit"] >= 0.6),
    "picturable": ("≥ 0.90", lambda f, base: f["picturable"] >= 0.9),
    "class": ("after ≥ before − 0.01", lambda f, base: f["class"] >= base["class"] - 0.01),
}
ROWS = (("class", "class word p@10"), ("sentence", "sentence p@10"), ("sentence_ratio", "sentence ÷ class word"),
        ("pair", "two classes p@10 (either)"),
        ("pair_both", "two classes: both in top 10"),
        ("pair_bound", "  each alone in own top 5"), ("pair_ceiling", "  each alone in own top 10"),
        ("category", "category p@10"), ("hub_share", "hub share"),
        ("tag_hit", "open tags: top-5 hit"), ("picturable", "open tags: picturable nouns"))


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---- measuring: run in the process of each code version ----

def training_key(package: Path, label_map: Path) -> str:
    """Changes whenever the training code or the label map does."""
    digest = hashlib.sha1(label_map.read_bytes())
    for folder in TRAINING_CODE:
        for path in sorted((package / folder).rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def trained_model(spec, package):
    import devise
    from devise.core.home import subdir

    label_map = Path(spec["label_map"])
    model_dir = subdir("bench") / f"field-search-model-{training_key(package, label_map)}"
    others = sorted(subdir("bench").glob("field-search-model-*/manifest.json"), key=lambda p: p.stat().st_mtime)
    if not (model_dir / "manifest.json").is_file() and others and os.environ.get("FIELD_SEARCH_TRAIN_EACH") != "1":
        # Training on all of Caltech-101 fits 540 head epochs (3 heads x 30 epochs x (5 calibration folds + 1)),
        # half an hour on two quiet cores. So a version whose training code differs searches the model the other
        # version trained, and the comparison is of search alone; FIELD_SEARCH_TRAIN_EACH=1 trains each version's
        # own. The table names the model each version used.
        model_dir = others[-1].parent
        log(f"[{spec['role']}] using the model another version trained, {model_dir} (FIELD_SEARCH_TRAIN_EACH=1 "
            f"trains this version's own)")
    if (model_dir / "manifest.json").is_file():
        log(f"[{spec['role']}] reusing the trained model {model_dir}")
    else:
        log(f"[{spec['role']}] training on every Caltech-101 class into {model_dir}")
        devise.train(spec["data_root"], out=model_dir, holdout=0.0, seed=0, exclude=TRAIN_EXCLUDE, label_map=label_map)
    return model_dir


def measure(spec) -> dict:
    """Index the collection with ConSE and with the trained model; search every query, tag the sample."""
    import devise

    package = Path(devise.__file__).resolve().parent
    report = {"devise": str(package), "indexes": {}}
    model_dir = trained_model(spec, package)
    report["model"] = str(model_dir)
    for label, model in (("ConSE", "conse"), ("trained", str(model_dir))):
        name = f"field-search-{spec['role']}-{label.lower()}"
        log(f"[{spec['role']}] indexing {spec['collection']} as {name}")
        devise.build_index(spec["collection"], model=model, name=name, rebuild=True, progress=False)
        results, errors = {}, {}
        for query in spec["queries"]:
            try:
                results[query] = devise.search(query, index=name, top=10).paths
            except devise.DeviseError as exc:  # a query the version cannot answer scores 0, with the reason kept
                results[query], errors[query] = [], str(exc)
        log(f"[{spec['role']}] tagging {len(spec['tag_images'])} images with {name}")
        tagged = devise.tag(spec["tag_images"], index=name, top=5)
        tags = {item.image: [t.word for t in item.tags] for item in tagged.images}
        report["indexes"][label] = {"index": name, "results": results, "errors": errors, "tags": tags}
    return report


def run_version(role, shim, spec, home):
    """measure() for one code version, in a process whose `devise` is that version's tree."""
    with tempfile.TemporaryDirectory(prefix="field-search-") as tmp:
        spec_path, out_path = Path(tmp, "spec.json"), Path(tmp, "out.json")
        spec_path.write_text(json.dumps({**spec, "role": role}))
        env = {**os.environ, "PYTHONPATH": str(shim), "DEVISE_HOME": str(home)}
        subprocess.run([sys.executable, __file__, "--measure", str(spec_path), "--out", str(out_path)],
                       env=env, check=True)
        return json.loads(out_path.read_text())


def link_shim(folder: Path, tree: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "devise").symlink_to(tree)
    return folder


def measure_both(before_rev, spec, home):
    """{"before": ..., "after": ...}: the revision in a temporary worktree, then this working tree."""
    with tempfile.TemporaryDirectory(prefix="field-search-trees-") as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), before_rev],
                       check=True)
        try:
            before = run_version("before", link_shim(Path(tmp) / "shim-before", tree), spec, home)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
        after = measure_after(spec, home, Path(tmp))
    return {"before": before, "after": after}


def measure_after(spec, home, tmp):
    return run_version("after", link_shim(Path(tmp) / "shim-after", ROOT), spec, home)


# ---- the table: scoring is field_scoring's, the same for both versions ----


def verdict(metric, figures, base):
    if metric not in GOALS or (metric == "class" and base is None):
        return " "  # the class word's goal compares after with before
    return "✓" if GOALS[metric][1](figures, base) else "✗"


def table(figures, counts, header) -> str:
    columns = [(index, version) for index in INDEXES for version in ("before", "after")]
    lines = [header, "",
             f"{'':34}" + "".join(f"{index:^20}" for index in INDEXES),
             f"{'metric (queries or images)':34}" + "".join(f"{version:>10}" for _, version in columns) + "   goal"]
    for metric, label in ROWS:
        cells = []
        for index, version in columns:
            f = figures[version][index]
            base = figures["before"][index] if version == "after" else None
            cells.append(f"{f[metric]:>8.3f} {verdict(metric, f, base)}")
        goal = GOALS.get(metric, ("",))[0]
        lines.append(f"{label + counts.get(metric, ''):34}" + "".join(cells) + f"   {goal}")
    models = {version: Path(figures[version]["model"]).name for version in ("before", "after") if "model" in figures[version]}
    hubs = ", ".join(f"{index} {version}: {figures[version][index]['hub_class']}" for index, version in columns)
    missed = "; ".join(f"{index}: {', '.join(figures['after'][index]['pair_missed']) or 'none'}" for index in INDEXES)
    lines += ["", f"hub classes: {hubs}", f"trained models: {models}",
              "class word p@10: its goal compares after with before (✓/✗ on the after columns only).",
              f"pair classes whose own class word misses them in its top 10 (after): {missed}"]
    errors = {f"{i} {v}": figures[v][i]["errors"] for i, v in columns if figures[v][i]["errors"]}
    if errors:
        lines.append(f"queries that raised an error (scored 0): {errors}")
    return "\n".join(lines)


def tag_sample(collection, per_class, seed=0):
    rng = random.Random(seed)
    images = []
    for cls in sorted(os.listdir(collection)):
        files = sorted(os.listdir(Path(collection, cls)))
        images += [str(Path(collection, cls, f)) for f in sorted(rng.sample(files, min(per_class, len(files))))]
    return images


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=DEFAULT_BEFORE, help="git revision measured as BEFORE (default: %(default)s)")
    ap.add_argument("--home", default=os.environ.get("DEVISE_HOME", DEFAULT_HOME), help="devise home shared by both")
    ap.add_argument("--data-root", default=str(DEFAULT_DATA_ROOT))
    ap.add_argument("--tags-per-class", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="a few queries of each kind and 2 images per class")
    ap.add_argument("--json", action="store_true")
    add_doc_option(ap)
    ap.add_argument("--from-raw", help="score the raw results a run saved (its 'raw results:' line) instead of measuring")
    ap.add_argument("--before-raw", help="take BEFORE's raw results from a file an earlier run saved (a fixed revision "
                    "gives the same results) and measure AFTER only")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        Path(args.out).write_text(json.dumps(measure(json.loads(Path(args.measure).read_text()))))
        return

    import devise
    from devise.core.home import set_home

    if Path(devise.__file__).resolve().parent != ROOT:
        sys.exit(f"devise imports from {Path(devise.__file__).parent}, not this working tree {ROOT}; "
                 f"set PYTHONPATH to a folder whose devise links to {ROOT}.")
    home = Path(args.home).resolve()
    os.environ["DEVISE_HOME"] = str(home)
    set_home(home)
    source = Path(args.data_root) / "caltech101"
    collection = subset_folder(source, None, "caltech101-classes", exclude=EXCLUDE)
    classes = sorted(os.listdir(collection))
    queries = field_queries.load(classes=classes)
    if args.quick:
        queries = [q for kind in field_queries.by_kind(queries).values() for q in kind[:4]]
    phrases = field_queries.phrases(classes)
    spec = {"data_root": str(source), "collection": str(collection), "label_map": str(field_queries.LABEL_MAP),
            "queries": sorted({q.text for q in queries}),
            "tag_images": tag_sample(collection, 2 if args.quick else args.tags_per_class)}
    judge = Judge(wordnet30.reader(wordnet30.dict_folder(home / "bench" / "wordnet-3.0")),
                  field_queries.class_synsets(), phrases)
    if args.from_raw:
        raw = json.loads(Path(args.from_raw).read_text())
    else:
        if args.before_raw:
            saved_before = json.loads(Path(args.before_raw).read_text())
            if saved_before.get("spec", spec) != spec:
                sys.exit(f"{args.before_raw}: measured other queries or images; run without --before-raw.")
            with tempfile.TemporaryDirectory(prefix="field-search-trees-") as tmp:
                raw = {"before": saved_before["before"], "after": measure_after(spec, home, Path(tmp))}
        else:
            raw = measure_both(args.before, spec, home)
        raw["spec"] = spec
        saved = home / "bench" / f"field-search-raw-{args.before}{'-quick' if args.quick else ''}.json"
        write_text(saved, json.dumps(raw))  # scoring can be redone from it (--from-raw) without measuring again
        log(f"raw results: {saved}")
    versions = ("before", "after")
    figures = {v: {i: score(raw[v]["indexes"][i], queries, phrases, judge) for i in INDEXES} for v in versions}
    for v in versions:
        figures[v]["model"] = raw[v].get("model", "")
    if args.json:
        print(json.dumps({"before": args.before, "figures": figures, "raw": raw}, indent=1))
        return
    by_kind = field_queries.by_kind(queries)
    counts = {"class": f" ({len(by_kind['class'])})", "sentence": f" ({len(by_kind['sentence'])})",
              "pair": f" ({len(by_kind['pair'])})", "pair_both": f" ({len(by_kind['pair'])})", "pair_bound": f" ({len(by_kind['pair'])})",
              "pair_ceiling": f" ({len(by_kind['pair'])})",
              "category": f" ({len(by_kind['category'])})", "tag_hit": f" ({len(spec['tag_images'])})"}
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True).stdout
    text = table(figures, counts, f"Caltech-101 without BACKGROUND_Google: {len(classes)} classes; "
                                  f"before = {args.before}, after = working tree at {head}{' + changes' if dirty else ''}"
                                  f"{'; --quick' if args.quick else ''}")
    publish("field-search", text, doc=not (args.quick or args.no_doc))


if __name__ == "__main__":
    main()
