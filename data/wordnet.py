"""WordNet 3.0, as far as tags and category search need it: small tables read at run time.

The tables in data/wordnet/ are derived from the WordNet 3.0 database by
bench/build_wordnet.py (which documents each one); WordNet's licence is
beside them. Reading them needs the standard library and NumPy only.
  - picturable nouns: the open tag vocabulary (`nouns`);
  - lemmas: morphy's noun rules plus noun.exc, over the known words (`lemma`);
  - categories: a word's synset and the ImageNet-1k classes under it (`category`);
  - ancestors: the categories above a noun's physical senses (`above`), to join a trained model's own classes;
  - compounds: nouns of several words ("coffee table"), which a query names as one thing (`compound`).
"""
from __future__ import annotations

import functools
import gzip
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from devise.core.errors import DataError
from devise.data.imagenet import NUM_CLASSES

TABLES = Path(__file__).with_name("wordnet")
# WordNet's morphy(7WN) detachment rules for nouns, tried in this order.
COMPOUND_WORDS = 4  # the most words of a compound noun in compounds.tsv.gz (bench/build_wordnet.py writes 2 to 4)
RULES = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
         ("men", "man"), ("ies", "y"))


def _read(name):
    path = TABLES / name
    try:
        raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        lines = raw.decode("utf-8").splitlines()
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "damaged"
        raise DataError(f"cannot read the WordNet table {path}: {reason}; reinstall devise.") from exc
    return [line.split("\t") for line in lines if line]


@functools.cache
def nouns() -> frozenset[str]:
    """Single-word nouns whose main sense is a picturable physical thing (see bench/build_wordnet.py)."""
    return frozenset(row[0] for row in _read("nouns.tsv"))


@functools.cache
def _forms() -> dict[str, str]:
    return {row[0]: row[1] for row in _read("forms.tsv")}


@functools.cache
def _category_words() -> dict[str, tuple[int, ...]]:
    return {row[0]: tuple(int(o) for o in row[1].split()) for row in _read("category_words.tsv")}


@functools.cache
def _category_rows() -> list[list[str]]:
    return _read("categories.tsv")


@functools.cache
def _categories() -> dict[int, tuple[str, np.ndarray]]:
    return {int(o): (name, np.array(c.split(), np.int16)) for o, name, c, _ in _category_rows()}


@functools.cache
def _kinds() -> dict[int, int]:
    return {int(o): int(kinds) for o, _, _, kinds in _category_rows()}


@functools.cache
def _known() -> frozenset[str]:
    return nouns() | frozenset(_category_words())


def lemma(word: str, known: Container[str] | None = None) -> str | None:
    """The known noun `word` is a form of ("sandwiches" -> "sandwich", "mice" -> "mouse"), else None.

    As WordNet's morphy: a word that is itself a noun stays as it is
    ("glasses"), then the irregular forms of noun.exc, then the suffix rules.
    known: the nouns that count (default: the picturable nouns and the category words).
    """
    known = _known() if known is None else known
    word = " ".join(word.lower().split())
    if word in known:
        return word
    if word in _forms():
        found = _forms()[word]
        return found if found in known else None
    for suffix, ending in RULES:
        if word.endswith(suffix):
            base = word[:len(word) - len(suffix)] + ending
            if base in known:
                return base
    return None


@dataclass(frozen=True)
class Category:
    word: str            # the lemma the text named ("animals" -> "animal")
    synset: str          # WordNet's names for the senses it names, e.g. "food.n.01 food.n.02"
    classes: np.ndarray  # ImageNet-1k class indices at or below it
    offsets: tuple[int, ...] = ()  # the WordNet 3.0 offsets of those senses
    nearest: bool = False  # the nearest category of a word naming no ImageNet class, not the word's own

    @property
    def kinds(self) -> int:
        """How many kinds of thing it covers: WordNet's noun synsets at or below it (its broadest sense's)."""
        return max((_kinds()[o] for o in self.offsets), default=0)

    def to_dict(self):
        return {"word": self.word, "synset": self.synset, "classes": [int(c) for c in self.classes]}


def category(text: str, min_classes: int = 1) -> Category | None:
    """The WordNet category `text` names, if at least `min_classes` ImageNet classes lie under it."""
    found = lemma(text)
    offsets = _category_words().get(found, ()) if found else ()
    if not offsets:
        return None
    senses = [_categories()[o] for o in offsets]
    classes = np.unique(np.concatenate([c for _, c in senses]))
    if len(classes) < min_classes:
        return None
    return Category(found, " ".join(n for n, _ in senses), classes, tuple(offsets))


