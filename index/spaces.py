"""The two vector spaces of every index, named once (a light module: the CLI's options import it)."""

# Backbone features (image search, dedupe, walks) and the images projected into word space (text search, labels).
SPACES = ("features", "words")
