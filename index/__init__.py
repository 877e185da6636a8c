"""Searchable collections: Annoy indexes over images in word space and feature space.

    from index import build, open_index, list_indexes
    summary = build("photos/", model="models/caltech")   # or model="conse"

Names resolve lazily so that `import index` costs nothing; `index.builder`
(which needs the projector and, for new images, TensorFlow) loads only on
`index.build`.
"""
from core.lazy import lazy_exports

_EXPORTS = {
    "build": ("index.builder", "build"),
    "open_index": ("index.store", "open_index"),
    "list_indexes": ("index.store", "list_indexes"),
    "remove_items": ("index.edit", "remove_items"),
    "set_fields": ("index.edit", "set_fields"),
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports("index", _EXPORTS)
