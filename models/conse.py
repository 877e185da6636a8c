"""ConSE (Norouzi et al., 2014): a training-free image vector in word space.

The image vector is the convex combination of the word vectors of the
backbone's top-T ImageNet labels, weighted by their softmax probabilities.
Pure NumPy: it runs on cached logits without TensorFlow.
"""
import numpy as np

from devise.core.vectors import unit_rows
from devise.data.imagenet import class_lemmas

DEFAULT_TOP_T = 10
LEMMA_DECAY = 0.5
ANCHOR_K = 30   # ImageNet classes a label is re-expressed over (see ConSE.anchor)


def softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def imagenet_label_vectors(words, decay=LEMMA_DECAY):
    """Unit word vector per ImageNet class; zero where no synonym is in the vocabulary.

    WordNet lists a synset's lemmas from the most to the least common
    ("dragonfly, darning needle, devil's darning needle, ..."), so later
    lemmas get geometrically smaller weights: they still help with rare or
    out-of-vocabulary first names but cannot drag the class away from them.
    """
    out = np.zeros((1000, words.dim), np.float32)
    for i, lemmas in enumerate(class_lemmas()):
        known = [lemma for lemma in lemmas if words.phrase_words(lemma)[0]]
        if known:
            weights = decay ** np.arange(len(known), dtype=np.float32)
            vecs = unit_rows(np.stack([words.phrase_vector(lemma) for lemma in known]))
            out[i] = unit_rows(weights @ vecs)
    return out


def anchored_labels(conse, label_vectors, anchor, seen):
    """`label_vectors` anchored as `anchor` says ({"tau", "k", "scope"}); `seen` marks the rows of
    labels the head trained on, left as they are when the scope is "unseen"."""
    if not anchor.get("tau"):
        return label_vectors
    anchored = conse.anchor(label_vectors, anchor["tau"], anchor.get("k", ANCHOR_K))
    if anchor.get("scope", "all") == "unseen":
        return np.where(np.asarray(seen)[:, None], label_vectors, anchored).astype(np.float32)
    return anchored


class ConSE:
    def __init__(self, words, top_t=DEFAULT_TOP_T):
        self.words = words
        self.top_t = top_t
        # Changes whenever the projection would: an index built with another ConSE is rebuilt.
        self.identity = f"top{top_t}-lemma-decay{LEMMA_DECAY}"
        self.label_vectors = imagenet_label_vectors(words)
        self.known = np.linalg.norm(self.label_vectors, axis=1) > 0

    def project(self, logits):
        """[N,1000] logits -> [N,dim] unit vectors."""
        probs = softmax(np.asarray(logits, np.float32))
        probs[:, ~self.known] = 0.0
        top = np.argpartition(-probs, self.top_t - 1, axis=1)[:, : self.top_t]
        weights = np.take_along_axis(probs, top, axis=1)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        vecs = np.einsum("nt,ntd->nd", weights, self.label_vectors[top])
        return unit_rows(vecs)

    def anchor(self, label_vectors, tau, k=ANCHOR_K):
        """Label vectors re-expressed on the ImageNet label manifold ConSE image vectors live on.

        Each label becomes the softmax(cosine / tau)-weighted mix of its `k`
        nearest ImageNet class vectors. ConSE vectors are mixes of those same
        class vectors, so anchored labels stop favouring the labels that sit
        in dense, ImageNet-like regions of word space (a hubness correction on
        the label side: image vectors, hence Annoy indexes, are untouched).
        tau 0 (or None) returns the labels unchanged.
        """
        label_vectors = np.asarray(label_vectors, np.float32)
        if not tau:
            return label_vectors
        k = min(k, int(self.known.sum()))
        # In blocks, so a 50,000-word tag vocabulary never holds a [50000, 1000] similarity matrix.
        return np.concatenate([self._anchor_block(label_vectors[i:i + 4096], tau, k)
                               for i in range(0, len(label_vectors), 4096)] or [label_vectors])

    def _anchor_block(self, label_vectors, tau, k):
        sims = label_vectors @ self.label_vectors.T
        sims[:, ~self.known] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(sims, top, axis=1)
        weights = np.exp((near - near.max(axis=1, keepdims=True)) / tau)
        weights /= weights.sum(axis=1, keepdims=True)
        anchored = unit_rows(np.einsum("nt,ntd->nd", weights, self.label_vectors[top]))
        # An all-zero label (no known word) stays zero rather than borrowing a neighbour.
        return np.where(np.linalg.norm(label_vectors, axis=1, keepdims=True) > 0, anchored, 0.0).astype(np.float32)
