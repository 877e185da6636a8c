"""The query analyser, fusion of several things, walk's start, and "nothing matches"."""
import json

import numpy as np
import pytest

from devise.core.errors import QueryError
from devise.search.analyser import MAX_THINGS, analyse
from devise.search.content_words import content_words, ignorable, mean_vector
from devise.search.fusion import fuse
from devise.search.query import query_vector
from devise.search.sentence import sentence_weights

from helpers import synthetic_index


@pytest.fixture
def wv(words_home):
    from devise.data.words import load_words

    return load_words()


def things(query, wv, **options):
    return [(t.words, t.kind) for t in analyse(query, wv, **options).terms]


def test_stop_words_and_framing_are_dropped_from_sentences(wv):
    analysis = analyse("a photo of a dolphin", wv)
    assert things("a photo of a dolphin", wv) == [(["dolphin"], "sentence")]
    assert analysis.dropped == ["a", "photo", "of", "a"] and analysis.used == ["dolphin"]
    assert np.allclose(analysis.terms[0].vector, mean_vector(wv, ["dolphin"]))
    # A sentence is one thing; its head leads and its context weighs a quarter of it.
    sentence = analyse("a dolphin jumping out of the water", wv).terms
    assert [t.words for t in sentence] == [["dolphin", "jumping", "water"]]
    head = mean_vector(wv, ["dolphin"])
    assert float(sentence[0].vector @ head) > float(sentence[0].vector @ mean_vector(wv, ["water"]))
    assert things("photo", wv) == [(["photo"], "word")]  # framing alone is what there is to find
    assert content_words(wv, "an image of the eiffel tower") == (["eiffel", "tower"], ["an", "image", "of", "the"])


@pytest.mark.parametrize("query, head", [
    ("a dolphin jumping out of the water", "dolphin"),
    ("a pair of binoculars on a desk", "binoculars"),    # how much, before "of": the thing follows
    ("a bowl of strawberries", "strawberries"),
    ("a man playing the saxophone", "saxophone"),        # people beside something else: the something
    ("a man in a wheelchair", "wheelchair"),
    ("a photo of a man", "man"),                         # people alone stay the thing
    ("an antique ewer made of silver", "antique ewer"),  # a word that is no noun ends the phrase
    ("a good photo of the platypus", "platypus"),        # a word before framing describes the picture
])
def test_a_sentences_head_is_the_thing_it_names(wv, query, head):
    term = analyse(query, wv).terms[0]
    assert term.kind == "sentence" and term.head == head
    weights = dict(zip(term.words, sentence_weights_of(query, wv)))
    assert weights[head.split()[-1]] == max(weights.values()), "the head's last word weighs most"


def sentence_weights_of(query, wv):
    tokens, _ = wv.phrase_words(query)
    keep = [not ignorable(w) for w in tokens]
    return sentence_weights(tokens, keep, 0.25)


def test_bare_words_are_several_things_but_phrases_and_modifiers_are_one(wv):
    assert things("dolphin pizza", wv) == [(["dolphin"], "word"), (["pizza"], "word")]
    assert things("hot dog bun", wv) == [(["hot", "dog"], "phrase"), (["bun"], "word")]  # an ImageNet class name
    assert things("red car", wv) == [(["red", "car"], "phrase")]
    assert things("ice-cream", wv) == [(["ice-cream"], "word")]  # a GloVe compound
    assert things("water lily pizza", wv) == [(["water", "lily"], "phrase"), (["pizza"], "word")]  # GloVe has water-lily
    assert things("a dog and a cat", wv) == [(["dog"], "sentence"), (["cat"], "sentence")]
    assert things("pizza, laptop", wv) == [(["pizza"], "word"), (["laptop"], "word")]
    # WordNet's compound nouns, in the plural or without their hyphens too; two nouns that name no one noun stay two.
    assert things("coffee tables cat", wv) == [(["coffee", "tables"], "phrase"), (["cat"], "word")]
    assert things("nautilus dollar bill", wv) == [(["nautilus"], "word"), (["dollar", "bill"], "phrase")]
    assert things("inline skate", wv) == [(["inline", "skate"], "phrase")]
    assert things("cat sofa", wv) == [(["cat"], "word"), (["sofa"], "word")]
    # A trained model's class phrases are known phrases too.
    assert things("stop sign", wv) == [(["stop"], "word"), (["sign"], "word")]
    assert things("stop sign", wv, phrases=["stop sign"]) == [(["stop", "sign"], "phrase")]


