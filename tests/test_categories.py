"""Category words in search (search.categories) on WordNet tables read offline from data/wordnet/."""
from types import SimpleNamespace

import numpy as np
import pytest

from devise.data import wordnet
from devise.data.imagenet import class_names
from devise.index import writer
from devise.index.store import open_index
from devise.search import categories


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
    mass = categories.model_mass(idx, wordnet.category("animal"))
    assert mass.argmax() == 0 and mass[0] > 0.5 > mass[1]
    assert categories.model_mass(idx, wordnet.category("animal"), np.array([1, 2])).max() < 0.5
    assert categories.model_mass(_TrainedIndex(words, [], rows), wordnet.category("animal")) is None
