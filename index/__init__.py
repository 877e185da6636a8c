"""Searchable collections: versioned Annoy/exact indexes over images in word space and feature space.

`devise.build_index(...)` is the public entry point; `index.store.open_index`
opens a built one for the layers above.
"""
