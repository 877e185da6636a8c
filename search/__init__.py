"""Search side: tagging, text and image search, nearest words, curation tools.

    import search
    search.search("beach + sunset - people", index="holidays", top=10)
    search.similar("holidays/IMG_0042.jpg", top=5)
    search.words("said")

Names resolve lazily: importing this package loads nothing heavy, and a
text search never imports TensorFlow.
"""
from core.lazy import lazy_exports

_EXPORTS = {
    "search": ("search.text", "search"),
    "similar": ("search.image", "similar"),
    "words": ("search.nearest_words", "words"),
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports("search", _EXPORTS)
