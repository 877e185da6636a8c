"""Category words in search (search.categories) on WordNet tables read offline from data/wordnet/."""
import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from devise.data import wordnet
from devise.data.imagenet import class_names, class_wnids
from devise.index import writer
from devise.index.store import open_index
from devise.search import categories, category_mass


def test_tables_name_categories_and_lemmas_offline():
    names = class_names()
    animal = categories.category_of("animals")
    assert animal.word == "animal" and "animal.n.01" in animal.synset
    assert {"tabby", "goldfish", "tree frog"} <= {names[i] for i in animal.classes}
    assert "airliner" not in {names[i] for i in animal.classes}
    vehicle = {names[i] for i in categories.category_of("vehicle").classes}
    assert {"airliner", "ambulance", "canoe"} <= vehicle and "tabby" not in vehicle
    food = {names[i] for i in categories.category_of("food").classes}
    assert {"pizza", "strawberry", "bagel"} <= food  # both food.n.01 (dishes) and food.n.02 (solid food)
    assert categories.category_of("democracy") is None and categories.category_of("hijacked") is None
    assert wordnet.lemma("sandwiches") == "sandwich" and wordnet.lemma("mice") == "mouse"
    assert wordnet.lemma("glasses") == "glasses"  # a noun of its own, as morphy keeps it
    assert wordnet.lemma("does") is None          # a verb form, not two deer


@pytest.fixture
def colour_index(words_home, colour_folder, fake_backbone):
    import devise

    devise.build_index(colour_folder, name="colours", progress=False)
    return open_index("colours")


def test_index_stores_each_images_top_imagenet_classes(colour_index, fake_backbone):
    classes, probs = colour_index.imagenet_top()
    assert classes.shape == probs.shape == (len(colour_index), writer.TOP_K)
    assert classes.dtype == np.int16 and probs.dtype == np.float16
    assert np.all(np.diff(probs.astype(np.float32), axis=1) <= 1e-3)  # most probable first
    assert np.all(probs.astype(np.float32).sum(axis=1) <= 1.01)


def test_removing_items_keeps_the_top_classes_of_the_others(colour_index):
    from devise.index.edit import remove_items

    first, second = colour_index.items[0]["path"], colour_index.items[1]["path"]
    before = colour_index.imagenet_top()[0][1].copy()
    remove_items([first], index="colours")
    after = open_index("colours")
    assert after.items[0]["path"] == second
    np.testing.assert_array_equal(after.imagenet_top()[0][0], before)


def planted(idx, members):
    """Give `members` (ids) 0.9 of their mass on dog classes, the rest 0.9 on cat classes."""
    dog, cat = categories.category_of("dog").classes, categories.category_of("cat").classes
    classes = np.zeros((len(idx), 2), np.int16)
    probs = np.full((len(idx), 2), [0.9, 0.05], np.float16)
    for i in range(len(idx)):
        classes[i] = (dog[0], cat[0]) if i in members else (cat[0], dog[0])
    idx._top = (classes, probs)  # what OpenIndex.imagenet_top would have read from the index
    return idx


def test_a_category_word_ranks_its_member_images_first(colour_index):
    members = set(range(0, len(colour_index), 2))
    idx = planted(colour_index, members)
    ids = np.arange(len(idx))
    # Word space prefers the others: the category mass must turn that round.
    scores = np.where(np.isin(ids, list(members)), 0.30, 0.40).astype(np.float32)
    out_ids, out_scores = categories.rescore(idx, "dogs", ids, scores)
    assert set(out_ids[:len(members)].tolist()) == members
    assert np.all(np.diff(out_scores) <= 0)
    np.testing.assert_allclose(out_scores[0], (1 - categories.WEIGHT) * 0.30 + categories.WEIGHT * 0.9, atol=1e-3)


