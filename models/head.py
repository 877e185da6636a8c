"""The projection head (Keras 3), and its inference in NumPy.

Architecture as in the fast.ai / DeViSE blog post: Dense 2000, BatchNorm,
ReLU, Dropout, Dense(word dim), L2-normalised; with dropout on the input
features too, which won on Caltech-101's seen-class folds (README, "what
moved the numbers"). Its weights are also kept
as plain arrays, so projecting at index and tag time needs no TensorFlow.
"""
import numpy as np

from devise.core.vectors import unit_rows

# Dropout on the backbone features: 0.2 beat none and 0.4 on the seen-class folds (ZSL hit@1 + GZSL H, and
# text-search precision@10), since a head that cannot lean on a few feature channels transfers better.
INPUT_DROPOUT = 0.2
# What a model manifest records of the head's recipe.
HEAD_PARAMS = {"hidden": 2000, "dropout": 0.5, "input_dropout": INPUT_DROPOUT}
DEFAULT_BLEND = {"tau": 0.85, "temperature": 0.05, "alpha_seen": 0.8, "alpha_novel": 0.0}


def build_head(feature_dim, word_dim, hidden=HEAD_PARAMS["hidden"], dropout=HEAD_PARAMS["dropout"],
               input_dropout=HEAD_PARAMS["input_dropout"], seed=0):
    from devise.models.tensorflow_env import import_keras

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
    return keras.Model(inputs, outputs, name="devise_head")


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
