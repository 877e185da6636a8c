"""Class folder names to label phrases: `car_side` -> "car side", with overrides.

A label-map file overrides any name. Two formats are accepted:
  - JSON: {"Faces_easy": "face", "water_lilly": "water lily"}
  - text: one `folder_name = phrase` per line, `#` starts a comment.
"""
import json
import re
from pathlib import Path

from devise.core.errors import DataError, VocabularyError

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def default_phrase(class_name: str) -> str:
    text = _CAMEL.sub(" ", class_name)
    text = re.sub(r"[_\-./]+", " ", text)
    return " ".join(text.lower().split())


def read_label_map(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"{path}: cannot read label map ({exc.strerror}).") from None
    if path.suffix.lower() == ".json":
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise DataError(f"{path}: invalid JSON label map ({exc}).") from None
        if not isinstance(mapping, dict):
            raise DataError(f"{path}: a JSON label map must be an object of folder name -> phrase.")
        return {str(k): str(v) for k, v in mapping.items()}
    mapping = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise DataError(f"{path}:{number}: expected `folder_name = phrase`, got {line!r}.")
        key, value = (part.strip() for part in line.split("=", 1))
        if not key or not value:
            raise DataError(f"{path}:{number}: empty folder name or phrase.")
        mapping[key] = value
    return mapping


def class_phrases(class_names, label_map=None) -> dict:
    """Map every class folder name to its label phrase."""
    label_map = label_map or {}
    return {name: label_map.get(name, default_phrase(name)) for name in class_names}


def phrase_vectors(phrases: dict, words):
    """Stack the phrase vector of each class; report every phrase with no known word at once."""
    import numpy as np

    names, rows, unknown = list(phrases), [], []
    for name in names:
        used, _ = words.phrase_words(phrases[name])
        if not used:
            unknown.append(f"{name} ({phrases[name]!r})")
            continue
        rows.append(words.phrase_vector(phrases[name]))
    if unknown:
        raise VocabularyError(
            f"no word of these class phrases is in the {words.name} vocabulary: {', '.join(unknown)}; "
            "give them phrases with --label-map or drop them with --exclude."
        )
    return names, np.stack(rows).astype(np.float32)