def test_category_adds_the_images_with_most_mass_missing_from_the_pool(colour_index):
    members = {1, 5, 9}
    idx = planted(colour_index, members)
    pool = np.array([0, 2, 4, 6], np.int64)
    ids, _ = categories.rescore(idx, "dog", pool, np.full(4, 0.5, np.float32))
    assert set(ids[:3].tolist()) == members and set(pool) <= set(ids.tolist())
    allowed = np.array([0, 2, 4, 5, 6])
    ids, _ = categories.rescore(idx, "dog", pool, np.full(4, 0.5, np.float32), allowed=allowed)
    assert ids[0] == 5 and not {1, 9} & set(ids.tolist())


def test_a_word_that_is_no_category_changes_nothing(colour_index):
    ids, scores = np.array([3, 1]), np.array([0.5, 0.4], np.float32)
    out = categories.rescore(planted(colour_index, {1}), "democracy", ids, scores)
    assert out[0] is ids and out[1] is scores


def test_an_index_built_before_top_classes_keeps_word_scores_and_says_how_to_update(colour_index, capsys):
    for filename in writer.OPTIONAL:  # what a manifest written before them records
        colour_index.manifest.files.pop(filename)
    categories._warned.discard(colour_index.name)
    ids, scores = np.array([3, 1]), np.array([0.5, 0.4], np.float32)
    out = categories.rescore(colour_index, "animal", ids, scores)
    assert out[0] is ids and out[1] is scores
    assert "devise index" in capsys.readouterr().err


def test_a_trained_models_own_classes_join_the_categories_above_them():
    """ImageNet has no trilobite; WordNet puts it under animal, so a model trained on trilobites adds its mass."""
    animal = wordnet.category("animal")
    assert set(animal.offsets) & wordnet.above("trilobite")
    assert set(animal.offsets) & wordnet.above("Leopards"), "a folder's plural joins through its lemma"
    assert not set(animal.offsets) & wordnet.above("chair")
    assert wordnet.above("democracy") == frozenset()


class _TrainedIndex:
    """What model_mass reads of an index: its model's class phrases, its word-space rows and word vectors."""

    def __init__(self, words, phrases, rows):
        self.manifest = SimpleNamespace(seen_margin={"phrases": phrases})
        self.seen_phrases = tuple(phrases)
        self.items, self._rows, self._words = list(range(len(rows))), rows, words

    def vectors(self, kind):
        return self._rows

    def word_vectors(self):
        return self._words


def test_model_mass_follows_the_image_nearest_class(words_home):
    from devise.data.words import load_words

    words = load_words()
    phrases = ["trilobite", "chair", "pizza"]
    rows = words.phrase_matrix(phrases)  # image i sits on class i's phrase
    idx = _TrainedIndex(words, phrases, rows)
    mass = category_mass.model_mass(idx, wordnet.category("animal"))
    assert mass.argmax() == 0 and mass[0] > 0.5 > mass[1]
    assert category_mass.model_mass(idx, wordnet.category("animal"), np.array([1, 2])).max() < 0.5
    assert category_mass.model_mass(_TrainedIndex(words, [], rows), wordnet.category("animal")) is None


def test_category_mass_is_computed_once_per_open_index_and_category(colour_index, monkeypatch):
    """A query asks for it three times (candidates, "nothing matches", scores): one pass over the index."""
    idx = planted(colour_index, {1, 3})
    calls, real = [], category_mass.imagenet_mass
    monkeypatch.setattr(category_mass, "imagenet_mass", lambda *args: calls.append(args) or real(*args))
    dog = categories.category_of("dog")
    whole = category_mass.category_mass(idx, dog)
    np.testing.assert_array_equal(category_mass.category_mass(idx, dog, np.array([3, 1])), whole[[3, 1]])
    assert whole[1] > 0.8 > whole[0] and len(calls) == 1
    category_mass.category_mass(idx, categories.category_of("cat"))
    category_mass.category_mass(open_index("colours"), dog)  # another open index (another version) reads afresh
    assert len(calls) == 3


