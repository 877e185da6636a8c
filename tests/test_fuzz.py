"""Property-based fuzzing (Hypothesis) of what reads text or bytes from outside: the query grammar and analyser,
the filter language, manifests and item lists, and the JSON API. Each input gives a result or one typed DeviseError (a
4xx answer from the server), never another exception and never a 500.

Bounded for CI: every test sets max_examples and deadline; docs/faults.md records the total number of examples.
"""
import json

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from devise.core.errors import DeviseError, QueryError, SearchIndexError, VocabularyError  # noqa: E402

FAST = settings(max_examples=300, deadline=5000, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FILES = settings(max_examples=100, deadline=5000, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
WEB = settings(max_examples=60, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
VOCAB = ["cat", "dog", "sofa", "beach", "sunset", "people", "hot", "t-shirt", "snow", "the", "of", "and"]
# Text made of the grammar's own pieces (operators, quotes, weights, brackets, keywords) and anything else.
QUERY_BITS = st.sampled_from(VOCAB + ["+", "-", '"', ":", ":2", ":-1", ":nan", ":inf", ":1e309", " ", "  ", "\t",
                                      "zqx", "é", "\0", "\n", "AND", "OR", "NOT", "(", ")", "[", "]", "TO", "*"])
QUERIES = st.one_of(st.text(max_size=80), st.lists(QUERY_BITS, max_size=20).map("".join))
# Known words apart, with weights, separators, quotes and operators: sentences, several things, arithmetic.
KNOWN_BITS = st.one_of(st.tuples(st.sampled_from(VOCAB), st.sampled_from(["", "", ":2", ":0.5", ":-1", ","])).map("".join),
                       st.sampled_from(["+", "-", '"', ",", "&"]))
SPACED_QUERIES = st.one_of(st.lists(QUERY_BITS, min_size=1, max_size=12).map(" ".join),
                           st.lists(KNOWN_BITS, min_size=1, max_size=10).map(" ".join))
FILTER_BITS = st.sampled_from(["label", "class", "path", "a_face", "size", ":", "cat", "*", "?", "[", "]", "TO",
                               "0.5", "-1", "1e999", "nan", "<", ">", "<=", ">=", "=", "AND", "OR", "NOT", "(",
                               ")", '"', " ", "\\", "\0", "é"])
FILTERS = st.one_of(st.text(max_size=80), st.lists(FILTER_BITS, max_size=25).map(" ".join),
                    st.lists(FILTER_BITS, max_size=25).map("".join))


@pytest.fixture(scope="module")
def small_words(tmp_path_factory):
    """Real WordVectors over a dozen words: the query code's own lookups, without GloVe's 400k rows."""
    from devise.data import word_convert, words

    directory = tmp_path_factory.mktemp("words") / "tiny"
    vectors = np.random.default_rng(0).normal(size=(len(VOCAB), 8)).astype(np.float32)
    word_convert.write(directory, "tiny", VOCAB, vectors, "test")
    return words._open(directory, "tiny")


@FAST
@given(QUERIES)
def test_any_query_parses_or_is_one_query_error(query):
    from devise.search.query import parse

    try:
        parts = parse(query)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc).strip("\n")
        return
    assert parts and all(part.elements for part in parts[-1:])


@FAST
@given(QUERIES)
def test_any_query_gives_a_unit_vector_or_one_typed_error(small_words, query):
    from devise.search.query import query_vector

    try:
        vector, used = query_vector(query, small_words)
    except (QueryError, VocabularyError):
        return
    assert used and np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1) < 1e-3


@FAST
@given(st.one_of(QUERIES, SPACED_QUERIES))
def test_any_query_is_analysed_into_unit_things_or_one_typed_error(small_words, query):
    """What search, walk and the web page read: sentences, separators, compounds, weights and arithmetic."""
    from devise.search.analyser import analyse

    try:
        analysis = analyse(query, small_words, phrases=["hot dog", "sofa cat"])
    except (QueryError, VocabularyError) as exc:
        assert str(exc) and "\n" not in str(exc).strip("\n")
        return
    assert analysis.terms and analysis.used
    for term in analysis.terms:
        assert term.words and np.isfinite(term.weight)
        assert np.isfinite(term.unit_vector).all() and abs(float(np.linalg.norm(term.unit_vector)) - 1) < 1e-3
    json.dumps(analysis.to_dict())


ITEMS = [{"id": i, "path": f"/photos/{name}.jpg", "class": cls, "size": 100 + i, "mtime_ns": 0,
          "fields": {"a_face": i / 10, "label": cls}} for i, (name, cls) in
         enumerate([("a", "cat"), ("b", "dog"), ("c", "cat"), ("d", "hot dog"), ("e", "")])]


@FAST
@given(FILTERS)
def test_any_filter_selects_or_is_one_query_error(text):
    from devise.index.filters import select

    try:
        ids = select(ITEMS, text)
    except QueryError as exc:
        assert str(exc)
        return
    assert set(ids.tolist()) <= set(range(len(ITEMS))) and list(ids) == sorted(ids)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=12)
