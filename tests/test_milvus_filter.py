"""The --filter language as Milvus expressions: on a real Milvus Lite collection, the ids Milvus keeps are the
ids devise's own test keeps, whatever the labels, paths and field names hold (quotes, backslashes, unicode)."""
import itertools

import numpy as np
import pytest

pytest.importorskip("milvus_lite")
pytest.importorskip("pymilvus")
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from devise.core.index_manifest import IndexManifest  # noqa: E402
from devise.index import filter_tokens, filters  # noqa: E402
from devise.index.stores import milvus, milvus_filter, milvus_writer  # noqa: E402

ITEMS = [
    {"id": 0, "path": "/c/cat/1.jpg", "class": "Cat", "fields": {"a_face": 0.6, "label": "a face", "n": 1}},
    {"id": 1, "path": "/c/dog/it's \"2\".jpg", "class": "dog", "fields": {"a_face": 0.2, "label": 'say "hi"\\'}},
    {"id": 2, "path": "/c/dög/3.png", "class": "dög", "fields": {"a_face": 0.99, "ok": True, "n": 1.0}},
    {"id": 3, "path": "/c/x/image_4.png", "class": None, "fields": {"n": "1", "l'k\\": "ünï"}},
    {"id": 4, "path": "/c/x/5%.png", "class": "", "fields": {"ok": False, "n": 0, "a_face": -0.0}},
]
MAPS = [  # filters Milvus evaluates by itself, with no id list
    "label:cat", "label:CAT OR label:\"a face\"", "class:D*", "class:dög", "NOT label:dog", "path:/c/x/",
    "path:*.png", "path:/c/d*", "path:dög", "a_face:[0.5 TO *]", "a_face:{0 TO 0.99}", "a_face < 0.5",
    "NOT a_face >= 0.5", "n:1", "n:1.0", "n:0", "ok:true", "ok:1", "NOT ok:false", "l'k\\:ÜNÏ", "label:*hi*",
    "(label:cat OR class:dog) AND NOT path:*1*", "path:*", "class:\"\"", "n:nan",
]
FALLS_BACK = ["path:image_4", "path:*5%*", "path:\"*[d]og*\"", "label:*\\*", "class:?at AND path:*_*"]


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    yield _version(tmp_path_factory.mktemp("milvus") / "f.db", ITEMS)
    milvus.close()


def _version(uri, items, name="f"):
    writer = milvus_writer.MilvusWriter(str(uri), name)
    vectors = np.tile(np.float32([[1.0, 0.0]]), (len(items), 1))
    modes = {"words": ("exact", ""), "features": ("exact", "")}
    written = writer.write(uri.parent / f"v-{len(items)}", vectors, vectors, items, trees=1, seed=0, progress=False,
                           modes=modes)
    data = IndexManifest(name=name, version="v", root=str(uri.parent), model="conse", backbone="b", words="w",
                         word_dim=2, feature_dim=2, count=len(items), n_trees=1, seed=0, files={},
                         search={"mode": "exact", "features": {"mode": "exact"}}, store=written["store"])
    return milvus.MilvusVersion(data, "re-index", "index 'f'")


def kept_by_milvus(version, text):
    hits = version.space("features").nearest_where([1.0, 0.0], version.count, filters.parse(text))
    return sorted(i for i, _ in hits)


@pytest.mark.parametrize("text", MAPS)
def test_what_maps_is_filtered_by_milvus_alone(version, text, monkeypatch):
    monkeypatch.setattr(version, "ids_where", lambda node: pytest.fail(f"fell back on {node.op} {node.field}"))
    assert kept_by_milvus(version, text) == filters.select(version.items, text).tolist()


@pytest.mark.parametrize("text", FALLS_BACK)
def test_what_does_not_map_falls_back_to_ids(version, text, monkeypatch):
    asked = []
    real = type(version).ids_where
    monkeypatch.setattr(version, "ids_where", lambda node: asked.append(node) or real(version, node))
    assert kept_by_milvus(version, text) == filters.select(version.items, text).tolist()
    assert asked


def test_a_collection_without_filter_fields_is_filtered_by_ids(version, monkeypatch):
    monkeypatch.setitem(version.store, "filters", None)
    assert version.space("features").nearest_where([1.0, 0.0], 5, filters.parse("label:cat")) is None
    assert version.field_names() is None


# Values as users write them: quotes, backslashes, line breaks, unicode; the filter language itself cannot hold
# a double quote inside a quoted value, so the filters use them only where a glob reaches them.
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6)
VALUE = TEXT.filter(lambda t: '"' not in t and t not in filter_tokens.KEYWORDS)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc"), blacklist_characters='()[]{}:<>"\x00\x85'),
               min_size=1, max_size=4).filter(lambda t: t not in filter_tokens.KEYWORDS | filters.BUILTIN and t.strip() == t)
SCALAR = st.one_of(TEXT, st.booleans(), st.integers(-3, 3), st.floats(-2, 2, allow_nan=False), st.none())
ROW = st.fixed_dictionaries({"path": TEXT.map(lambda t: "/p/" + t), "class": st.one_of(st.none(), TEXT),
                             "fields": st.dictionaries(st.sampled_from(["label", "k'\\", "ü"]), SCALAR, max_size=3)})


@st.composite
def condition(draw, rows):
    known = sorted({k for r in rows for k in r["fields"]}) or ["label"]
    pick = draw(st.sampled_from(["label", "class", "path", "glob", "field", "range", "cmp"]))
    value = draw(st.one_of(VALUE, st.sampled_from([str(r["fields"].get("label", "")) for r in rows]).filter(
        lambda t: '"' not in t and t not in filter_tokens.KEYWORDS)))
    if pick in ("label", "class", "path"):
        return f'{pick}:"{value}"'
    if pick == "glob":
        return f'{draw(st.sampled_from(["path", "label", "class"]))}:"{draw(st.sampled_from(["", "*"]))}{value}*"'
    field = draw(st.sampled_from(known))
    if pick == "field":
        return f'{field}:"{value}"'
    number = draw(st.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 3)))
    if pick == "range":
        return f"{field}:[{number} TO *]"
    return f"{field} {draw(st.sampled_from(['<', '<=', '>', '>=']))} {number}"


@st.composite
def case(draw):
    rows = [{**r, "id": i, "size": 1, "mtime_ns": 0} for i, r in enumerate(draw(st.lists(ROW, min_size=1, max_size=4)))]
    parts = draw(st.lists(condition(rows), min_size=1, max_size=3))
    joins = draw(st.lists(st.sampled_from([" AND ", " OR ", " AND NOT "]), min_size=len(parts), max_size=len(parts)))
    text = "".join(itertools.chain.from_iterable(zip(["", *joins[1:]], parts)))
    return rows, (f"NOT ({text})" if draw(st.booleans()) else text)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case())
def test_milvus_keeps_what_devise_keeps_whatever_the_text(tmp_path_factory, case):
    rows, text = case
    flt = filters.parse(text)
    version = _version(tmp_path_factory.mktemp("h") / "h.db", rows, name="h")
    try:
        expected = [item["id"] for item in version.items if flt.predicate(item)]  # the items as the store serves them
        assert kept_by_milvus(version, text) == expected, milvus_filter.expression(flt.tree, version.ids_where)
    finally:
        milvus.close(version.uri)
