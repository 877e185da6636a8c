"""What `search`, `similar`, `tag` and `dedupe` print, on real photos with real weights, against checked-in snapshots.

The collection is one any reader can build: the sample photos that scikit-image and foolbox ship
(devise.data.datasets.package_photos), plus a mirrored and a shrunken copy for dedupe to find.
Scores are rounded to two decimals, so that last-digit differences between CPUs do not count;
a changed ranking, tag or wording does. After an intended change, regenerate with

    DEVISE_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py

and read the diff of tests/snapshots/ before committing it.
"""
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps

from devise.cli import cli
from devise.data.datasets import package_photos

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
UPDATE = os.environ.get("DEVISE_UPDATE_SNAPSHOTS") == "1"
CASES = {
    "search-cat": ["search", "cat", "--top", "5"],
    "search-sentence": ["search", "a photo of a cat", "--top", "5"],
    "search-two-things": ["search", "coffee rocket", "--top", "5"],
    "similar-cat": ["similar", "{photos}/chelsea.png", "--top", "5"],
    "tag": ["tag", "{photos}/chelsea.png", "{photos}/coffee.png", "--top", "5"],
    "dedupe": ["dedupe"],
}
_SCORE = re.compile(r"(?<![\w.])([+-]?\d+\.\d{3,})(?![\w.])")


@pytest.fixture(scope="module")
def photos_home(tmp_path_factory):
    photos = package_photos()
    if not any(Path(p).name == "chelsea.png" for p in photos) or len(photos) < 10:
        pytest.skip("scikit-image's and foolbox's sample photos are not installed")
    base = tmp_path_factory.mktemp("snapshots")
    folder, home = base / "photos", base / "home"
    folder.mkdir()
    for p in photos:
        shutil.copy(p, folder / Path(p).name)
    with Image.open(folder / "chelsea.png") as cat:
        ImageOps.mirror(cat.convert("RGB")).save(folder / "chelsea_mirrored.png")
    with Image.open(folder / "coffee.png") as coffee:
        coffee.convert("RGB").resize((200, 133)).save(folder / "coffee_small.jpg", quality=90)
    result = CliRunner().invoke(cli, ["--home", str(home), "index", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return folder, home


def normalise(text, folder):
    """Paths relative to the collection, scores to two decimals."""
    text = text.replace(str(folder), "photos")
    return _SCORE.sub(lambda m: f"{float(m.group(1)):.2f}", text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_its_snapshot(photos_home, case):
    folder, home = photos_home
    args = [a.format(photos=folder) for a in CASES[case]]
    result = CliRunner().invoke(cli, ["--home", str(home), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    got = f"$ devise {' '.join(CASES[case]).replace('{photos}', 'photos')}\n" + normalise(result.stdout, folder)
    path = SNAPSHOTS / f"{case}.txt"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path.name}: no snapshot; create it with DEVISE_UPDATE_SNAPSHOTS=1")
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")
