"""`devise label`, `walk`, `map` and `--filter` on search/similar, on the tiny colour folder."""
import json

import numpy as np
import pytest
from PIL import Image

from devise.curate import maps

from helpers import fit_model

COLOURS = ["red", "green", "blue", "yellow", "black", "white"]


@pytest.fixture
def indexed(words_home, colour_folder, fake_backbone, run, tmp_path):
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    result = run("index", colour_folder, "--model", model)
    assert result.exit_code == 0, result.output
    return colour_folder


def items(home):
    from devise.index.store import open_index

    return list(open_index().items)


def test_label_adds_assigns_and_drops_fields(indexed, run, words_home):
    result = run("label", "--labels", "red,green,blue", "--json")
    assert result.exit_code == 0, result.output
    assert {f["field"] for f in json.loads(result.stdout)["fields"]} == {"red", "green", "blue"}
    assert all({"red", "green", "blue"} <= set(it["fields"]) for it in items(words_home))
    result = run("label", "--labels", "yellow,black,white", "--assign", "--calibrate", "none", "--json")
    assert result.exit_code == 0, result.output
    found = items(words_home)
    assert all({"red", "green", "blue", "yellow", "black", "white", "label"} <= set(it["fields"]) for it in found)
    assert all(-1 <= it["fields"]["red"] <= 1 for it in found)
    # --assign picks among this run's labels; red/green/blue images must still get one of those three.
    right = sum(it["fields"]["label"] == it["class"] for it in found if it["class"] in ("yellow", "black", "white"))
    assert right >= 20  # of 24
    result = run("label", "--drop", "red", "--drop", "blue")
    assert result.exit_code == 0, result.output
    assert all("red" not in it["fields"] and "green" in it["fields"] for it in items(words_home))
    assert run("label", "--drop", "nosuch").exit_code == 1


def test_assign_min_score_and_label_filter(indexed, run, words_home):
    assert run("label", "--labels", " ,".join(COLOURS), "--assign").exit_code == 0
    scores = sorted(it["fields"]["label_score"] for it in items(words_home))
    cut = scores[len(scores) // 2]
    assert run("label", "--labels", ",".join(COLOURS), "--assign", "--min-score", cut).exit_code == 0
    for it in items(words_home):
        assert (it["fields"]["label"] is None) == (it["fields"]["label_score"] < cut)
    assert run("label", "--labels", ",".join(COLOURS), "--assign", "--field-prefix", "c_").exit_code == 0
    found = items(words_home)
    assert sum(it["fields"]["label"] == it["class"] for it in found) >= 44  # of 48
    doc = json.loads(run("search", "colour", "--top", "100", "--json", "--filter", "c_red:[0.95 TO 1] AND NOT label:green").stdout)
    assert doc["results"] and all("/red/" in r["path"] for r in doc["results"])


def test_search_and_similar_filters(indexed, run):
    doc = json.loads(run("search", "red", "--top", "5", "--json", "--filter", "label:blue").stdout)
    assert len(doc["results"]) == 5 and all("/blue/" in r["path"] for r in doc["results"])
    image = indexed / "red" / "001.jpg"
    doc = json.loads(run("similar", image, "--top", "20", "--json", "--filter", "path:*/red/*").stdout)
    paths = [r["path"] for r in doc["results"]]
    assert len(paths) == 7 and str(image) not in paths
    assert run("search", "red", "--filter", "label:[0 TO").exit_code == 1


def test_walk_visits_each_filtered_item_once(indexed, run, tmp_path):
    order = tmp_path / "order.txt"
    result = run("walk", "--out", order, "--json", "--gif", tmp_path / "walk.gif", "--frames", tmp_path / "frames",
                 "--size", "32", "--start", "a green leaf")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    paths = order.read_text().splitlines()
    assert len(paths) == len(set(paths)) == 48 == doc["visited"]
    assert doc["tour_length"] < doc["random_length"]
    assert "/green/" in doc["start"]
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 48 and gif.size == (32, 32)
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 48
    result = run("walk", "--filter", "path:*/blue/* OR path:*/red/*", "--limit", "12", "--space", "words")
    assert result.exit_code == 0, result.output
    paths = result.stdout.splitlines()
    assert len(paths) == len(set(paths)) == 12 and all("/blue/" in p or "/red/" in p for p in paths)
    start = indexed / "white" / "004.jpg"
    paths = run("walk", "--start-image", start, "--filter", "label:white").stdout.splitlines()
    assert paths[0] == str(start) and len(paths) == 8


def test_tour_on_arrays_uses_knn_widening_and_exact_fallback():
    from devise.curate import tour

    rng = np.random.default_rng(1)
    centres = rng.normal(size=(40, 16))
    vectors = np.repeat(centres, 150, axis=0) + rng.normal(0, 0.3, (6000, 16))  # > DENSE_MAX: Annoy path
    order, stats = tour.greedy_tour(vectors, start=5, k0=4, max_k=16)
    assert sorted(order.tolist()) == list(range(6000))
    assert stats["widened"] > 0 and stats["exact_scans"] > 0
    assert tour.tour_length(vectors, order) < 0.6 * tour.random_length(vectors, 6000)


def test_map_writes_pngs(indexed, run, tmp_path):
    result = run("map", "--out", tmp_path / "map.png", "--size", "400", "--thumb", "40", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["layout"] in ("umap", "t-sne")
    with Image.open(tmp_path / "map.png") as img:
        assert img.width >= 300 and img.getextrema() != ((255, 255),) * 3
    unlabelled = run("map", "--out", tmp_path / "nolabel.png", "--color-by", "label")
    assert unlabelled.exit_code == 1 and "no selected image has a label" in unlabelled.stderr
    assert not (tmp_path / "nolabel.png").exists()
    assert run("label", "--labels", "red,sky", "--assign").exit_code == 0
    for colour_by in ("red", "label"):
        result = run("map", "--out", tmp_path / f"{colour_by}.png", "--color-by", colour_by, "--filter", "NOT label:green")
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"{colour_by}.png").stat().st_size > 1000
    assert run("map", "--out", tmp_path / "x.png", "--color-by", "nosuch").exit_code == 1


def test_map_legend_gives_every_class_its_own_colour_up_to_the_palette():
    """Twelve classes get twelve colours, none of them the grey kept for "(others)"."""
    xy = np.random.default_rng(0).random((120, 2))
    values = [f"class{i % 12}" for i in range(120)]
    img = maps.draw_points(xy, values, False, 400, "t")
    assert len(set(maps.PALETTE[:12])) == 12 and maps.GREY not in maps.PALETTE
    legend = {img.getpixel((400 + 36, 40 + 40 + i * 20 + 6)) for i in range(12)}
    assert legend == set(maps.PALETTE[:12])
