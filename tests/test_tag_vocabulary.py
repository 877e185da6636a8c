"""Open tags are picturable nouns, once each; user labels are kept as given; tag --labels agrees with label --assign."""
import json

import numpy as np

from devise.data import wordnet
from devise.data.vocabulary import tag_vocabulary
from devise.data.words import load_words

from helpers import COLOURS


def test_the_open_vocabulary_holds_picturable_nouns_once_each(words_home):
    wv = load_words()
    tags = [wv.words[r] for r in tag_vocabulary(wv)]
    assert len(tags) == len(set(tags)) > 5000
    lemmas = [wordnet.lemma(t) for t in tags]
    assert lemmas == tags, "every tag is its own lemma, so no 'sandwich' beside 'sandwiches'"
    assert {"sandwich", "cat", "chair", "airliner", "dolphin", "face", "pizza"} <= set(tags)
    junk = {"sandwiches", "hijacked", "subcommittees", "chairing", "democracy", "the", "does", "he", "chairman",
            "hijacker", "led", "idea"}
    assert not junk & set(tags)
    assert set(tags) <= wordnet.nouns()


def test_user_labels_are_never_filtered(words_home, colour_folder, fake_backbone, run):
    images = [colour_folder / "red" / "000.jpg"]
    doc = json.loads(run("tag", *images, "--labels", "hijacked,sandwiches,democracy", "--top", 3, "--json").stdout)
    assert sorted(t["word"] for t in doc["images"][0]["tags"]) == ["democracy", "hijacked", "sandwiches"]


def test_tag_labels_and_label_assign_agree(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder).exit_code == 0
    labels = ",".join(COLOURS) + ",chair,face"
    assert run("label", "--labels", labels, "--assign").exit_code == 0
    images = sorted(colour_folder.rglob("*.jpg"))
    doc = json.loads(run("tag", *images, "--labels", labels, "--top", 1, "--json").stdout)
    tagged = {e["image"]: e["tags"][0]["word"] for e in doc["images"]}
    from devise.index.store import open_index

    assigned = {it["path"]: it["fields"]["label"] for it in open_index().items}
    assert set(assigned) == set(tagged)
    assert assigned == tagged
    assert len(set(tagged.values())) > 1  # a ranking that sends everything to one label would agree trivially


def test_label_scores_subtract_a_fixed_reference_so_one_image_scores_as_in_a_collection(words_home):
    from devise.models.projector import Projector
    from devise.search.tag import label_scores

    projector = Projector(None)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, projector.words.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = projector.words.phrase_matrix(["cat", "chair", "face"])
    together, _ = label_scores(projector, vectors, matrix, ["cat", "chair", "face"])
    alone, cosines = label_scores(projector, vectors[:1], matrix, ["cat", "chair", "face"])
    np.testing.assert_allclose(together[:1], alone, atol=1e-6)
    assert not np.allclose(alone, cosines)


def test_open_tags_follow_the_classifier_at_the_level_it_is_sure_of():
    """An image the backbone calls an airliner (0.7) or a warplane (0.2): "airliner" and "airplane" rank above
    "vehicle", the words naming no ImageNet class score 0, and the broad "artifact" gets no mass."""
    from devise.search.tag import informative_mass, open_scores

    logits = np.full((1, 1000), -10.0, np.float32)
    logits[0, 404], logits[0, 895] = np.log(0.7), np.log(0.2)  # airliner, warplane (data/imagenet_classes.tsv)
    texts = ["airliner", "airplane", "vehicle", "artifact", "democracy", "dolphin"]
    info = dict(zip(texts, informative_mass(logits, texts)[0]))
    assert info["airplane"] > info["vehicle"] > 0 and info["airliner"] > info["vehicle"]
    assert info["democracy"] == info["artifact"] == info["dolphin"] == 0.0
    cosines = np.zeros((1, len(texts)), np.float32)
    cosines[0, texts.index("dolphin")] = 0.3  # word space alone would pick the dolphin
    scores = dict(zip(texts, open_scores(cosines, logits, texts)[0]))
    assert max(scores, key=scores.get) in {"airliner", "airplane"}
    assert open_scores(cosines, None, texts)[0].tolist() == cosines[0].tolist()