def test_quotes_weights_and_operators_keep_their_meaning(wv):
    quoted = analyse('"the who" guitar', wv)
    assert [(t.words, t.kind) for t in quoted.terms] == [(["the", "who"], "phrase"), (["guitar"], "word")]
    assert [t.weight for t in analyse("dog:2 snow", wv).terms] == [2.0, 1.0]
    arithmetic = analyse("a beach + the sunset - people", wv)
    assert len(arithmetic.terms) == 1 and arithmetic.terms[0].kind == "arithmetic"
    assert arithmetic.dropped == ["a", "the"]
    want, _ = query_vector("beach + sunset - people", wv)
    assert np.allclose(arithmetic.terms[0].vector, want, atol=1e-6)


@pytest.mark.parametrize("query", ["the of and", "a", "of the, and"])
def test_stop_words_only_is_a_query_error(wv, query):
    with pytest.raises(QueryError, match="only stop words"):
        analyse(query, wv)


def test_more_things_than_a_search_can_afford_is_one_query_error(wv, run):
    """A pasted list of words: one line and exit 1, before any thing is searched; as one phrase it is fine."""
    many = " ".join(["cat", "dog", "pizza", "laptop"] * 10)
    assert len(analyse(" ".join(many.split()[:MAX_THINGS]), wv).terms) == MAX_THINGS
    with pytest.raises(QueryError, match=f"40 things in one query; search for at most {MAX_THINGS} at a time"):
        analyse(many, wv)
    assert len(analyse(f'"{many}"', wv).terms) == 1
    synthetic_index("colours", [(60, wv.vector("red"), 0.02), (60, wv.vector("blue"), 0.02)])
    result = run("search", many, "--index", "colours")
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
    assert "things in one query" in result.stderr


def test_stop_words_only_is_one_line_exit_1(colour_folder, fake_backbone, run):
    from devise.index.builder import build_index

    build_index(str(colour_folder), name="colours", progress=False)
    result = run("search", "the of and")
    assert result.exit_code == 1
    assert "only stop words" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_fusion_rules_rank_candidates_good_on_every_thing_first():
    scores = np.array([[0.9, 0.85, 0.1, 0.7, 0.2], [0.1, 0.85, 0.9, 0.2, 0.1]])  # candidate 1 is good at both
    for method in ("soft_and", "gated"):
        assert int(np.argmax(fuse(scores, [1, 1], method))) == 1, method
    # Reciprocal ranks share the page: each thing's own best comes next, before an image good at neither.
    assert list(np.argsort(-fuse(scores, [1, 1], "gated"))[:3]) in ([1, 0, 2], [1, 2, 0])
    assert np.allclose(fuse(scores[:1], [1]), scores[0])  # one thing: its own scores


def test_an_image_of_both_things_ranks_first_and_each_thing_gets_its_share(wv):
    import devise

    pizza, laptop, dolphin = (wv.vector(w) / np.linalg.norm(wv.vector(w)) for w in ("pizza", "laptop", "dolphin"))
    # Pizza photos sit right on "pizza"; laptop photos are noisier, so averaging or raw scores would favour pizza.
    synthetic_index("things", [(15, dolphin, 0.05), (15, pizza, 0.03), (15, laptop, 0.12), (1, pizza + laptop, 0.0)],
                    mixed=[3])
    found = devise.search("pizza laptop", index="things", top=10)
    groups = [p.split("/")[2] for p in found.paths]
    assert groups[0] == "g3", groups
    assert groups.count("g1") >= 3 and groups.count("g2") >= 3 and "g0" not in groups, groups
    assert [t["words"] for t in found.analysis["terms"]] == [["pizza"], ["laptop"]]
    scores = [h.score for h in found.results]
    assert scores == sorted(scores, reverse=True) and all(s <= 1.0 for s in scores)


