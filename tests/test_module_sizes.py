"""The package's modules stay small enough to read in one sitting: at most MAX_LINES lines each.

A module that grows past it holds two jobs; split it where the jobs part (search.categories
chooses and blends a category, search.category_mass computes the mass it blends in).
"""
from test_layers import package_files

MAX_LINES = 250


def line_counts():
    return {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in package_files().items()}


def test_no_package_module_is_longer_than_max_lines():
    long = {name: n for name, n in line_counts().items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split each where its jobs part): {long}"


def test_the_count_sees_the_largest_modules():
    counts = line_counts()
    assert len(counts) > 100 and max(counts.values()) > MAX_LINES // 2
