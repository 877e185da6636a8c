"""A labelled image folder, embedded: features, logits, class indices and label vectors."""
from dataclasses import dataclass

import numpy as np

from devise.core.vectors import unit_rows
from devise.data.folders import require_labelled, scan
from devise.data.labels import class_phrases, phrase_vectors, read_label_map
from devise.data.words import load_words
from devise.models import backbones
from devise.models.embed import embed_paths


@dataclass
class Dataset:
    root: str
    class_names: list        # folder names, sorted
    phrases: dict            # folder name -> label phrase
    label_vectors: np.ndarray  # [C, dim] unit phrase vectors, row per class_names
    paths: list              # embedded image paths
    y: np.ndarray            # class index per path
    features: np.ndarray
    logits: np.ndarray
    bad: list                # (path, message) for skipped files
    backbone: str
    words: str

    def rows_of(self, paths):
        index = {p: i for i, p in enumerate(self.paths)}
        return np.array([index[p] for p in paths if p in index], dtype=np.int64)

    def class_rows(self, names):
        return np.array([self.class_names.index(n) for n in names], dtype=np.int64)

    def paths_by_class(self):
        """{class folder: its embedded image paths}, what a class split is drawn from."""
        by_class = {}
        for path, yi in zip(self.paths, self.y):
            by_class.setdefault(self.class_names[yi], []).append(path)
        return by_class


def load_dataset(data_dir, exclude=(), label_map=None, backbone=None, words=None, progress=True, folder=None) -> Dataset:
    """Scan, name, and embed a labelled folder (features come from the cache when fresh)."""
    folder = folder or scan(data_dir, exclude=exclude)
    require_labelled(folder)
    wv = load_words(words)
    mapping = read_label_map(label_map) if label_map else {}
    phrases = class_phrases(folder.class_names(), mapping)
    names, vectors = phrase_vectors(phrases, wv)  # fails early, naming unknown phrases
    bb = backbones.get_backbone(backbone or backbones.DEFAULT_BACKBONE)
    emb = embed_paths(folder.paths, bb, progress=progress)
    cls_of = dict(zip(folder.paths, folder.classes))
    y = np.array([names.index(cls_of[p]) for p in emb.paths], dtype=np.int64)
    return Dataset(str(folder.root), names, phrases, unit_rows(vectors), emb.paths, y,
                   emb.features, emb.logits, folder.skipped + emb.bad, bb.name, wv.name)
