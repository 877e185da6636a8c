"""Helpers for the curation benchmarks: linked dataset copies that reuse the feature cache."""
import os
import sqlite3
from pathlib import Path

import common  # noqa: F401 (puts the repo on sys.path)


def make_copy(src_root, name, classes=None, exclude=(), symlink=False):
    """DEVISE_HOME/bench/NAME: the class folders of src_root (all, or `classes`), as hard links or symlinks."""
    from devise.core.home import subdir

    src_root, dst = Path(src_root), subdir("bench", name)
    for cls in sorted(classes or os.listdir(src_root)):
        if cls in exclude or not (src_root / cls).is_dir():
            continue
        (dst / cls).mkdir(exist_ok=True)
        for fname in sorted(os.listdir(src_root / cls)):
            target = dst / cls / fname
            if target.exists():
                continue
            if symlink:
                target.symlink_to(src_root / cls / fname)
            else:
                os.link(src_root / cls / fname, target)
    return dst


def seed_feature_cache(src_root, root):
    """Copy cached features of src_root's files to their links under root.

    A hard link or symlink has the original's bytes, size and mtime, so the
    entry is exactly what embedding it again would give; the cache is keyed
    by path, so without this every linked copy would be embedded again.
    """
    from devise.core.home import subdir

    src_root, root = Path(src_root), Path(root)
    for db_path in subdir("cache", "features").glob("*.sqlite"):
        db = sqlite3.connect(str(db_path))
        rows = db.execute("SELECT path, size, mtime_ns, error, features, logits FROM features WHERE path LIKE ?",
                          (f"{src_root}/%",)).fetchall()
        moved = [(str(root / os.path.relpath(p, src_root)), *rest) for p, *rest in rows
                 if (root / os.path.relpath(p, src_root)).exists()]
        with db:
            db.executemany("INSERT OR IGNORE INTO features VALUES (?,?,?,?,?,?)", moved)
        db.close()
