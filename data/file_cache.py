"""Facts about files, cached in SQLite and keyed by (path, size, mtime_ns).

One row per file: its size and mtime when the facts were computed, an
error message (for a file that could not be read, so a re-run reports it
without decoding it again) or the facts themselves in the value columns.
A row whose file has since changed size or mtime is never returned.

SQLite gives atomic, durable commits, so an interrupted run keeps every
batch it stored, and WAL mode lets a reader and a writer share the file.

The cache is only a cache: a file SQLite cannot read (corrupt, or not a
database at all) is moved aside to `<name>.corrupt` with a one-line
warning and a fresh cache starts in its place. On a home that cannot be
written (read-only, or not the user's) the cache is read as it is and new
rows are kept in memory, with one warning; a full disk is a StorageError,
so that a long run stops at once with what it has committed kept.
"""
import contextlib
import os
import sqlite3
import urllib.parse
from pathlib import Path

from devise.core.home import FULL, storage_error, storage_state
from devise.core.progress import warn
from devise.core.text import key_path, path_key

# Older SQLite builds allow at most 999 host parameters per statement.
LOOKUP_CHUNK = 500
# SQLITE_CORRUPT and SQLITE_NOTADB (low byte of the result code): the file's contents are damaged,
# as opposed to busy, locked or unwritable, which moving the file aside would not fix.
CORRUPT_CODES = {11, 26}
KEY_COLUMNS = (("path", "TEXT PRIMARY KEY"), ("size", "INTEGER"), ("mtime_ns", "INTEGER"), ("error", "TEXT"))


def file_key(path):
    """(size, mtime_ns) of `path`; raises OSError when it is gone."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def is_corrupt(exc):
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in CORRUPT_CODES
    # Python before 3.11 gives no code; OperationalError is the busy/locked/unwritable family.
    return not isinstance(exc, sqlite3.OperationalError)


class FileCache:
    """A SQLite table of per-file values: `columns` are (name, SQL type) pairs after the key columns."""

    def __init__(self, path, table, columns):
        self.path, self.table = Path(path), table
        self.columns = tuple(name for name, _ in columns)
        defs = ", ".join(f"{name} {kind}" for name, kind in KEY_COLUMNS + tuple(columns))
        self._create = f"CREATE TABLE IF NOT EXISTS {table} ({defs})"
        self._select = f"SELECT path, size, mtime_ns, error, {', '.join(self.columns)} FROM {table} WHERE path IN "
        self._insert = f"INSERT OR REPLACE INTO {table} VALUES ({','.join('?' * (4 + len(self.columns)))})"
        self.db = None
        self.unsaved = None  # {key: row} of rows that could not be written, on a home that cannot be written
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            if not self._cannot_write(exc):
                self._start_fresh(exc)

    def _open(self):
        self.db = sqlite3.connect(str(self.path), timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(self._create)

    def _cannot_write(self, exc) -> bool:
        """True (now reading the file as it is) when `exc` says the disk is read-only; a full disk raises."""
        state = storage_state(exc, self.path)
        if state is None:
            return False
        if state == FULL:
            raise storage_error(exc, self.path) from None
        if self.db is not None:
            self.db.close()
        self.db = None
        if self.path.exists():
            # immutable: SQLite may not create the journal and shared-memory files beside it.
            with contextlib.suppress(sqlite3.DatabaseError):
                self.db = sqlite3.connect(f"file:{urllib.parse.quote(str(self.path))}?mode=ro&immutable=1", uri=True)
        self.unsaved, self._why_unsaved = {}, state
        return True

    def _start_fresh(self, exc):
        if not is_corrupt(exc):
            raise exc
        if self.db is not None:
            self.db.close()
        aside = self.path.with_name(self.path.name + ".corrupt")
        # The -wal and -shm files belong to the damaged database; a fresh one must not replay them.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{self.path}{suffix}"):
                os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
        warn(f"{self.path}: cache is unreadable ({exc}); moved it to {aside.name} and starting a fresh one.")
        self._open()

    def lookup(self, paths):
        """{path: tuple of column values, or error string} for the paths whose cached row is still fresh."""
        paths = list(paths)
        try:
            return self._lookup(paths)
        except sqlite3.DatabaseError as exc:
            self._start_fresh(exc)
            return {}

    def _rows(self, paths):
        for start in range(0, len(paths) if self.db is not None else 0, LOOKUP_CHUNK):
            chunk = paths[start:start + LOOKUP_CHUNK]
            yield from self.db.execute(self._select + f"({','.join('?' * len(chunk))})", [path_key(p) for p in chunk])
        if self.unsaved:
            yield from (self.unsaved[key] for key in map(path_key, paths) if key in self.unsaved)

    def _lookup(self, paths):
        found = {}
        for key, size, mtime_ns, error, *values in list(self._rows(paths)):
            path = key_path(key)
            try:
                if (size, mtime_ns) != file_key(path):
                    continue
            except OSError:
                continue
            found[path] = error if error is not None else tuple(values)
        return found

    def store(self, entries):
        """Save (path, values tuple or error string) pairs in one transaction; vanished files are skipped."""
        rows = []
        for path, value in entries:
            try:
                size, mtime_ns = file_key(path)
            except OSError:
                continue
            if isinstance(value, str):
                rows.append((path_key(path), size, mtime_ns, value) + (None,) * len(self.columns))
            else:
                rows.append((path_key(path), size, mtime_ns, None, *value))
        if not rows:
            return
        try:
            self._insert_rows(rows)
        except sqlite3.DatabaseError as exc:
            if not self._cannot_write(exc):
                self._start_fresh(exc)
            self._insert_rows(rows)

    def _insert_rows(self, rows):
        if self.unsaved is not None:
            if not self.unsaved:
                warn(f"{self.path}: cannot be written (the disk is {self._why_unsaved}); what is computed now is "
                     f"kept in memory only, and computed again next time.")
            self.unsaved.update((row[0], row) for row in rows)
            return
        with self.db:
            self.db.executemany(self._insert, rows)

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
