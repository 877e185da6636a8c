"""Text search's seen-class margin: the rule itself, its calibration metric, and an index that carries it."""
import json

import numpy as np

from devise.models import seen_margin
from devise.train import metrics


def _unit(*rows):
    m = np.array(rows, np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


# Word space of three axes: "chair" is a seen class, "stool" is a new word close to it.
CHAIR, STOOL = _unit([1.0, 0.0, 0.0])[0], _unit([0.8, 0.6, 0.0])[0]
IMAGES = _unit([1.0, 0.1, 0.0],     # 0: a chair, firmly on its class vector
               [0.5, 0.6, 0.6],     # 1: a stool the head is unsure of: nearer stool than chair, but not close
               [0.0, 0.0, 1.0])     # 2: unrelated


def rerank(pairs, vectors, query, seen_labels, gamma, top):
    return seen_margin.best_first(*seen_margin.candidate_scores(pairs, vectors, query, seen_labels, gamma), top)


def test_a_seen_class_image_loses_its_lead_over_the_query():
    cos = IMAGES @ STOOL
    assert np.argmax(cos) == 0  # plain cosine puts the chair first
    pairs = [(i, float(c)) for i, c in enumerate(cos)]
    ranked = rerank(pairs, IMAGES, STOOL, CHAIR[None, :], gamma=0.0, top=3)
    assert [i for i, _ in ranked] == [1, 0, 2]
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0][1] == float(cos[1])  # an image the query already wins keeps its cosine


def test_a_large_gamma_or_a_seen_query_leaves_cosine_order():
    pairs = [(i, float(c)) for i, c in enumerate(IMAGES @ STOOL)]
    assert [i for i, _ in rerank(pairs, IMAGES, STOOL, CHAIR[None, :], gamma=1.0, top=3)] == [0, 1, 2]
    chair_pairs = [(i, float(c)) for i, c in enumerate(IMAGES @ CHAIR)]
    ranked = rerank(chair_pairs, IMAGES, CHAIR, CHAIR[None, :], gamma=0.0, top=3)
    assert ranked == sorted(chair_pairs, key=lambda p: -p[1])  # searching the seen class itself: unchanged


def test_search_precision_rewards_the_margin_where_it_helps():
    labels = np.stack([CHAIR, STOOL])
    y = np.array([0, 1, 0])
    p = metrics.search_precision(IMAGES[:2], y[:2], [1], labels, np.array([True, False]), gammas=(0.0, 1.0), k=1)
    assert p.tolist() == [1.0, 0.0]


def test_an_index_of_a_trained_model_ranks_by_the_score_it_shows(tmp_path, colour_folder, fake_backbone, run):
    out = tmp_path / "m"
    result = run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "3", "--heads", "1", "--out", out)
    assert result.exit_code == 0, result.output
    model = json.loads((out / "manifest.json").read_text())
    assert 0.0 <= model["search_gamma"] <= 0.4 and "inner_search_p10" in model["calibration"]
    built = run("index", colour_folder, "--model", out, "--name", "colours")
    assert built.exit_code == 0, built.output
    from devise.index.store import open_index

    margin = open_index("colours").manifest.seen_margin
    assert margin == {"phrases": sorted(model["seen_phrases"]), "gamma": model["search_gamma"]}
    result = run("search", "yellow", "--index", "colours", "--json", "--top", "8")
    assert result.exit_code == 0, result.output
    scores = [hit["score"] for hit in json.loads(result.stdout)["results"]]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)
    assert run("index", colour_folder, "--model", "conse", "--name", "plain", "--rebuild").exit_code == 0
    assert open_index("plain").manifest.seen_margin is None


def test_a_damaged_seen_margin_is_one_line(tmp_path, colour_folder, fake_backbone, run, words_home):
    out = tmp_path / "m"
    assert run("train", colour_folder, "--holdout-classes", "yellow,white", "--epochs", "2", "--heads", "1",
               "--out", out).exit_code == 0
    assert run("index", colour_folder, "--model", out, "--name", "colours").exit_code == 0
    version = words_home / "indexes" / "colours" / (words_home / "indexes" / "colours" / "CURRENT").read_text().strip()
    data = json.loads((version / "manifest.json").read_text())
    for damaged in ("0.1", {"phrases": "red", "gamma": 0.1}, {"phrases": ["red"], "gamma": "high"}):
        (version / "manifest.json").write_text(json.dumps({**data, "seen_margin": damaged}))
        result = run("search", "yellow", "--index", "colours")
        assert result.exit_code == 1 and "seen_margin" in result.stderr and "damaged" in result.stderr
        assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
