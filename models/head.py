"""The projection head (Keras 3), and its inference in NumPy.

Architecture as in the fast.ai / DeViSE blog post: Dense 2000, BatchNorm,
ReLU, Dropout, Dense(word dim), L2-normalised; with dropout on the input
features too, which won on Caltech-101's seen-class folds (README, "what
moved the numbers"). Its weights are also kept
as plain arrays, so projecting at index and tag time needs no TensorFlow.

Several heads fitted from different seeds (`devise train --heads K`) form
one model whose output is their averaged, re-normalised output, so no one
seed's accidents decide where an image lands in word space (on
Caltech-101's seen-class folds this raised text-search precision@10 and
left ZSL + H where they were; README, "what moved the numbers"). Their
arrays are stacked along a first axis of length K.
"""
import numpy as np

from devise.core.vectors import unit_rows
from devise.models.tensorflow_env import import_keras

# Dropout on the backbone features: 0.2 beat none and 0.4 on the seen-class folds (ZSL hit@1 + GZSL H, and
# text-search precision@10), since a head that cannot lean on a few feature channels transfers better.
INPUT_DROPOUT = 0.2
# What a model manifest records of the head's recipe.
HEAD_PARAMS = {"hidden": 2000, "dropout": 0.5, "input_dropout": INPUT_DROPOUT}
# The arrays of one head, as export_numpy names them (a model's head.npz holds more, e.g. seen_labels).
HEAD_ARRAYS = ("w1", "b1", "gamma", "beta", "mean", "var", "eps", "w2", "b2")
DEFAULT_BLEND = {"tau": 0.85, "temperature": 0.05, "alpha_seen": 0.8, "alpha_novel": 0.0}


def build_head(feature_dim, word_dim, hidden=HEAD_PARAMS["hidden"], dropout=HEAD_PARAMS["dropout"],
               input_dropout=HEAD_PARAMS["input_dropout"], seed=0, name="devise_head"):
    keras = import_keras()
    layers = keras.layers

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((feature_dim,), name="features")
    x = layers.Dropout(input_dropout, name="input_dropout")(inputs)
    x = layers.Dense(hidden, name="hidden")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(word_dim, name="project")(x)
    outputs = layers.UnitNormalization(name="l2")(x)
    return keras.Model(inputs, outputs, name=name)


def average_heads(heads):
    """One Keras model whose output is the unit mean of the `heads`' outputs (the heads themselves if one)."""
    if len(heads) == 1:
        return heads[0]

    keras = import_keras()
    inputs = keras.Input(tuple(heads[0].inputs[0].shape[1:]), name="features")
    mean = keras.layers.Average(name="mean")([head(inputs) for head in heads])
    return keras.Model(inputs, keras.layers.UnitNormalization(name="l2")(mean), name="devise_heads")


def member_heads(model):
    """The single heads inside a model built by `average_heads` (the model itself if it is one)."""
    return [layer for layer in model.layers if layer.name.startswith("devise_head")] or [model]


def export_numpy(model):
    """The head's weights as plain arrays, so projection at index/tag time needs no TensorFlow; an
    averaged model's arrays are its members' stacked along a first axis."""
    members = member_heads(model)
    if len(members) > 1:
        single = [_export_single(m) for m in members]
        return {key: np.stack([w[key] for w in single]) for key in single[0]}
    return _export_single(model)


def _export_single(model):
    hidden, bn, project = model.get_layer("hidden"), model.get_layer("bn"), model.get_layer("project")
    w1, b1 = (np.asarray(v) for v in hidden.get_weights())
    gamma, beta, mean, var = (np.asarray(v) for v in bn.get_weights())
    w2, b2 = (np.asarray(v) for v in project.get_weights())
    return {"w1": w1, "b1": b1, "gamma": gamma, "beta": beta, "mean": mean, "var": var,
            "eps": np.float32(bn.epsilon), "w2": w2, "b2": b2}


def apply_numpy(weights, features):
    """Inference-mode forward pass of the head (or the unit mean of stacked heads) in NumPy; returns unit vectors."""
    if np.ndim(weights["w1"]) == 3:
        return unit_rows(np.mean([_apply_single({k: weights[k][i] for k in HEAD_ARRAYS}, features)
                                  for i in range(len(weights["w1"]))], axis=0))
    return _apply_single(weights, features)


def _apply_single(weights, features):
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
