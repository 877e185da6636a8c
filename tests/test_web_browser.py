"""The page of `devise serve` in a real headless Chromium (Playwright, system Chromium), served by uvicorn.

Skipped, in one line, where Playwright or Chromium is missing: CI installs
both (`pip install playwright`, `apt-get install chromium`); Playwright's own
browser download needs the internet, so the system browser is used.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

from helpers import fit_model, make_image, synthetic_index

for _name in ("starlette", "uvicorn", "multipart"):
    pytest.importorskip(_name, reason="the web extra is not installed: pip install 'devise[web]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install playwright")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
BAD_FILTER = "a_face:[0.5 TO"
WAIT_MS = 30_000


def chromium_path():
    for candidate in (os.environ.get("DEVISE_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                      "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set DEVISE_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def collection(words_home, colour_folder, dup_folder, fake_backbone, run, tmp_path):
    """Index "colours" (a fitted model: "red" finds red images) and index "patterns" (planted duplicates)."""
    model = fit_model(tmp_path / "model", colour_folder, fake_backbone)
    for args in (("index", dup_folder, "--name", "patterns"),
                 ("index", colour_folder, "--model", model, "--name", "colours")):
        result = run(*args)
        assert result.exit_code == 0, result.output
    return colour_folder, dup_folder


@pytest.fixture
def site(collection):
    from devise.web.app import BackgroundServer, create_app

    with BackgroundServer(create_app("colours")) as served:
        yield served


def wait_until(page, expression, timeout=WAIT_MS / 1000):
    """Poll a JavaScript expression from here: page.wait_for_function evaluates strings, which the page's CSP forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def test_search_shows_the_expected_top_image_and_keeps_it_in_the_url(site, page):
    import devise

    expected = devise.search("red", index="colours", top=24).results[0].path
    page.goto(f"{site.url}/?view=search")
    page.fill("#q", "red")
    page.click("#search-form button[type=submit]")
    # Until the search answers, the grid may still hold the opening walk's cards (a race under load): wait for
    # the status line that the search writes after its own cards.
    wait_until(page, "document.querySelector('#search-status').textContent.includes('results for')")
    top = page.locator("#results .card").first
    assert top.get_attribute("data-path") == expected and "/red/" in expected
    assert top.locator(".label").inner_text() == "red"
    assert page.locator("#results .card").count() == 24
    assert "q=red" in page.url
    page.goto(page.url)  # the deep link alone brings the same answer back
    page.wait_for_selector("#results .card")
    assert page.locator("#results .card").first.get_attribute("data-path") == expected
    wait_until(page, "document.querySelector('#results .card img').naturalWidth > 0")


def test_search_without_feedback_from_the_checkbox(site, page):
    import devise

    expected = [hit.path for hit in devise.search("green + red", index="colours", top=24, feedback=False).results]
    assert expected != [hit.path for hit in devise.search("green + red", index="colours", top=24).results]
    page.goto(f"{site.url}/?view=search")
    page.fill("#q", "green + red")
    page.uncheck("#feedback")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#results .card")
    assert "feedback=0" in page.url
    assert page.locator("#results .card").evaluate_all("cards => cards.map(c => c.dataset.path)") == expected
    page.goto(page.url)  # the deep link keeps the box unticked
    page.wait_for_selector("#results .card")
    assert not page.is_checked("#feedback")


def test_upload_shows_similar_images_and_tags(site, page, tmp_path):
    mine = make_image(tmp_path / "upload" / "mine.jpg", (222, 28, 32), seed=77)
    page.goto(f"{site.url}/?view=similar")
    page.set_input_files("#upload", str(mine))
    page.wait_for_selector("#similar-results .card")
    page.wait_for_selector("#tags li")
    assert "/red/" in page.locator("#similar-results .card").first.get_attribute("data-path")
    assert len(page.locator("#tags li b").all_inner_texts()) >= 3  # open tags: picturable nouns, so no colour words
    assert "mine.jpg" in page.inner_text("#similar-status")


def test_similar_from_a_result_is_a_deep_link(site, page):
    page.goto(f"{site.url}/?view=search&q=blue")
    page.locator("#results .card").first.locator("button.similar").click()
    page.wait_for_selector("#similar-results .card")
    page.wait_for_selector("#tags li")
    assert "view=similar" in page.url and "id=" in page.url
    assert "/blue/" in page.locator("#similar-results .card").first.get_attribute("data-path")


def test_a_malformed_filter_shows_the_cli_message(site, page, run):
    page.goto(f"{site.url}/?view=search")
    page.fill("#q", "red")
    page.fill("#filter", BAD_FILTER)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#error:not([hidden])")
    cli = run("search", "red", "--index", "colours", "--filter", BAD_FILTER)
    assert page.inner_text("#error") == cli.output.strip().removeprefix("Error: ")
    assert page.locator("#results .card").count() == 0


def test_dedupe_review_lists_the_planted_duplicate(site, page, collection):
    _, patterns = collection
    page.goto(f"{site.url}/?view=dedupe&index=patterns")
    page.wait_for_selector("#groups .group")
    planted = str(patterns / "copies" / "alpha_001_q70.jpg")
    group = page.locator(".group", has=page.locator(f'.card[data-path="{planted}"]'))
    assert group.count() == 1
    assert group.locator(".card.kept").get_attribute("data-path") == str(patterns / "alpha" / "001.png")
    assert page.locator("#dedupe-edits").is_hidden()  # no --allow-edits: nothing to press