def nearest_category(text: str, hidden: Container[int] = ()) -> Category | None:
    """For a word naming no ImageNet class ("emu", "ferry"): the most specific category above its main
    physical senses (the fewest ImageNet classes: ratite -> ostrich, boat -> fireboat, canoe...), ties joined; None
    for a word WordNet does not place under any ImageNet class.

    hidden: ImageNet classes taken as unknown to the backbone, left out of every category (a dev bench
    hides a word's own classes to play a word ImageNet lacks)."""
    above_word = categories_above(text, hidden)
    if not above_word:
        return None
    best = [c for c in above_word if len(c.classes) == len(above_word[0].classes)]
    return Category(best[0].word, " ".join(c.synset for c in best), np.unique(np.concatenate([c.classes for c in best])),
                    tuple(o for c in best for o in c.offsets), nearest=True)


def categories_above(text: str, hidden: Container[int] = ()) -> list[Category]:
    """Every category above `text`'s main physical senses, the most specific (fewest classes) first, each
    without the `hidden` ImageNet classes; one left with none is left out."""
    found = _physical(text)
    out = []
    for offset in sorted(_ancestor_rows()[found][1]) if found else ():
        if offset in _categories():
            name, classes = _categories()[offset]
            classes = np.array([c for c in classes if c not in hidden], np.int16) if hidden else classes
            if len(classes):
                out.append(Category(found or text, name, classes, (offset,), nearest=True))
    return sorted(out, key=lambda c: len(c.classes))


@functools.cache
def _ancestor_rows() -> dict[str, tuple[frozenset[int], frozenset[int]]]:
    """{noun: (category offsets above its physical senses, those above its main senses alone)}."""
    return {row[0]: (frozenset(int(o) for o in row[1].split()), frozenset(int(o) for o in row[-1].split()))
            for row in _read("ancestors.tsv.gz")}


def above(phrase: str) -> frozenset[int]:
    """Offsets of the category synsets at or above `phrase`'s physical noun senses ("dalmatian": dog, animal...),
    by its words as given or by its lemma; empty for a phrase WordNet does not know as a physical thing."""
    found = _physical(phrase)
    return _ancestor_rows()[found][0] if found else frozenset()


def _physical(text: str) -> str | None:
    """The noun of the ancestors table `text` is a form of, written with or without its hyphens ("inline
    skates" -> "in-line skate")."""
    text = text.replace("_", " ")
    found = lemma(text, _ancestor_rows()) or compound(text.split())
    return found if found in _ancestor_rows() else None


@functools.cache
def _compounds() -> dict[str, str]:
    """{compound noun, also with its hyphens dropped or as spaces: WordNet's spelling} ("inline skate" and "in line
    skate" -> "in-line skate", "ice cream cone" -> "ice-cream cone")."""
    names = [row[0] for row in _read("compounds.tsv.gz")]
    hyphened = [n for n in names if "-" in n]
    return {**{n.replace("-", " "): n for n in hyphened}, **{n.replace("-", ""): n for n in hyphened},
            **{n: n for n in names}}


def compound(words: Sequence[str]) -> str | None:
    """The WordNet noun that two to four words name together, in WordNet's spelling ("coffee tables" ->
    "coffee table", "inline skate" -> "in-line skate", "ice cream cones" -> "ice-cream cone", "dollar bill");
    None for words that name no one noun."""
    if not 2 <= len(words) <= COMPOUND_WORDS:
        return None
    found = lemma(" ".join(words), _compounds())
    return _compounds()[found] if found else None


def class_matrix(texts: tuple[str, ...]):
    """[len(texts), NUM_CLASSES] 0/1 float32 CSR: row t marks the ImageNet classes under the category text t
    names (an empty row for a word that names none). Cached: tagging reads it for every batch."""
    return _class_matrix(tuple(texts))


@functools.lru_cache(maxsize=4)
def _class_matrix(texts):
    from scipy import sparse

    rows, cols = [], []
    for r, text in enumerate(texts):
        found = category(text)
        if found is not None:
            rows += [r] * len(found.classes)
            cols += found.classes.tolist()
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), NUM_CLASSES))
