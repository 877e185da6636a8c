"""Per-backbone feature cache keyed by (path, size, mtime).

SQLite gives atomic, durable commits: each embedded batch is committed as it
finishes, so an interrupted run resumes where it stopped, and a re-run only
embeds files whose size or mtime changed. Bad files are cached too (with
their error), so re-runs report them without decoding them again.
"""
import os
import sqlite3

import numpy as np

from devise.core.home import subdir

SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,
    error TEXT, features BLOB, logits BLOB
)"""


# Bumped whenever decoding or resizing changes, so stale features are never mixed in.
PREPROCESS_VERSION = 2


def file_key(path):
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


class FeatureCache:
    def __init__(self, fingerprint: str, path=None):
        self.path = path or subdir("cache", "features") / f"{fingerprint}-prep{PREPROCESS_VERSION}.sqlite"
        self.db = sqlite3.connect(str(self.path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)

    def lookup(self, paths):
        """Return {path: (features, logits) or error string} for entries still fresh."""
        found = {}
        cur = self.db.cursor()
        for start in range(0, len(paths), 500):
            chunk = paths[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = cur.execute(f"SELECT path, size, mtime_ns, error, features, logits FROM features WHERE path IN ({marks})", chunk)
            for path, size, mtime, error, feats, logits in rows:
                try:
                    if (size, mtime) != file_key(path):
                        continue
                except OSError:
                    continue
                if error is not None:
                    found[path] = error
                else:
                    found[path] = (np.frombuffer(feats, np.float32), np.frombuffer(logits, np.float16))
        return found

    def store(self, entries):
        """entries: iterable of (path, features or None, logits or None, error or None); one commit."""
        rows = []
        for path, feats, logits, error in entries:
            try:
                size, mtime = file_key(path)
            except OSError:
                continue
            rows.append((path, size, mtime, error,
                         None if feats is None else np.asarray(feats, np.float32).tobytes(),
                         None if logits is None else np.asarray(logits, np.float16).tobytes()))
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO features VALUES (?,?,?,?,?,?)", rows)

    def close(self):
        self.db.close()
