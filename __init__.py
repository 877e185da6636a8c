"""devise: DeViSE-style joint image/word embeddings, tagging, search and curation.

One function per command-line verb; each takes keyword-only options after
its one or two obvious positional arguments and returns a small result
dataclass with `to_dict()` (the command line's `--json`):

    import devise
    devise.build_index("photos/", name="holidays")
    hits = devise.search("beach + sunset - people", index="holidays", top=5)
    for hit in hits.results:
        print(hit.score, hit.path)

Every name resolves lazily: `import devise` loads neither NumPy-heavy code
nor TensorFlow. Errors are `devise.DeviseError` subclasses whose message
is one complete sentence.
"""
from devise.core.errors import (
    BackboneError,
    BadImageError,
    DataError,
    DeviseError,
    EngineError,
    GenerateError,
    ModelError,
    OutputError,
    QueryError,
    SearchIndexError,
    VocabularyError,
    WordVectorsError,
)
from devise.core.lazy import lazy_exports

__version__ = "0.1.0"

_VERBS = {
    "evaluate": ("devise.train.evaluation", "evaluate"),
    "classify": ("devise.models.classify", "classify"),
    "tag": ("devise.search.tag", "tag"),
    "build_index": ("devise.index.builder", "build_index"),
    "indexes": ("devise.index.store", "list_indexes"),
    "export_index": ("devise.index.export", "export_index"),
    "similar": ("devise.search.image", "similar"),
    "words": ("devise.search.nearest_words", "words"),
    "score": ("devise.search.score", "score"),
    "slices": ("devise.search.slice_report", "slices"),
    "dedupe": ("devise.curate.dedupe", "dedupe"),
    "restore_removed": ("devise.curate.dedupe", "restore_removed"),
    "label": ("devise.curate.labels", "label"),
    "walk": ("devise.curate.walk", "walk"),
    "make_map": ("devise.curate.maps", "make_map"),
    "generate": ("devise.data.generate", "generate"),
    "demo": ("devise.demo", "demo"),
    "set_home": ("devise.core.home", "set_home"),
}
# `train` and `search` are also subpackages; importing them makes them callable verbs.
_VERB_PACKAGES = ("train", "search")

__all__ = [
    *_VERBS, *_VERB_PACKAGES,
    "DeviseError", "BadImageError", "DataError", "VocabularyError", "WordVectorsError", "BackboneError",
    "ModelError", "SearchIndexError", "QueryError", "GenerateError", "OutputError", "EngineError",
]

_lazy = lazy_exports(__name__, _VERBS)


def __getattr__(name):
    if name in _VERB_PACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    return _lazy(name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
