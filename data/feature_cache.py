"""Per-backbone, per-recipe feature cache keyed by (path, size, mtime).

Each embedded batch is committed as it finishes, so an interrupted run
resumes where it stopped, and a re-run only embeds files whose size or
mtime changed. Bad files are cached too (with their error), so re-runs
report them without decoding them again.

bench/curate_common.py reads the `features` table with plain SQL: its
file name and columns are part of the interface.
"""
import numpy as np

from devise.core.home import subdir
from devise.data.file_cache import FileCache

TABLE = "features"
COLUMNS = (("features", "BLOB"), ("logits", "BLOB"))

# The id of the preprocessing recipe (models/backbones/preprocessing.py) names the file, so
# features made from differently prepared pixels are never mixed. "prep3" is the full centre
# square, resized bilinearly: the only recipe before recipes had ids, so its files keep their name.
FULL_SQUARE_RECIPE_ID = "prep3"


class FeatureCache:
    def __init__(self, fingerprint: str, path=None, *, recipe_id: str = FULL_SQUARE_RECIPE_ID):
        self.path = path or subdir("cache", "features") / f"{fingerprint}-{recipe_id}.sqlite"
        self._cache = FileCache(self.path, TABLE, COLUMNS)

    def lookup(self, paths):
        """Return {path: (features, logits) or error string} for entries still fresh."""
        found = self._cache.lookup(paths)
        for path, entry in found.items():
            if not isinstance(entry, str):
                feats, logits = entry
                found[path] = (np.frombuffer(feats, np.float32), np.frombuffer(logits, np.float16))
        return found

    def store(self, entries):
        """entries: iterable of (path, features or None, logits or None, error or None); one commit."""
        self._cache.store(
            (path, error) if error is not None else
            (path, (np.asarray(feats, np.float32).tobytes(), np.asarray(logits, np.float16).tobytes()))
            for path, feats, logits, error in entries)

    def close(self):
        self._cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
