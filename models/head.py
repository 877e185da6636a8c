"""The projection head and its losses (Keras 3).

Architecture as in the fast.ai / DeViSE blog post: Dense 2000, BatchNorm,
ReLU, Dropout, Dense(word dim), L2-normalised. Targets are class indices;
the losses look the class word vectors up in a constant matrix, so the
hinge loss can rank against every other training label.
"""
import numpy as np
from devise.core.vectors import unit_rows

LOSSES = ("cosine", "hinge")
DEFAULT_BLEND = {"tau": 0.85, "temperature": 0.05, "alpha_seen": 0.8, "alpha_novel": 0.0}
HINGE_MARGIN = 0.1


def build_head(feature_dim, word_dim, hidden=2000, dropout=0.5, seed=0):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((feature_dim,), name="features")
    x = layers.Dense(hidden, name="hidden")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(word_dim, name="project")(x)
    outputs = layers.UnitNormalization(name="l2")(x)
    return keras.Model(inputs, outputs, name="devise_head")


def make_loss(kind, label_vectors, margin=HINGE_MARGIN):
    """Loss over class indices; `label_vectors` are the unit vectors of the training classes."""
    from keras import ops

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


def export_numpy(model):
    """The head's weights as plain arrays, so projection at index/tag time needs no TensorFlow."""
    hidden, bn, project = model.get_layer("hidden"), model.get_layer("bn"), model.get_layer("project")
    w1, b1 = (np.asarray(v) for v in hidden.get_weights())
    gamma, beta, mean, var = (np.asarray(v) for v in bn.get_weights())
    w2, b2 = (np.asarray(v) for v in project.get_weights())
    return {"w1": w1, "b1": b1, "gamma": gamma, "beta": beta, "mean": mean, "var": var,
            "eps": np.float32(bn.epsilon), "w2": w2, "b2": b2}


def apply_numpy(weights, features):
    """Inference-mode forward pass of the head in NumPy; returns unit vectors."""
    x = np.asarray(features, np.float32) @ weights["w1"] + weights["b1"]
    x = (x - weights["mean"]) / np.sqrt(weights["var"] + weights["eps"]) * weights["gamma"] + weights["beta"]
    x = np.maximum(x, 0.0)
    x = x @ weights["w2"] + weights["b2"]
    return unit_rows(x)


def gated_blend(head_vectors, conse_vectors, seen_labels, blend):
    """Per-image mix of head and ConSE vectors, gated by the head's seen-class confidence.

    confidence = max cosine between the head's vector and any seen label;
    alpha rises from `alpha_novel` to `alpha_seen` around `tau`.
    """
    confidence = (head_vectors @ np.asarray(seen_labels, np.float32).T).max(axis=1)
    z = np.clip((confidence - blend["tau"]) / blend["temperature"], -50, 50)
    gate = 1.0 / (1.0 + np.exp(-z))
    alpha = (blend["alpha_novel"] + (blend["alpha_seen"] - blend["alpha_novel"]) * gate)[:, None]
    mixed = alpha * head_vectors + (1.0 - alpha) * conse_vectors
    return unit_rows(mixed)