def test_nothing_matches_is_said_once_and_flagged(wv, run):
    red, blue = (wv.vector(w) for w in ("red", "blue"))
    synthetic_index("colours", [(60, red, 0.02), (60, blue, 0.02)])
    result = run("search", "democracy", "--index", "colours", "--json")  # names no category: word space decides
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["weak"] is True and answer["weak_terms"] == ["democracy"] and answer["noise_threshold"] > 0
    assert answer["absent_kinds"] == {}
    assert len(result.stderr.strip().splitlines()) == 1 and "nothing in index 'colours' matches 'democracy'" in result.stderr
    fine = run("search", "red", "--index", "colours", "--json")
    assert json.loads(fine.stdout)["weak"] is False and fine.stderr.strip() == ""
    synthetic_index("few", [(30, red, 0.02), (30, blue, 0.02)])  # too few images to tell noise: no flag
    assert json.loads(run("search", "democracy", "--index", "few", "--json").stdout)["weak"] is False


def test_a_category_no_image_shows_is_weak_however_near_its_word_sits(wv, run):
    """Images right on "hot dog" in word space, but no hotdog to the backbone: nothing matches, and one line
    names the category; images the backbone sees as hotdogs match, wherever their word vectors sit."""
    from devise.data.imagenet import class_names

    hot_dog = analyse("hot dog", wv).terms[0].unit_vector
    red, blue = (wv.vector(w) for w in ("red", "blue"))
    synthetic_index("near", [(60, hot_dog, 0.02), (60, red, 0.02), (60, blue, 0.02)])
    result = run("search", "hot dog", "--index", "near", "--json")
    answer = json.loads(result.stdout)
    assert all("/g0/" in h["path"] for h in answer["results"])  # word space finds the images on its word
    assert answer["weak"] is True and answer["absent_kinds"] == {"hot dog": "hotdog"}, answer
    assert result.stderr.strip() == ("nothing in index 'near' shows 'hot dog' (hotdog): the backbone sees too little "
                                     "of it in any image; the results are only the nearest.")
    synthetic_index("seen", [(60, red, 0.02), (60, blue, 0.02)], logits={1: (class_names().index("hotdog"), 12.0)})
    seen = run("search", "hot dog", "--index", "seen", "--json")
    assert json.loads(seen.stdout)["weak"] is False and seen.stderr.strip() == ""
    assert all("/g1/" in h["path"] for h in json.loads(seen.stdout)["results"])


def test_a_word_ranked_by_its_nearest_kind_says_so(wv, run):
    """ImageNet has no emu: an emu is ranked by its nearest kind, ratites (the ostrich), and one line says so."""
    from devise.data.imagenet import class_names

    red, blue = (wv.vector(w) for w in ("red", "blue"))
    synthetic_index("birds", [(60, red, 0.02), (60, blue, 0.02)], logits={1: (class_names().index("ostrich"), 12.0)})
    result = run("search", "emu", "--index", "birds", "--json")
    answer = json.loads(result.stdout)
    assert answer["nearest_kinds"] == {"emu": "ratite (ostrich)"}
    assert all("/g1/" in path for path in [h["path"] for h in answer["results"]])
    assert "'emu' names no class the backbone knows" in result.stderr and "ratite (ostrich)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # weak in word space too, said in the same line
    plain = json.loads(run("search", "red", "--index", "birds", "--json").stdout)
    assert plain["nearest_kinds"] == {}


def test_index_records_its_noise_level(colour_folder, fake_backbone):
    from devise.index.builder import build_index
    from devise.index.store import open_index

    build_index(str(colour_folder), name="colours", progress=False)
    record = open_index("colours").manifest.noise
    assert record["words"] == 300 and set(record["quantiles"]) == {"50", "75", "90", "95", "99"}
    values = list(record["quantiles"].values())
    assert values == sorted(values)


@pytest.mark.parametrize("start", ["red", "a photo of something blue", "green yellow"])
def test_walk_starts_at_searchs_top_hit(colour_folder, fake_backbone, start):
    import devise
    from devise.index.builder import build_index

    build_index(str(colour_folder), name="colours", progress=False)
    assert devise.walk(index="colours", start=start).start == devise.search(start, index="colours", top=1).paths[0]
    kept = devise.walk(index="colours", start=start, filter="class:red OR class:green")
    assert kept.start == devise.search(start, index="colours", top=1, filter="class:red OR class:green").paths[0]
