"""Search: text and image queries, tags, nearest words, alignment and slices. `devise.search(...)` runs a text search."""
from devise.core.lazy import verb_package

verb_package(__name__, "devise.search.text", "search")
