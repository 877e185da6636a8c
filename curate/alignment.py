"""Alignment: how well each image matches the text it was made from (the CLIP-score analogue).

The score is the cosine, in word space, between the image's projected vector
(as stored in the index) and the vector of its prompt. For a generated
folder the prompt comes from `metadata.jsonl`; for a labelled folder the
class phrase stands in for it.

Prompts are reduced to their content words first, as search reduces them
that search uses (search.content_words.text_vector): a prompt vector is the mean
of its word vectors, so "a photo of a cat" would otherwise be mostly "a",
"of" and "photo": every prompt from one template would share most of its
vector and the scores would measure the template, not the class. A prompt
made only of stop words and framing is kept whole.
"""
import json
import os
from pathlib import Path

import numpy as np

from devise.core.errors import VocabularyError
from devise.data.labels import default_phrase
from devise.generation.output_folder import METADATA
from devise.search.content_words import text_vector

FIELD = "alignment"


def read_prompts(root):
    """{absolute image path: prompt} from a generated folder's metadata.jsonl; {} when there is none."""
    path = Path(root) / METADATA
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            out[os.path.normpath(os.path.join(root, entry["file"]))] = str(entry["prompt"])
        except (ValueError, KeyError, TypeError):
            continue  # `generate` already warns about bad lines; a missing prompt falls back to the class
    return out


def class_phrase_source(model_classes=None, label_map=None):
    """class folder -> phrase: an explicit label map wins over the model's, then the folder name."""
    explicit, model_classes = dict(label_map or {}), dict(model_classes or {})

    def phrase(cls):
        if cls is None:
            return None
        return explicit.get(cls) or model_classes.get(cls) or default_phrase(cls)

    return phrase


def texts_for(items, root, phrase_of):
    """Per item: (text, source) with source "prompt" or "class", or (None, None) with no text at all."""
    prompts = read_prompts(root)
    out = []
    for item in items:
        prompt = prompts.get(os.path.normpath(item["path"]))
        if prompt is not None:
            out.append((prompt, "prompt"))
            continue
        phrase = phrase_of(item.get("class"))
        out.append((phrase, "class") if phrase else (None, None))
    return out


def alignment_scores(words, vectors, texts):
    """Cosine of each image vector with its text's vector; NaN where the text has no known word.

    Returns (scores [n] float64, {text: reason} for texts that could not be scored).
    """
    vectors = np.asarray(vectors, np.float32)
    norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
    cache, unknown = {}, {}
    scores = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        if text is None:
            continue
        if text not in cache:
            try:
                cache[text] = text_vector(words, text)
            except VocabularyError as exc:
                cache[text], unknown[text] = None, str(exc)
        if cache[text] is not None:
            scores[i] = float(vectors[i] @ cache[text]) / norms[i]
    return np.clip(scores, -1.0, 1.0), unknown
