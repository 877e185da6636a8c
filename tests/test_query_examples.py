"""Every query example in `devise search --help` and `devise walk --help` does what it promises, on real weights.

The collection is one any reader can build: the sample photos shipped in
scikit-image and foolbox (devise.data.datasets.package_photos: a cat
"chelsea", a coffee cup, an astronaut, a rocket, a motorcycle, the Hubble
deep field, and 20 ImageNet photos, among them a strawberry, a bald eagle,
a bull mastiff, a dalmatian and two jeeps), indexed with the default
backbone (EfficientNet-Lite0) and ConSE.
"""
import re
import shutil
from pathlib import Path

import pytest

from devise.cli import cli

CAT, STRAWBERRY, EAGLE = "chelsea.png", "imagenet_04_949.jpg", "imagenet_17_22.jpg"
ASTRONAUT, ROCKET, COFFEE = "astronaut.png", "rocket.jpg", "coffee.png"


def first(names):
    return lambda found: found[0] in names


def within(k, *names):
    return lambda found: set(names) <= set(found[:k])


# Every example the help texts quote, and what it promises there.
PROMISES = {
    "cat": first({CAT}),
    "a photo of a cat": first({CAT}),                       # stop words and framing dropped
    "cat strawberry": within(2, CAT, STRAWBERRY),           # two things: both first
    "bald eagle": first({EAGLE}),                           # a known phrase: one thing
    "coffee cup cat": within(2, COFFEE, CAT),               # a WordNet compound and a word: two things
    "an eagle flying over the water": first({EAGLE}),       # a sentence: its head, the eagle, leads
    "cat:2 strawberry": lambda found: found[0] == CAT and STRAWBERRY in found[:5],
    "rocket - astronaut": first({ROCKET}),                  # arithmetic
    "a photo of an astronaut": first({ASTRONAUT}),          # walk --start
}


def help_text(command):
    from click.testing import CliRunner

    return CliRunner().invoke(cli, [command, "--help"], terminal_width=400).output


def search_examples():
    """The queries of search's first line and of its table of examples (lines that start with a quoted query)."""
    text = help_text("search")
    return set(re.findall(r'"([^"]+)"', text.split("\n\n")[1]) + re.findall(r'^\s+"([^"]+)"\s{2,}', text, re.M))


def walk_examples():
    line = next(line for line in help_text("walk").splitlines() if "--start TEXT" in line)
    return set(re.findall(r'e\.g\. "([^"]+)"', line))


@pytest.fixture(scope="module")
def photos_index(tmp_path_factory):
    import devise
    from devise.core.home import set_home
    from devise.data.datasets import package_photos

    photos = package_photos()
    if not any(Path(p).name == CAT for p in photos) or len(photos) < 20:
        pytest.skip("scikit-image's and foolbox's sample photos are not installed")
    root = tmp_path_factory.mktemp("examples")
    folder = root / "photos"
    folder.mkdir()
    for p in photos:
        shutil.copy(p, folder / Path(p).name)
    set_home(root / "home")
    try:
        devise.build_index(folder, name="photos", progress=False)
    finally:
        set_home(None)
    return root / "home"


def test_every_help_example_has_a_promise():
    examples = search_examples() | walk_examples()
    assert len(examples) >= 7 and examples == set(PROMISES), examples ^ set(PROMISES)


def test_help_examples_return_what_they_promise(photos_index, monkeypatch):
    import devise

    monkeypatch.setenv("DEVISE_HOME", str(photos_index))
    failed = {}
    for query in search_examples():
        found = [Path(p).name for p in devise.search(query, index="photos", top=5).paths]
        if not PROMISES[query](found):
            failed[query] = found
    for query in walk_examples():
        start = Path(devise.walk(index="photos", start=query).start).name
        if not PROMISES[query]([start]):
            failed[f"walk --start {query}"] = start
    assert not failed, failed
