"""The --filter language: ranges, labels, paths, boolean logic, and errors that point at the token."""
import pytest

from devise.core.errors import QueryError
from devise.index.filters import select

ITEMS = [
    {"id": 0, "path": "/c/cat/1.jpg", "class": "cat", "fields": {"a_face": 0.6, "a_hamburger": 0.7}},
    {"id": 1, "path": "/c/dog/2.jpg", "class": "dog", "fields": {"a_face": 0.2, "label": "a face"}},
    {"id": 2, "path": "/c/dog/3.png", "class": "dog", "fields": {"a_face": 0.99}},
    {"id": 3, "path": "/c/x/4.png", "class": None, "fields": {}},
]


@pytest.mark.parametrize("text, ids", [
    ("a_face:[0.58 TO 0.99] AND a_hamburger:[0.6 TO 0.99]", [0]),
    ("a_face:[0.6 TO 0.99]", [0, 2]),
    ("a_face:{0.6 TO 0.99}", []),
    ("a_face:[0.5 TO *]", [0, 2]),
    ("a_face:[* TO 0.2]", [1]),
    ("a_face < 0.5 OR a_face >= 0.99", [1, 2]),
    ("label:cat", [0]),
    ('label:"a face"', [1]),
    ("label:D*", [1, 2]),
    ("class:dog AND NOT path:*3*", [1]),
    ("path:*.png", [2, 3]),
    ("path:dog/", [1, 2]),
    ("NOT (label:cat OR label:dog)", [3]),
    ("(label:cat OR label:dog) AND a_face:[0 TO 0.5]", [1]),
    ("", [0, 1, 2, 3]),
])
def test_filters_select(text, ids):
    assert select(ITEMS, text).tolist() == ids


@pytest.mark.parametrize("text, position, words", [
    ("a_face:0.5 TO 0.9", 12, "unexpected 'TO'"),
    ("a_face:[0.5 0.9]", 13, "expected TO"),
    ("(label:cat", 11, "expected ')'"),
    ("label:cat AND", 14, "end of filter"),
    ("OR label:cat", 1, "unexpected 'OR'"),
    ("a_face:[x TO 1]", 9, "expected a number"),
    ("a_face:[1 TO 0]", 15, "empty range"),
    ("a_fase:[0 TO 1]", 1, "no item has field 'a_fase'"),
    ('label:"cat', 7, "unbalanced double quote"),
    ("label cat", 7, "expected ':'"),
    ("a_face:[0 TO 1] label:cat", 17, "expected AND, OR"),
])
def test_malformed_filters_point_at_the_token(text, position, words):
    with pytest.raises(QueryError) as err:
        select(ITEMS, text)
    message = str(err.value)
    assert words in message and f"at position {position} in " in message and "\n" not in message
    assert err.value.caret.splitlines()[1].index("^") == position - 1


def test_filter_cli_error_is_one_line(words_home, colour_folder, fake_backbone, run):
    assert run("index", colour_folder).exit_code == 0
    result = run("walk", "--filter", "label:red AND AND")
    assert result.exit_code == 1
    assert "unexpected 'AND'" in result.output and result.output.count("\n") == 1



