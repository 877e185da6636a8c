"""Text search's visual feedback: the rule, its calibration metric, and search with and without it."""
import json

import numpy as np
import pytest

from devise.models import feedback
from devise.train import metrics


def _unit(rows):
    m = np.asarray(rows, np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


# Three looks: A (axis 0), B (axis 1) and C (axis 2). In word space a B image comes second.
FEATURES = _unit([[1, 0.1, 0], [0, 1, 0.1], [1, 0, 0.1], [1, 0.1, 0.1], [0, 0.1, 1]])
FIRST_PASS = np.array([0.9, 0.8, 0.7, 0.6, 0.1], np.float32)


def test_images_that_look_like_the_best_hits_rise():
    scores = feedback.feedback_scores(FIRST_PASS, FEATURES, top=3, weight=0.8, rounds=1)
    order = np.argsort(-scores).tolist()
    assert set(order[:3]) == {0, 2, 3} and order[3:] == [1, 4]  # the A images pass the B one
    # A second round rebuilds the visual query from the A images alone: B falls further behind.
    again = feedback.feedback_scores(FIRST_PASS, FEATURES, top=3, weight=0.8, rounds=2)
    assert again[3] - again[1] > scores[3] - scores[1]


def test_no_weight_or_no_round_leaves_the_first_pass():
    for kwargs in ({"weight": 0.0}, {"rounds": 0}, {"top": 0}):
        assert np.array_equal(feedback.feedback_scores(FIRST_PASS, FEATURES, **kwargs), FIRST_PASS)
    # More feedback images than candidates: every candidate is one, and nothing fails.
    assert feedback.feedback_scores(FIRST_PASS[:2], FEATURES[:2], top=10).shape == (2,)


def test_many_queries_at_once_match_one_at_a_time():
    columns = np.stack([FIRST_PASS, FIRST_PASS[::-1], np.linspace(0, 1, 5)], axis=1)
    together = feedback.feedback_scores(columns, FEATURES, top=2)
    for q in range(columns.shape[1]):
        np.testing.assert_allclose(together[:, q], feedback.feedback_scores(columns[:, q], FEATURES, top=2), rtol=1e-6)


def test_search_precision_counts_the_feedback():
    """A query class whose images look alike, but half of them sit far from the query in word space."""
    rng = np.random.default_rng(0)
    query, seen = _unit([[1, 0, 0, 0], [0, 1, 0, 0]])
    y = np.array([1] * 12 + [0] * 28)                      # 12 images of the query class, 28 of a seen one
    words = np.where(y[:, None] == 1, query, seen) + rng.normal(0, 0.6, (40, 4))
    looks = np.where(y[:, None] == 1, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) + rng.normal(0, 0.05, (40, 3))
    labels, mask = np.stack([seen, query]), np.array([True, False])
    plain = metrics.search_precision(_unit(words), y, [1], labels, mask, gammas=(1.0,))[0]
    refined = metrics.search_precision(_unit(words), y, [1], labels, mask, gammas=(1.0,), features=_unit(looks))[0]
    assert plain < 1.0 and refined == 1.0


@pytest.fixture
def colours(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder, "--name", "colours").exit_code == 0
    return colour_folder


def _results(run, *args):
    result = run("search", *args, "--json", "--top", 12)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["results"]


def test_search_without_feedback_shows_plain_cosines(colours, run):
    from devise.index.store import open_index
    from devise.search.query import query_vector

    idx = open_index("colours")
    vector, _ = query_vector("red", idx.word_vectors())
    cosines = idx.vectors("words") @ vector
    path_ids = {idx.items[i]["path"]: i for i in range(len(idx))}
    plain = _results(run, "red", "--no-feedback")
    assert [r["score"] for r in plain] == pytest.approx([float(cosines[path_ids[r["path"]]]) for r in plain], abs=1e-5)
    assert [r["path"] for r in plain] == [idx.items[i]["path"] for i in np.argsort(-cosines, kind="stable")[:12]]


def test_search_with_feedback_ranks_by_the_score_it_shows(colours, run):
    import devise
    from devise.index.store import open_index
    from devise.search.query import query_vector

    refined = _results(run, "red")
    scores = [r["score"] for r in refined]
    assert scores == sorted(scores, reverse=True) and all(s <= 1.0 for s in scores)
    # The 48-image index is one candidate pool: the shown scores are feedback over every image's cosine.
    idx = open_index("colours")
    vector, _ = query_vector("red", idx.word_vectors())
    expected = feedback.feedback_scores(idx.vectors("words") @ vector, np.asarray(idx.vectors("features")))
    path_ids = {idx.items[i]["path"]: i for i in range(len(idx))}
    assert scores == pytest.approx([float(expected[path_ids[r["path"]]]) for r in refined], abs=1e-5)
    plain = _results(run, "red", "--no-feedback")
    assert scores != pytest.approx([r["score"] for r in plain], abs=1e-3)
    api = devise.search("red", index="colours", top=12, feedback=False)
    assert api.paths == [r["path"] for r in plain]


def test_one_matching_image_among_unrelated_ones_keeps_first_place():
    """A collection with a single cat photo: the other best hits are unrelated photos, whose average
    (non-negative features share a direction) must not outvote it. Equal weights lose it here."""
    for seed in (0, 3, 4):
        rng = np.random.default_rng(seed)
        looks = _unit(rng.exponential(size=(30, 64)) ** 2)
        first = np.concatenate([[0.9], rng.uniform(0.3, 0.6, 29)]).astype(np.float32)
        assert np.argmax(feedback.feedback_scores(first, looks)) == 0, seed


def test_a_filter_leaving_fewer_candidates_than_the_feedback_uses(colours, run):
    found = _results(run, "blue", "--filter", "path:*red/001* OR path:*green/002*")
    assert sorted(r["path"].split("/")[-2] for r in found) == ["green", "red"]
    assert found[0]["score"] >= found[1]["score"]
    assert _results(run, "blue", "--filter", "path:*nothing*") == []


def test_a_longer_list_extends_a_shorter_one(colours, monkeypatch):
    """Pages agree: every `top` up to the pool re-ranks the same candidates, so a shorter list is a
    prefix of a longer one. A pool growing with top (20 x top) breaks this on the 48-image index."""
    import devise
    from devise.models import seen_margin

    monkeypatch.setattr(seen_margin, "MIN_POOL", 16)
    for query in ("red", "blue", "green"):
        longest = devise.search(query, index="colours", top=16).paths
        for top in range(1, 16):
            assert devise.search(query, index="colours", top=top).paths == longest[:top], (query, top)
