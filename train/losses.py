"""Training losses for the head, over class indices (Keras 3 ops, any backend).

The losses look the class word vectors up in a constant matrix, so the
hinge loss can rank against every other training label (DeViSE's rank loss).
"""
import numpy as np

from devise.train.config import LOSSES

HINGE_MARGIN = 0.1


def make_loss(kind, label_vectors, margin=HINGE_MARGIN):
    """Loss over class indices; `label_vectors` are the unit vectors of the training classes."""
    from devise.models.tensorflow_env import import_keras

    ops = import_keras().ops

    labels = ops.convert_to_tensor(np.asarray(label_vectors, np.float32))
    n_classes = label_vectors.shape[0]

    def cosine(y_true, y_pred):
        target = ops.take(labels, ops.cast(ops.reshape(y_true, (-1,)), "int32"), axis=0)
        return 1.0 - ops.sum(target * y_pred, axis=-1)

    def hinge(y_true, y_pred):
        y = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        scores = ops.matmul(y_pred, ops.transpose(labels))
        true_score = ops.take_along_axis(scores, ops.expand_dims(y, -1), axis=1)
        violations = ops.relu(margin - true_score + scores)
        mask = 1.0 - ops.one_hot(y, n_classes)
        return ops.sum(violations * mask, axis=-1)

    if kind == "cosine":
        return cosine
    if kind == "hinge":
        return hinge
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSSES)}")
