"""The field-search query set (bench/field_queries.tsv) and the Caltech-101 class table (bench/caltech101_synsets.tsv).

Four kinds of query, each a (query, relevant class folders) pair:
  class     each class phrase of data/label_maps/caltech101.txt, asking for every folder with that phrase;
  sentence  a sentence over a class word;
  pair      two classes in one query ("X Y", "X and Y");
  category  a common word, asking for its member classes (WordNet hypernymy, checked by hand).
"""
from dataclasses import dataclass
from pathlib import Path

from devise.data.labels import class_phrases, read_label_map

BENCH = Path(__file__).resolve().parent
QUERIES = BENCH / "field_queries.tsv"
SYNSETS = BENCH / "caltech101_synsets.tsv"
LABEL_MAP = BENCH.parent / "data" / "label_maps" / "caltech101.txt"
KINDS = ("class", "sentence", "pair", "category")


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    classes: tuple   # the class folders a hit must come from
    note: str = ""


def _rows(path):
    """The tab-separated rows of `path`, comments and blank lines left out."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            yield number, line.split("\t")


def class_synsets(path=SYNSETS) -> dict:
    """{class folder: WordNet synset name, or None where WordNet has none}."""
    table = {}
    for number, cells in _rows(path):
        if len(cells) < 2:
            raise ValueError(f"{path}:{number}: expected 'class<TAB>synset[<TAB>note]'.")
        table[cells[0]] = None if cells[1] == "-" else cells[1]
    return table


def phrases(classes=None, label_map=LABEL_MAP) -> dict:
    """{class folder: the phrase a user types for it}."""
    return class_phrases(sorted(classes or class_synsets()), read_label_map(label_map))


def class_word_queries(classes=None, label_map=LABEL_MAP) -> list:
    """One query per distinct class phrase, asking for every folder that has it (Faces and Faces_easy are one)."""
    by_phrase = {}
    for cls, phrase in phrases(classes, label_map).items():
        by_phrase.setdefault(phrase, []).append(cls)
    return [Query("class", phrase, tuple(sorted(folders))) for phrase, folders in sorted(by_phrase.items())]


def load(path=QUERIES, classes=None, label_map=LABEL_MAP) -> list:
    """Every query of the set: the class words, then the file's sentences, pairs and categories in file order."""
    known = set(classes or class_synsets())
    queries = class_word_queries(known, label_map)
    for number, cells in _rows(path):
        if len(cells) < 3 or cells[0] not in KINDS[1:]:
            raise ValueError(f"{path}:{number}: expected 'sentence|pair|category<TAB>query<TAB>classes[<TAB>note]'.")
        folders = tuple(c for c in cells[2].split(",") if c)
        unknown = sorted(set(folders) - known)
        if unknown or not folders:
            raise ValueError(f"{path}:{number}: no class folder named {', '.join(unknown) or '(none given)'}.")
        queries.append(Query(cells[0], cells[1], folders, cells[3] if len(cells) > 3 else ""))
    return queries


def by_kind(queries) -> dict:
    return {kind: [q for q in queries if q.kind == kind] for kind in KINDS}
