"""Faults the operating system gives, made to happen inside one devise process (bench/fault_cases_io.py).

Copied as `sitecustomize.py` into a folder on the case's PYTHONPATH, so it runs
before devise starts; the fault comes from DEVISE_FAULT. tests/test_faults_io.py calls
install() in its own process and undoes it with the function install() returns.

    deny:PATH     PATH cannot be listed or opened (EACCES), as after chmod 000 for anyone but root
    erofs:ROOT    every write under ROOT fails as on a read-only file system (EROFS)
    enospc:ROOT   every new write under ROOT fails as on a full disk (ENOSPC)

Root ignores permission bits and may not be allowed to mount a small or
read-only file system; this gives every case the same fault on any machine.
SQLite writes through its own code: under erofs it opens read-only, under
enospc it answers "database or disk is full"; os.statvfs agrees with the fault.
"""
import builtins
import errno
import os
import sqlite3
import urllib.parse

CODES = {"deny": errno.EACCES, "erofs": errno.EROFS, "enospc": errno.ENOSPC}


def _under(root):
    def under(path):
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False
        real = os.path.realpath(os.fsdecode(path))
        return real == root or real.startswith(root + os.sep)
    return under


def install(spec):
    """Make the fault `spec` ("kind:PATH") happen in this process; returns a function that takes it away."""
    kind, _, root = spec.partition(":")
    code, root = CODES[kind], os.path.realpath(root)
    under = _under(root)
    real_os_open, real_open, real_mkdir, real_scandir = os.open, builtins.open, os.mkdir, os.scandir
    real_connect, real_statvfs = sqlite3.connect, os.statvfs

    def failure(path):
        return OSError(code, os.strerror(code), os.fsdecode(path))

    def refused(path, writing, new_data):
        if kind == "deny":
            return under(path)
        # A full disk still opens an existing file for appending (a lock file); only new data fails.
        return under(path) and writing and (kind == "erofs" or new_data or not os.path.exists(path))

    def os_open(path, flags, *args, **kwargs):
        if refused(path, flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT), flags & os.O_TRUNC):
            raise failure(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if refused(file, any(c in mode for c in "wax+"), any(c in mode for c in "wx")):
            raise failure(file)
        return real_open(file, mode, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if kind != "deny" and under(path) and not os.path.isdir(path):
            raise failure(path)
        return real_mkdir(path, *args, **kwargs)

    def scandir(path="."):
        if kind == "deny" and under(path):
            raise failure(path)
        return real_scandir(path)

    def statvfs(path):
        st = real_statvfs(path)
        if kind == "deny" or not under(path):
            return st
        fields = list(st)
        if kind == "erofs":
            fields[8] |= os.ST_RDONLY
        else:
            fields[4] = fields[5] = 0
        return os.statvfs_result(fields)

    class FullDatabase(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith(("INSERT", "CREATE", "PRAGMA JOURNAL")):
                full = sqlite3.OperationalError("database or disk is full")
                full.sqlite_errorcode = 13
                raise full
            return super().execute(sql, *args)

        def executemany(self, sql, *args):
            return self.execute(sql, *args)

    def connect(database, *args, **kwargs):
        if kind == "deny" or not under(database):
            return real_connect(database, *args, **kwargs)
        if kind == "erofs":
            kwargs.pop("uri", None)
            return real_connect(f"file:{urllib.parse.quote(os.fsdecode(database))}?mode=ro", *args, uri=True, **kwargs)
        return real_connect(database, *args, factory=FullDatabase, **kwargs)

    os.open, builtins.open, os.mkdir, os.scandir, os.statvfs = os_open, open_, mkdir, scandir, statvfs
    sqlite3.connect = connect

    def undo():
        os.open, builtins.open, os.mkdir, os.scandir = real_os_open, real_open, real_mkdir, real_scandir
        os.statvfs, sqlite3.connect = real_statvfs, real_connect
    return undo


if os.environ.get("DEVISE_FAULT"):
    install(os.environ["DEVISE_FAULT"])