MANIFEST_KEYS = ["format_version", "kind", "name", "version", "model", "backbone", "words", "root", "metric",
                 "word_dim", "feature_dim", "n_trees", "seed", "count", "search", "files", "counts", "seen_margin"]
MANIFESTS = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.sampled_from(MANIFEST_KEYS), JSON_VALUES, max_size=len(MANIFEST_KEYS)).map(
        lambda d: json.dumps({"format_version": 1, "kind": "index", **d}).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()))


@FILES
@given(MANIFESTS)
def test_any_manifest_bytes_give_a_manifest_or_one_typed_error(tmp_path, data):
    from devise.core import manifest
    from devise.core.errors import ModelError
    from devise.core.index_manifest import IndexManifest
    from devise.core.manifest import ModelManifest
    from devise.index.checked_manifest import read_checked

    (tmp_path / "manifest.json").write_bytes(data)
    try:
        read = manifest.read(tmp_path, "index")
    except DeviseError:
        read = None
    assert read is None or isinstance(read, dict)
    peeked = manifest.peek(tmp_path)
    assert peeked is None or isinstance(peeked, dict)
    if peeked is not None:  # the same fields as a model's: a ModelManifest or one ModelError
        try:
            model = ModelManifest.parse(peeked)
        except ModelError as exc:
            assert "\n" not in str(exc)
        else:
            assert model.word_dim >= 1 and ModelManifest.parse(model.to_dict()) == model
    try:
        checked = read_checked("photos", tmp_path)
    except SearchIndexError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(checked.count, int) and checked.count >= 1
    assert IndexManifest.parse(checked.to_dict()) == checked


VALID_INDEX = {"format_version": 1, "kind": "index", "name": "photos", "version": "v-1", "model": "conse",
               "backbone": "fake", "words": "glove-6b-50d", "root": "/photos", "metric": "angular", "word_dim": 50,
               "feature_dim": 48, "n_trees": 20, "seed": 0, "count": 3,
               "search": {"method": "auto", "mode": "exact", "reason": "small", "search_k": 500,
                          "features": {"mode": "exact", "reason": "small", "search_k": 480}},
               "files": {}, "counts": {"items": 3, "embedded": 3}, "store": {"kind": "annoy"}}
# Near-valid manifests: one or more fields replaced by plausible or arbitrary values, and unknown fields added.
FIELD_VALUES = st.one_of(JSON_VALUES, st.integers(-2, 3), st.sampled_from(["exact", "annoy", "angular", "auto", ""]),
                         st.fixed_dictionaries({"mode": st.sampled_from(["exact", "annoy", "hnsw", 5]),
                                                "features": st.fixed_dictionaries({"mode": st.sampled_from(["exact", "x"])})}))
NEAR_VALID = st.dictionaries(st.sampled_from([*MANIFEST_KEYS, "noise", "extra_field"]), FIELD_VALUES, max_size=3).map(
    lambda d: {**VALID_INDEX, **d})


