"""Scan an image folder: one subfolder per class gives labels, a flat folder gives none.

Every regular file is considered, so that non-images (Caltech-101's
`BACKGROUND_Google/tmp`, a `notes.txt`) are reported and counted rather than
silently ignored. Sidecar files that devise itself writes are skipped quietly.
"""
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from devise.core.errors import DataError
from devise.data.images import IMAGE_SUFFIXES

QUIET_FILES = {"metadata.jsonl", "manifest.json", "labels.txt", "README.md", "README.txt", "Thumbs.db"}


@dataclass
class ImageFolder:
    root: Path
    paths: list = field(default_factory=list)    # absolute str paths of candidate images
    classes: list = field(default_factory=list)  # class folder name per path, or None
    skipped: list = field(default_factory=list)  # (path, reason) for non-image files

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
        return ImageFolder(self.root, [self.paths[i] for i in keep], [self.classes[i] for i in keep], [])


def scan(root, exclude=(), warn=True) -> ImageFolder:
    """List images under `root` recursively; the first path component is the class."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass a folder of images (one subfolder per class for training).")
    excluded = {e.lower() for e in exclude}
    found = ImageFolder(root.resolve())
    for dirpath, dirnames, filenames in os.walk(found.root, followlinks=True):
        rel = Path(dirpath).relative_to(found.root)
        top = rel.parts[0] if rel.parts else None
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (not rel.parts and d.lower() in excluded))
        for name in sorted(filenames):
            if name.startswith(".") or name in QUIET_FILES:
                continue
            path = os.path.join(dirpath, name)
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                found.skipped.append((path, "not an image file"))
                if warn:
                    print(f"warning: {path}: not an image file; skipped.", file=sys.stderr)
                continue
            found.paths.append(path)
            found.classes.append(top)
    if not found.paths:
        raise DataError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))}).")
    return found


def require_labelled(folder: ImageFolder, min_classes=2):
    if not folder.labelled:
        loose = sum(c is None for c in folder.classes)
        raise DataError(
            f"{folder.root}: {loose} image(s) sit directly in the folder; training needs one subfolder per class."
        )
    if len(folder.class_names()) < min_classes:
        raise DataError(f"{folder.root}: found {len(folder.class_names())} class folder(s); need at least {min_classes}.")
