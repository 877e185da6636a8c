"""What the CNN itself sees: the backbone's own ImageNet labels for some images."""
import numpy as np

from devise.models.conse import softmax


def classify(paths, top=5, backbone=None):
    """Return [{"image": path, "labels": [{"label", "index", "prob"}, ...]}, ...] and the skipped files."""
    from devise.data.imagenet import class_names
    from devise.models.embed import embed_paths

    emb = embed_paths(paths, backbone, progress=len(paths) > 64)
    names = class_names()
    probs = softmax(emb.logits)
    results = []
    for path, p in zip(emb.paths, probs):
        order = np.argsort(-p)[:top]
        results.append({"image": path, "labels": [
            {"label": names[i], "index": int(i), "prob": float(p[i])} for i in order]})
    return results, emb.bad