def test_a_seen_class_lead_costs_the_category_mass_too(colour_index):
    """Two images with the same mass: the one a trained model gives to a seen rival loses its whole lead."""
    idx = planted(colour_index, set(range(len(colour_index))))
    lead = np.array([0.0, 0.2], np.float32)
    cosine = np.float32(0.3)
    ids, scores = categories.rescore(idx, "dog", np.array([1, 0]), cosine - lead, add=False, lead=lead)
    assert ids.tolist() == [1, 0]
    w = categories.WEIGHT
    np.testing.assert_allclose(scores, [(1 - w) * 0.3 + w * 0.9, (1 - w) * 0.1 + w * (0.9 - 0.2)], atol=1e-3)


class _MarginIndex(_TrainedIndex):
    """Enough of a trained model's index for search.text.term_scores: seen phrases, a margin, word space."""

    def __init__(self, words, phrases, rows, gamma):
        super().__init__(words, phrases, rows)
        self.manifest = SimpleNamespace(seen_margin={"phrases": phrases, "gamma": gamma})

    def space(self, kind):
        return SimpleNamespace(vectors=self._rows)

    def imagenet_top(self):
        return None


def test_seen_classes_under_a_category_are_its_members_not_its_rivals(words_home):
    """ "animal" over a model that saw trilobites and chairs: a trilobite image loses no lead to "trilobite"."""
    from devise.data.words import load_words
    from devise.models import seen_margin
    from devise.search.analyser import analyse
    from devise.search.text import term_scores

    words = load_words()
    phrases = ["trilobite", "chair"]
    rows = words.phrase_matrix(phrases)
    idx = _MarginIndex(words, phrases, rows, gamma=0.0)
    term = analyse("animal", words, idx.seen_phrases).terms[0]
    cosine = rows @ term.unit_vector
    assert rows[0] @ rows[0] - cosine[0] > 0.1, "counting trilobite as a rival would cost image 0 a lead"
    ids, scores = term_scores(idx, words, term, np.array([0, 1]), feedback=False)
    assert ids.tolist() == [0, 1]
    mass = category_mass.model_mass(idx, wordnet.category("animal"))
    margined = seen_margin.margin_scores(cosine[0], rows[0] @ rows[1], 0.0)  # chair the only rival
    w = categories.WEIGHT
    np.testing.assert_allclose(scores[0], (1 - w) * margined + w * (mass[0] - (cosine[0] - margined)), atol=1e-5)


def test_a_word_naming_no_imagenet_class_finds_its_nearest_category():
    """ImageNet has no emu, ferry or octopus; WordNet places them above ostrich, boats and the nautilus."""
    names = class_names()
    assert wordnet.category("emu") is None
    emu = wordnet.nearest_category("emus")
    assert emu.nearest and emu.synset == "ratite.n.01" and [names[i] for i in emu.classes] == ["ostrich"]
    ferry = {names[i] for i in wordnet.nearest_category("ferry").classes}
    assert {"fireboat", "canoe"} <= ferry and "airliner" not in ferry
    # The main sense decides: "dog" is the animal, not "a dull unattractive girl" (a person).
    dogs = set(wordnet.category("dog").classes.tolist())
    near_dog = set(wordnet.nearest_category("dog", hidden=dogs).classes.tolist())
    assert near_dog and near_dog <= set(wordnet.category("animal").classes.tolist()) and not near_dog & dogs
    assert wordnet.nearest_category("democracy") is None and wordnet.nearest_category("xqzv") is None
    above = wordnet.categories_above("emu")
    assert [c.synset for c in above[:2]] == ["ratite.n.01", "bird.n.01"]
    assert all(len(a.classes) <= len(b.classes) for a, b in itertools.pairwise(above))
    assert "ratite.n.01" not in {c.synset for c in wordnet.categories_above("emu", hidden=set(emu.classes.tolist()))}
    ostrich = class_names().index("ostrich")
    assert class_wnids()[ostrich] == "n01518878"  # ImageNet's wnid is WordNet 3.0's offset of ostrich


