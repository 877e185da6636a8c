"""devise: DeViSE-style joint image/word embeddings, tagging, search and curation.

One function per command-line verb; each takes keyword-only options after
its one or two obvious positional arguments and returns a small result
dataclass with `to_dict()` (the command line's `--json`):

    import devise
    devise.build_index("photos/", name="holidays")
    holidays = devise.open_index("holidays")      # a handle, as Annoy's AnnoyIndex
    for hit in holidays.search("beach + sunset - people", top=5):
        print(hit.score, hit.path)
    devise.search("dog", index="holidays")        # the same verbs as functions

Every name resolves lazily: `import devise` loads neither NumPy-heavy code
nor TensorFlow. Errors are `devise.DeviseError` subclasses whose message
is one complete sentence.
"""
import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # what the lazy names below resolve to, for IDEs and type checkers; never imported at run time
    from devise.core.home import set_home as set_home
    from devise.curate.dedupe import dedupe as dedupe
    from devise.curate.dedupe import restore_removed as restore_removed
    from devise.curate.labels import label as label
    from devise.curate.maps import make_map as make_map
    from devise.curate.score import score as score
    from devise.curate.slice_report import slices as slices
    from devise.curate.walk import walk as walk
    from devise.demo import demo as demo
    from devise.generation.generate import generate as generate
    from devise.handle import Index as Index
    from devise.handle import open_index as open_index
    from devise.index.builder import build_index as build_index
    from devise.index.export import export_index as export_index
    from devise.index.store import list_indexes as indexes  # noqa: F401 (exported as `indexes`)
    from devise.models.classify import classify as classify
    from devise.search.image import similar as similar
    from devise.search.nearest_words import words as words
    from devise.search.tag import tag as tag
    from devise.search.text import search as search
    from devise.train.config import TrainConfig as TrainConfig
    from devise.train.evaluation import evaluate as evaluate
    from devise.train.run import train as train

__version__ = "0.1.0"

_VERBS = {
    "evaluate": ("devise.train.evaluation", "evaluate"),
    "TrainConfig": ("devise.train.config", "TrainConfig"),
    "classify": ("devise.models.classify", "classify"),
    "tag": ("devise.search.tag", "tag"),
    "build_index": ("devise.index.builder", "build_index"),
    "indexes": ("devise.index.store", "list_indexes"),
    "export_index": ("devise.index.export", "export_index"),
    "similar": ("devise.search.image", "similar"),
    "words": ("devise.search.nearest_words", "words"),
    "score": ("devise.curate.score", "score"),
    "slices": ("devise.curate.slice_report", "slices"),
    "dedupe": ("devise.curate.dedupe", "dedupe"),
    "restore_removed": ("devise.curate.dedupe", "restore_removed"),
    "label": ("devise.curate.labels", "label"),
    "walk": ("devise.curate.walk", "walk"),
    "make_map": ("devise.curate.maps", "make_map"),
    "generate": ("devise.generation.generate", "generate"),
    "demo": ("devise.demo", "demo"),
    "open_index": ("devise.handle", "open_index"),
    "Index": ("devise.handle", "Index"),
    "set_home": ("devise.core.home", "set_home"),
}
# `train` and `search` are also subpackages; importing them makes them callable verbs.
_VERB_PACKAGES = ("train", "search")

__all__ = [
    *_VERBS, *_VERB_PACKAGES,
    "DeviseError", "BadImageError", "DataError", "VocabularyError", "WordVectorsError", "BackboneError",
    "ModelError", "SearchIndexError", "QueryError", "GenerateError", "OutputError", "EngineError",
]


def __getattr__(name: str) -> Any:
    """A verb's function, imported when first used (PEP 562): the one place devise defers its own modules."""
    if name in _VERB_PACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _VERBS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _VERBS[name]
    return getattr(importlib.import_module(module), attr)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
