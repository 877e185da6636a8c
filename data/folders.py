"""Scan an image folder: one subfolder per class gives labels, a flat folder gives none.

Every regular file is considered, so that non-images (Caltech-101's
`BACKGROUND_Google/tmp`, a `notes.txt`) are reported and counted rather than
silently ignored. Sidecar files that devise itself writes are skipped quietly.

Symlinks are followed, but each real directory and each real file is listed
once: a photo reached by two paths (`favourites -> 2023`, a hard link) is one
image, not a pair of duplicates for `devise dedupe` to move, and a link back
up the tree (`sub/loop -> ..`) is not walked round forever. A real path wins
over a symlinked one, so labels and the paths stored in an index name the
folder the file actually lives in.
"""
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from devise.core.errors import DataError
from devise.core.progress import warn as print_warning
from devise.data.images import IMAGE_SUFFIXES, not_regular

QUIET_FILES = {"metadata.jsonl", "manifest.json", "labels.txt", "README.md", "README.txt", "Thumbs.db"}


@dataclass
class ImageFolder:
    root: Path
    paths: list = field(default_factory=list)    # absolute str paths of candidate images
    classes: list = field(default_factory=list)  # class folder name per path, or None
    skipped: list = field(default_factory=list)  # (path, reason) for files left out: non-images, broken links, aliases
    unreadable: list = field(default_factory=list)  # folders that could not be listed, so their images are missing

    @property
    def labelled(self) -> bool:
        return bool(self.paths) and all(c is not None for c in self.classes)

    def class_names(self):
        return sorted({c for c in self.classes if c is not None})

    def by_class(self):
        groups = {}
        for path, cls in zip(self.paths, self.classes):
            groups.setdefault(cls, []).append(path)
        return groups

    def subset(self, keep):
        """A new ImageFolder holding only the indices in `keep`."""
        return ImageFolder(self.root, [self.paths[i] for i in keep], [self.classes[i] for i in keep], [],
                           list(self.unreadable))


def _identity(st):
    return st.st_dev, st.st_ino


def _subfolders(dirnames, at_root, excluded):
    """The subfolders worth walking, sorted: no hidden ones, no excluded top-level classes."""
    return sorted(d for d in dirnames if not d.startswith(".") and not (at_root and d.lower() in excluded))


def _real_folders(root, excluded):
    """{(st_dev, st_ino): path} of the folders reachable from `root` without following a symlink."""
    found = {}
    for dirpath, dirnames, _ in os.walk(root):
        try:
            found.setdefault(_identity(os.stat(dirpath)), dirpath)
        except OSError:
            continue
        dirnames[:] = _subfolders(dirnames, dirpath == str(root), excluded)
    return found


def _follow(dirpath, names, seen, real, warn):
    """The subfolders of `dirpath` not walked yet; a symlink to a real folder is left to that folder's own path."""
    kept = []
    for name in names:
        path = os.path.join(dirpath, name)
        try:
            key = _identity(os.stat(path))
        except OSError:
            continue  # vanished or unreadable; os.walk could not list it either
        other = seen.get(key) or (real.get(key) if os.path.islink(path) else None)
        if other is None:
            seen[key] = path
            kept.append(name)
            continue
        target = os.path.realpath(path)
        here = os.path.realpath(dirpath)
        if warn and (here == target or here.startswith(target.rstrip(os.sep) + os.sep)):
            print_warning(f"{path}: symlink to {target}, a folder that contains it; not followed, as it would "
                          f"list the same images again and again.")
        elif warn:
            print_warning(f"{path}: same folder as {other}; its images are listed once, under {other}.")
    return kept


def _walk(root, excluded, warn, on_error=None):
    """os.walk(root, followlinks=True) that enters each real folder once, warning about the links it does not follow.

    `on_error(path, OSError)` hears of each folder that could not be listed (os.walk skips it).
    """
    real = _real_folders(root, excluded)
    seen = {_identity(os.stat(root)): str(root)}
    onerror = None if on_error is None else (lambda exc: on_error(exc.filename, exc))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        at_root = dirpath == str(root)
        dirnames[:] = _follow(dirpath, _subfolders(dirnames, at_root, excluded), seen, real, warn)
        yield dirpath, filenames


def scanned_folders(root, exclude=()) -> list:
    """The real paths of the folders `scan(root)` walks: a folder inside one of them is part of the scan."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        return [str(root)]
    return [os.path.realpath(dirpath) for dirpath, _ in _walk(root, {e.lower() for e in exclude}, warn=False)]


def scan(root, exclude=(), warn=True) -> ImageFolder:
    """List images under `root` recursively; the first path component is the class."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass a folder of images (one subfolder per class for training).")
    found = ImageFolder(root.resolve())
    candidates = []  # (path, class, identity or None, is a symlink)

    def skip(path, reason):
        found.skipped.append((path, reason))
        if warn:
            print_warning(f"{path}: {reason}; skipped.")

    def unlistable(path, exc):
        found.unreadable.append(str(path))
        what = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
        skip(path, f"folder cannot be listed ({what}), so none of its images are included")

    for dirpath, filenames in _walk(found.root, {e.lower() for e in exclude}, warn, unlistable):
        rel = Path(dirpath).relative_to(found.root)
        top = rel.parts[0] if rel.parts else None
        for name in sorted(filenames):
            if name.startswith(".") or name in QUIET_FILES:
                continue
            path = os.path.join(dirpath, name)
            link = os.path.islink(path)
            try:
                st = os.stat(path)
            except OSError:
                if link:
                    skip(path, f"broken symlink (to {os.readlink(path)})")
                    continue
                key = None  # unreadable: listed, so that the image reader reports it with the reason
            else:
                if not stat.S_ISREG(st.st_mode):
                    # A FIFO would block the reader; a device could be read forever.
                    skip(path, not_regular(st.st_mode))
                    continue
                key = _identity(st)
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                skip(path, "not an image file")
                continue
            candidates.append((path, top, key, link))
    _one_path_per_file(found, candidates, skip)
    if not found.paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
                        f"{_unlisted(found)}.")
    return found


def _unlisted(folder) -> str:
    """Why fewer images or classes were found than the folder holds, if some of it could not be listed."""
    if not folder.unreadable:
        return ""
    first = folder.unreadable[0] + (f" and {len(folder.unreadable) - 1} more" if len(folder.unreadable) > 1 else "")
    return f"; {len(folder.unreadable)} folder(s) could not be listed ({first}): make them readable"


def _one_path_per_file(found, candidates, skip):
    """Keep one path per real file: the first in walk order, unless a later one is the file itself, not a link."""
    owner = {}
    for path, _, key, link in candidates:
        if key is not None and (key not in owner or (owner[key][1] and not link)):
            owner[key] = (path, link)
    for path, cls, key, _ in candidates:
        if key is not None and owner[key][0] != path:
            skip(path, f"same file as {owner[key][0]}")
            continue
        found.paths.append(path)
        found.classes.append(cls)


def require_labelled(folder: ImageFolder, min_classes=2):
    if not folder.labelled:
        loose = sum(c is None for c in folder.classes)
        raise DataError(
            f"{folder.root}: {loose} image(s) sit directly in the folder; training needs one subfolder per class."
        )
    if len(folder.class_names()) < min_classes:
        raise DataError(f"{folder.root}: found {len(folder.class_names())} class folder(s); need at least {min_classes}"
                        f"{_unlisted(folder)}.")