def test_the_walk_plays(site, page):
    page.goto(f"{site.url}/?view=walk&start=red&limit=12")
    page.wait_for_selector("#walk-player:not([hidden])")
    assert page.locator("#walk-slider").get_attribute("max") == "11"
    wait_until(page, "Number(document.querySelector('#walk-slider').value) >= 3")
    first = page.get_attribute("#walk-frame", "src")
    wait_until(page, f"document.querySelector('#walk-frame').getAttribute('src') !== {first!r}")
    page.click("#walk-play")  # pause, then scrub by hand
    page.locator("#walk-slider").fill("0")
    assert page.inner_text("#walk-caption").startswith("1 / 12")


def test_map_hover_and_index_picker(site, page):
    page.goto(f"{site.url}/?view=map&color=class")
    wait_until(page, "document.querySelector('#map-status').textContent.includes('layout')")
    assert page.locator("#map-legend li").count() == 6
    import httpx

    point = httpx.get(f"{site.url}/api/map", params={"color_by": "class"}).json()["points"][0]
    box, pad = page.locator("#map-canvas").bounding_box(), 24  # app.js draws inside a 24-pixel margin
    width, height = (int(page.get_attribute("#map-canvas", key)) for key in ("width", "height"))
    scale = box["width"] / width
    page.mouse.move(box["x"] + (pad + point["x"] * (width - 2 * pad)) * scale,
                    box["y"] + (pad + (1 - point["y"]) * (height - 2 * pad)) * scale)
    page.wait_for_selector("#map-tip:not([hidden])")
    assert page.inner_text("#map-tip span").startswith(Path(point["path"]).parent.name + "/")
    page.goto(f"{site.url}/?view=indexes")
    page.wait_for_selector("#index-table tbody tr")
    assert sorted(page.locator("#index-table tbody td button").all_inner_texts()) == ["colours", "patterns"]
    page.locator("#index-table button", has_text="patterns").click()
    assert "index=patterns" in page.url and page.input_value("#index-picker") == "patterns"


def test_the_page_opens_on_the_collection_with_queries_to_click(site, page):
    """No blank page and no markdown: the index's images, and its classes as example queries."""
    page.goto(f"{site.url}/?view=search")
    page.wait_for_selector("#results .card img")
    assert page.locator("#results .card").count() == 24
    status = page.inner_text("#search-status")
    assert "`" not in status and "images in index colours" in status
    examples = page.locator("#search-status a.example")
    assert examples.count() >= 2
    query = examples.first.inner_text()
    examples.first.click()
    wait_until(page, f"new URLSearchParams(location.search).get('q') === {query!r}")
    page.wait_for_selector("#results .card .score")
    heights = {round(b["height"]) for b in (c.bounding_box() for c in page.locator("#results .card").all())}
    assert len(heights) == 1, heights  # every card of a row, and of the grid, is as tall as the others


def test_map_thumbnails_do_not_pile_up(site, page):
    page.goto(f"{site.url}/?view=map")
    wait_until(page, "document.querySelectorAll('#map-thumbs img').length > 0")
    boxes = [t.bounding_box() for t in page.locator("#map-thumbs img").all()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_w = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            overlap_h = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            assert overlap_w <= 1 or overlap_h <= 1, (a, b)


def search_status(browser, index, query):
    """The search view's status line once `query`'s results are shown, served from `index`."""
    from urllib.parse import quote

    from devise.web.app import BackgroundServer, create_app

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    with BackgroundServer(create_app(index)) as served:
        page.goto(f"{served.url}/?view=search&q={quote(query)}")
        wait_until(page, "document.querySelector('#search-status').textContent.includes('results for')")
        status = page.inner_text("#search-status")
    context.close()
    return status


def test_a_word_ranked_by_its_nearest_kind_is_said_on_the_page(words_home, browser):
    """ImageNet has no emu: the status line says the results are its nearest kind, as `search` does on stderr."""
    from devise.data.imagenet import class_names
    from devise.data.words import load_words

    words = load_words()
    synthetic_index("birds", [(60, words.vector("red"), 0.02), (60, words.vector("blue"), 0.02)],
                    logits={1: (class_names().index("ostrich"), 12.0)})
    status = search_status(browser, "birds", "emu")
    assert "“emu” is ranked by its nearest kind, ratite (ostrich)" in status, status


def test_a_category_no_image_shows_is_said_on_the_page(words_home, browser):
    """Images on "hot dog" in word space, none a hotdog to the backbone: the status line says nothing here shows
    it, as `search` does on stderr, and does not also call it a word-space miss."""
    from devise.data.words import load_words
    from devise.search.analyser import analyse

    words = load_words()
    synthetic_index("near", [(60, analyse("hot dog", words).terms[0].unit_vector, 0.02),
                             (60, words.vector("red"), 0.02), (60, words.vector("blue"), 0.02)])
    status = search_status(browser, "near", "hot dog")
    assert "(nothing here shows “hot dog” (hotdog): the backbone sees too little of it in any image" in status, status
    assert "better than unrelated words" not in status, status
