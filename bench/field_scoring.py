"""Scoring for bench/field_search.py: the figures of one index of one code version, and the WordNet judge of tags.

Definitions (also in bench/field_search.py's docstring): a tag names a class
when it is the class word (or its plural), a lemma of the class's synset or
one of that synset's hypernyms at depth >= MIN_HYPERNYM_DEPTH; a picturable
noun is a word morphy makes a noun lemma with some sense under
physical_entity.n.01.
"""
import collections
from pathlib import Path

import field_queries

MIN_HYPERNYM_DEPTH = 4  # entity 0, physical entity 1, object 2, whole 3: too general to name a class


class Judge:
    """WordNet 3.0 verdicts on tags: picturable nouns, and the words that name a class."""

    def __init__(self, wn, synsets, phrases):
        self.wn, self.synsets, self.phrases = wn, synsets, phrases
        self.physical = wn.synset("physical_entity.n.01")
        self._picturable, self._accepted = {}, {}

    def _up(self, synset):
        return synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms())

    def noun_synsets(self, word):
        lemma = self.wn.morphy(word.lower().replace(" ", "_"), "n")
        return lemma, (self.wn.synsets(lemma, "n") if lemma else [])

    def picturable(self, word):
        if word not in self._picturable:
            _, senses = self.noun_synsets(word)
            self._picturable[word] = any(self.physical in set(self._up(s)) for s in senses)
        return self._picturable[word]

    def accepted(self, cls):
        """(the class's words, the synsets a tag may name: the class's own and its specific hypernyms)."""
        if cls not in self._accepted:
            phrase = self.phrases[cls]
            words = {phrase, phrase.replace(" ", "_")}
            name = self.synsets.get(cls)
            targets = set()
            if name:
                own = self.wn.synset(name)
                targets = {own} | {h for h in self._up(own) if h.min_depth() >= MIN_HYPERNYM_DEPTH}
            self._accepted[cls] = (words, targets)
        return self._accepted[cls]

    def names(self, tag, cls):
        words, targets = self.accepted(cls)
        lemma, senses = self.noun_synsets(tag)
        return tag.lower() in words or lemma in words or bool(targets.intersection(senses))


def folder_of(path):
    return Path(path).parent.name


def score(raw, queries, phrases, judge) -> dict:
    """The figures of one index of one version: p@10 per kind, hub share, open-tag quality."""
    same = lambda classes: {c for c, p in phrases.items() if p in {phrases[k] for k in classes}}  # noqa: E731
    kinds = collections.defaultdict(list)
    both, bound, ceiling, missed, hub = [], [], [], set(), collections.Counter()
    for q in queries:
        top = [folder_of(p) for p in raw["results"].get(q.text, [])[:10]]
        kinds[q.kind].append(sum(f in same(q.classes) for f in top) / 10)
        if q.kind == "pair":
            both.append(all(any(f in same([c]) for f in top) for c in q.classes))
            # What fusion can reach: each class's own class-word query finds it in its top 5 (an even share of
            # the page), and at the very most in its top 10 (a fusion of the things' top-10 lists can do no more).
            first = {c: next((rank for rank, p in enumerate(raw["results"].get(phrases[c], [])[:10])
                              if folder_of(p) in same([c])), None) for c in q.classes}
            bound.append(all(rank is not None and rank < 5 for rank in first.values()))
            ceiling.append(all(rank is not None for rank in first.values()))
            missed.update(phrases[c] for c, rank in first.items() if rank is None)
        if q.kind == "class":
            hub.update(phrases[f] for f in top)
    tag_hits, tag_words = [], []
    for image, tags in raw["tags"].items():
        tag_hits.append(any(judge.names(t, folder_of(image)) for t in tags))
        tag_words.extend(tags)
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")  # noqa: E731
    hub_class, hub_count = hub.most_common(1)[0] if hub else ("", 0)
    figures = {kind: mean(kinds[kind]) for kind in field_queries.KINDS}
    ratio = figures["sentence"] / figures["class"] if figures["class"] else float("nan")
    return {**figures, "sentence_ratio": ratio, "pair_both": mean(both), "pair_bound": mean(bound),
            "pair_ceiling": mean(ceiling), "pair_missed": sorted(missed),
            "hub_share": hub_count / max(1, sum(hub.values())), "hub_class": hub_class,
            "tag_hit": mean(tag_hits), "picturable": mean([judge.picturable(t) for t in tag_words]),
            "tagged_images": len(tag_hits), "errors": len(raw["errors"])}