def test_scoring_category_prefers_the_words_own_and_skips_a_models_class():
    own, weight = categories.scoring_category("dogs")
    assert not own.nearest and weight == categories.WEIGHT
    near, weight = categories.scoring_category("emu")
    assert near.nearest and weight == categories.NEAREST_WEIGHT
    assert categories.scoring_category("emu", seen=("ostrich", "chair")) == (None, 0.0)  # a trained model places it
    assert categories.scoring_category("dog", seen=("ostrich",))[0] is not None
    assert categories.scoring_category("democracy") == (None, 0.0)
    assert categories.scoring_category("frog", seen=())[0] is not None  # its own category
    # A nearest category broader than NEAREST_MAX_CLASSES says too little: none.
    assert all(len(c.classes) <= categories.NEAREST_MAX_CLASSES
               for c in (categories.scoring_category(w)[0] for w in ("emu", "ferry", "ibis")) if c is not None)
    # So does one covering thousands of kinds of thing, though ImageNet has two of them: "cactus" is a plant.
    plant = wordnet.nearest_category("cactus")
    assert len(plant.classes) <= categories.NEAREST_MAX_CLASSES < categories.NEAREST_MAX_KINDS < plant.kinds
    assert categories.scoring_category("cactus") == (None, 0.0)
    assert wordnet.nearest_category("emu").kinds == 11  # ratite: itself, the ostrich, emus, rheas, kiwis...


def test_a_words_nearest_category_ranks_the_images_with_its_mass_first(colour_index):
    """ "emu" over images the backbone calls ostriches (ids 1, 5) and tabbies: the ostriches rank first, by
    NEAREST_WEIGHT of their mass."""
    ostrich, tabby = int(wordnet.nearest_category("emu").classes[0]), int(wordnet.category("tabby").classes[0])
    classes = np.array([[ostrich, tabby] if i in (1, 5) else [tabby, ostrich] for i in range(len(colour_index))],
                       np.int16)
    colour_index._top = (classes, np.full((len(colour_index), 2), [0.8, 0.1], np.float16))
    ids = np.arange(len(colour_index))
    scores = np.where(np.isin(ids, [1, 5]), 0.2, 0.5).astype(np.float32)
    out_ids, out_scores = categories.rescore(colour_index, "emu", ids, scores)
    assert set(out_ids[:2].tolist()) == {1, 5}
    w = categories.NEAREST_WEIGHT
    np.testing.assert_allclose(out_scores[0], (1 - w) * 0.2 + w * 0.8, atol=1e-3)


def test_compound_nouns_are_read_in_wordnets_spelling():
    assert wordnet.compound(["coffee", "tables"]) == "coffee table"
    assert wordnet.compound(["inline", "skate"]) == "in-line skate"  # WordNet writes it with a hyphen
    assert wordnet.compound(["ice", "cream", "cones"]) == "ice-cream cone"
    assert wordnet.compound(["dollar", "bill"]) == "dollar bill"    # no physical thing to WordNet, still one noun
    assert wordnet.compound(["pizza", "laptop"]) is None and wordnet.compound(["dog"]) is None
    assert wordnet.above("inline skates") == wordnet.above("in-line skate") != frozenset()


def test_a_phrase_without_a_category_takes_the_one_of_the_noun_it_ends_on():
    assert categories.named_by("red car") == "car"               # a modifier and its noun
    assert categories.named_by("windsor chair") == "chair"       # WordNet: a windsor chair is a chair
    assert categories.named_by("sea horse") == "sea horse"       # WordNet: a fish, not a horse
    assert categories.named_by("grand piano") == "grand piano"   # a category of its own
    assert categories.named_by("dollar bill") == "dollar bill"   # its last word names no category
    assert categories.named_by("dog") == "dog"


def test_a_things_category_words_keep_a_models_class_phrase_whole():
    from devise.search.analyser import Term
    from devise.search.text import category_text

    assert category_text(Term("red car", ["red", "car"], kind="phrase")) == "car"
    assert category_text(Term("a red car", ["red", "car"], kind="sentence", head="red car")) == "car"
    croc = Term("crocodile head", ["crocodile", "head"], kind="phrase")
    assert category_text(croc) == "head"
    assert category_text(croc, seen=("crocodile head", "chair")) == "crocodile head"  # the model places it
    assert category_text(Term("beach + sunset", ["beach", "sunset"], kind="arithmetic")) is None
