"""The field-search bench's query set parses and is what bench/field_search.py says; its scoring and results doc."""
import os
import re

import field_queries
import field_scoring
import field_search
import pytest
import results_doc

from helpers import CALTECH, needs_caltech


@pytest.fixture(scope="module")
def queries():
    return field_queries.by_kind(field_queries.load())


def test_every_kind_has_at_least_30_queries(queries):
    assert {kind: len(qs) >= 30 for kind, qs in queries.items()} == dict.fromkeys(field_queries.KINDS, True)


def test_class_words_are_the_label_map_phrases_with_faces_as_one(queries):
    by_text = {q.text: q.classes for q in queries["class"]}
    assert by_text["face"] == ("Faces", "Faces_easy")
    assert by_text["antelope"] == ("gerenuk",)  # data/label_maps/caltech101.txt
    assert len(by_text) == len(field_queries.class_synsets()) - 1


def test_sentences_mention_a_word_of_their_class(queries):
    phrases = field_queries.phrases()
    for q in queries["sentence"]:
        stems = {word[:-1] for c in q.classes for word in phrases[c].split()}
        assert any(stem in q.text for stem in stems), q


def test_pairs_come_as_both_forms_of_two_different_classes(queries):
    phrases = field_queries.phrases()
    forms = {}
    for q in queries["pair"]:
        a, b = q.classes
        assert phrases[a] != phrases[b]
        forms.setdefault(q.classes, set()).add(q.text)
    assert all(texts == {f"{phrases[a]} {phrases[b]}", f"{phrases[a]} and {phrases[b]}"}
               for (a, b), texts in forms.items())


def test_categories_name_their_wordnet_synsets(queries):
    for q in queries["category"]:
        assert re.match(r"synsets [a-z_\-]+\.n\.\d\d(,[a-z_\-]+\.n\.\d\d)*", q.note), q
        assert q.text not in q.classes


def test_synset_table_names_noun_synsets_or_none():
    for cls, name in field_queries.class_synsets().items():
        assert name is None or re.fullmatch(r"[a-z0-9_\-.']+\.n\.\d\d", name), (cls, name)


def test_a_query_for_an_unknown_class_names_the_line(tmp_path):
    bad = tmp_path / "queries.tsv"
    bad.write_text("# comment\nsentence\ta photo of a cat\tcat\n")
    with pytest.raises(ValueError, match=r"queries.tsv:2: no class folder named cat"):
        field_queries.load(bad)


@needs_caltech()
def test_classes_are_the_caltech101_folders():
    folders = {d for d in os.listdir(CALTECH) if (CALTECH / d).is_dir()} - set(field_search.EXCLUDE)
    assert set(field_queries.class_synsets()) == folders


def test_score_counts_same_phrase_folders_pairs_and_the_hub():
    phrases = {"Faces": "face", "Faces_easy": "face", "ant": "ant", "cup": "cup"}
    queries = [field_queries.Query("class", "face", ("Faces", "Faces_easy")),
               field_queries.Query("class", "ant", ("ant",)),
               field_queries.Query("sentence", "a photo of a face", ("Faces", "Faces_easy")),
               field_queries.Query("pair", "ant cup", ("ant", "cup")),
               field_queries.Query("category", "insect", ("ant",))]
    results = {"face": [f"/c/Faces/{i}.jpg" for i in range(5)] + [f"/c/Faces_easy/{i}.jpg" for i in range(5)],
               "ant": [f"/c/Faces/{i}.jpg" for i in range(6)] + [f"/c/ant/{i}.jpg" for i in range(4)],
               "a photo of a face": [f"/c/Faces_easy/{i}.jpg" for i in range(7)] + [f"/c/cup/{i}.jpg" for i in range(3)],
               "ant cup": [f"/c/ant/{i}.jpg" for i in range(10)],
               "insect": [f"/c/ant/{i}.jpg" for i in range(3)],
               "cup": [f"/c/Faces/{i}.jpg" for i in range(8)] + ["/c/cup/0.jpg", "/c/cup/1.jpg"]}
    figures = field_scoring.score({"results": results, "errors": {}, "tags": {}}, queries, phrases, judge=None)
    assert figures["class"] == pytest.approx((1.0 + 0.4) / 2)
    assert figures["sentence_ratio"] == pytest.approx(0.7 / 0.7)
    assert figures["pair"] == pytest.approx(1.0) and figures["pair_both"] == 0.0
    # "ant" and "cup" alone find their class at ranks 7 and 9: inside their top 10, not their top 5
    assert (figures["pair_bound"], figures["pair_ceiling"], figures["pair_missed"]) == (0.0, 1.0, [])
    results["cup"] = [f"/c/Faces/{i}.jpg" for i in range(10)]
    figures = field_scoring.score({"results": results, "errors": {}, "tags": {}}, queries, phrases, judge=None)
    assert (figures["pair_ceiling"], figures["pair_missed"]) == (0.0, ["cup"])
    assert figures["category"] == pytest.approx(0.3)  # fewer than 10 results: the missing slots are misses
    assert (figures["hub_class"], figures["hub_share"]) == ("face", pytest.approx(16 / 20))


def test_results_doc_replaces_one_section_and_keeps_the_others(tmp_path):
    doc = tmp_path / "results.md"
    results_doc.replace_section("one", "python bench/a.py", "first", path=doc)
    results_doc.replace_section("two", "python bench/b.py --x", "second", path=doc)
    results_doc.replace_section("one", "python bench/a.py --quick", "third", path=doc)
    text = doc.read_text()
    assert text.startswith(results_doc.HEADER)
    assert re.findall(r"^## (\w+)", text, re.M) == ["one", "two"]
    assert "third" in text and "first" not in text and "second" in text
    assert "`python bench/a.py --quick`, " in text
    with pytest.raises(ValueError, match="'## '"):
        results_doc.replace_section("one", "cmd", "## sneaky", path=doc)
