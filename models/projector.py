"""Image -> word space, through a trained model or, with no model, ConSE."""
import hashlib
from pathlib import Path

import numpy as np

from devise.core.errors import ModelError
from devise.data.word_sources import words_name
from devise.data.words import load_words
from devise.models import backbones, model_store
from devise.models.conse import ConSE

CONSE = "conse"


class Projector:
    """Wraps a trained model (head blended with ConSE) or plain ConSE."""

    def __init__(self, model_dir=None, backbone=None, words=None):
        """backbone, words: ConSE's (backbone as canonical_name gives it; None: the defaults); a trained model
        brings its own, and others are an error."""
        self.model = None
        if model_dir not in (None, CONSE):
            self.model = model_store.load(model_dir)
            self.words = load_words(self.model.words)
            if self.words.name != self.model.words:
                raise ModelError(f"{model_dir}: trained with word vectors {self.model.words!r}, loaded {self.words.name!r}.")
            if backbone is not None and backbones.canonical_name(backbone) != self.model.backbone:
                raise ModelError(f"{model_dir} was trained on backbone {self.model.backbone}, not {backbone}; "
                                 "drop --backbone, or train a model on that backbone.")
            if words is not None and words_name(words) != self.model.words:
                raise ModelError(f"{model_dir} was trained in word vectors {self.model.words}, not "
                                 f"{words_name(words)}; drop --words, or train a model in those.")
            self.backbone = self.model.backbone
        else:
            self.words = load_words(words)
            self.backbone = backbone or backbones.DEFAULT_BACKBONE
        self.conse = ConSE(self.words)
        self._labels_memo = (None, None)

    @property
    def name(self):
        return str(Path(self.model.directory).resolve()) if self.model else CONSE

    @property
    def gamma(self):
        return self.model.gamma if self.model else 0.0

    @property
    def seen_margin(self):
        """What text search needs to rank with the seen-class margin (models.seen_margin); None for ConSE."""
        if self.model is None or not self.model.seen_phrases:
            return None
        return {"phrases": sorted(self.model.seen_phrases), "gamma": self.model.search_gamma}

    @property
    def seen_phrases(self):
        return set(self.model.seen_phrases) if self.model else set()

    def labels(self, label_vectors: np.ndarray) -> np.ndarray:
        """Candidate label vectors as the model scores them (ConSE: unchanged).

        The last result is kept: the web tags image after image against the same 50,000-word vocabulary.
        """
        if self.model is None:
            return label_vectors
        key = hashlib.sha1(np.ascontiguousarray(label_vectors, np.float32).tobytes()).hexdigest()
        if self._labels_memo[0] != key:
            self._labels_memo = (key, self.model.labels(label_vectors, self.conse))
        return self._labels_memo[1]

    def project(self, features, logits):
        if self.model is None:
            return self.conse.project(logits)
        return self.model.project(features, logits, self.conse)