@FILES
@given(NEAR_VALID)
def test_near_valid_index_manifests_round_trip_or_give_one_typed_error(tmp_path, data):
    from devise.core.index_manifest import IndexManifest
    from devise.index.checked_manifest import read_checked

    (tmp_path / "manifest.json").write_text(json.dumps(data))
    try:
        checked = read_checked("photos", tmp_path)
    except SearchIndexError as exc:
        assert "\n" not in str(exc) and "manifest.json" in str(exc)
        return
    assert checked.to_dict() == {**{k: None for k in ("created", "model_fingerprint", "backbone_fingerprint",
                                                       "seen_margin", "noise", "store")}, **data}
    assert IndexManifest.parse(checked.to_dict()) == checked and checked.count >= 1


@FILES
@given(st.binary(max_size=400), st.one_of(st.binary(max_size=200), st.lists(st.integers(-5, 500), max_size=8)),
       st.integers(0, 6))
def test_any_item_list_bytes_give_items_or_one_typed_error(tmp_path, items_bytes, offsets, count):
    from devise.index.items import ITEMS as ITEMS_FILE
    from devise.index.items import OFFSETS, Items

    (tmp_path / ITEMS_FILE).write_bytes(items_bytes)
    if isinstance(offsets, bytes):
        (tmp_path / OFFSETS).write_bytes(offsets)
    else:
        np.save(tmp_path / OFFSETS, np.asarray(offsets, np.int64))
    try:
        items = Items(tmp_path, count)
        listed = list(items)
        found = items.find("/photos/a.jpg")
    except SearchIndexError:
        return
    assert len(listed) == count and (found is None or 0 <= found < count)


# The JSON API, on a small index: any parameters and bodies answer 200 or 4xx, never 500.
ENDPOINTS = ["/api/search", "/api/similar", "/api/tag", "/api/dedupe", "/api/walk", "/api/indexes", "/thumb/0",
             "/thumb/99", "/"]
PARAM_NAMES = ["q", "index", "top", "filter", "feedback", "id", "labels", "threshold", "like", "query", "start",
               "limit", "space", "size", "v"]
PARAM_VALUES = st.one_of(st.text(max_size=30), st.sampled_from(
    ["0", "1", "-1", "nan", "inf", "1e999", "0.5", "99999999999999999999", "red", "features", "words", "patterns",
     "label:red", "(((", "\0", "..", "/etc/passwd", "256", "512"]))


@pytest.fixture
def api(dup_index, monkeypatch, tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from devise.web.app import create_app

    monkeypatch.chdir(tmp_path)  # a relative path in a request resolves here, never in the repository
    client = TestClient(create_app(token="t", allow_edits=True), base_url="http://127.0.0.1:8765",
                        raise_server_exceptions=False)
    assert client.get("/api/search", params={"q": "black"}).status_code == 200
    return client


def _answered(got):
    assert got.status_code < 500, (got.status_code, got.text[:300])
    if got.status_code >= 400 and got.headers.get("content-type", "").startswith("application/json"):
        assert set(got.json()) == {"error"} and "\n" not in got.json()["error"]


@WEB
@given(st.sampled_from(ENDPOINTS), st.dictionaries(st.sampled_from(PARAM_NAMES), PARAM_VALUES, max_size=5))
def test_any_query_string_answers_200_or_4xx(api, endpoint, params):
    _answered(api.get(endpoint, params=params))


BODIES = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.dictionaries(st.sampled_from(["index", "paths", "threshold", "filter", "query", "like"]),
                    st.one_of(PARAM_VALUES, JSON_VALUES), max_size=4).map(json.dumps),
    st.text(max_size=60),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n))


@WEB
@given(st.sampled_from(["/api/items", "/api/dedupe/delete"]), BODIES)
def test_any_json_body_answers_200_or_4xx(api, url, body):
    _answered(api.post(url, content=body.encode("utf-8", "surrogatepass"),
                       headers={"X-Devise-Token": "t", "Content-Type": "application/json"}))

