"""Class folder names to label phrases: `car_side` -> "car side", with overrides.

A label-map file overrides any name. Two formats are accepted:
  - JSON: {"Faces_easy": "face", "water_lilly": "water lily"}
  - text: one `folder_name = phrase` per line, `#` starts a comment.
"""
import json
import os
import re
from pathlib import Path

from devise.core.errors import DataError, option
from devise.core.progress import warn

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def default_phrase(class_name: str) -> str:
    text = _CAMEL.sub(" ", class_name)
    text = re.sub(r"[_\-./]+", " ", text)
    return " ".join(text.lower().split())


def read_label_map(path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError(f"{path}: the label map is not UTF-8 text; save it as UTF-8.") from None
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
    """(class names, unit phrase vectors); every class whose phrase has no known word is reported at once."""
    names = list(phrases)
    return names, words.phrase_matrix([phrases[n] for n in names], names,
                                      "give them phrases with --label-map or drop them with --exclude")


_PATH_LIKE = re.compile(r"[/\\]|\.(txt|csv|tsv)$", re.IGNORECASE)


def parse_labels(value) -> list[str]:
    """Label phrases: a list as given, a file with one phrase per line, or a comma-separated list.

    A value that looks like a path (a separator, or ending in .txt/.csv/.tsv)
    but names no file is an error, never a label: a typo in a file name
    must not label a collection with the path.
    """
    if isinstance(value, (list, tuple)):
        phrases = [str(v).strip() for v in value]
    else:
        text = str(value)
        try:
            is_file = os.path.isfile(text)
        except (OSError, ValueError):  # a long comma list is no file name
            is_file = False
        if is_file:
            try:
                content = Path(text).read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{text}: the labels file is not UTF-8 text; save it as UTF-8, one phrase per line.") from None
            except OSError as exc:
                raise DataError(f"{text}: cannot read the labels file ({exc.strerror}).") from None
            phrases = [line.strip() for line in content.splitlines()]
        elif _PATH_LIKE.search(text) and "," not in text:
            raise DataError(f"{option('labels', text)}: no such file; give a file of phrases (one per line) or a comma list.")
        else:
            phrases = [part.strip() for part in text.split(",")]
    phrases = [p for p in phrases if p and not p.startswith("#")]
    if not phrases:
        raise DataError(f"{option('labels', str(value)[:80])}: no label phrases given.")
    return _merge_duplicates(phrases)


def _merge_duplicates(phrases):
    """One row per label: `cup`, `cup` and `CUP` are one label, spelt as first given; stderr says what merged."""
    first, dropped = {}, []
    for phrase in phrases:
        key = " ".join(phrase.casefold().split())
        if key not in first:
            first[key] = phrase
        else:
            kept = first[key]
            dropped.append(repr(kept) if phrase == kept else f"{phrase!r} into {kept!r}")
    if dropped:
        warn(f"labels: {len(dropped)} duplicate label(s) merged (case ignored, first spelling kept): "
             + ", ".join(dict.fromkeys(dropped[:5])) + (", ..." if len(dropped) > 5 else "") + ".")
    return list(first.values())
