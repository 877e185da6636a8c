"""Annoy files: building, checking and the angular-to-cosine conversion (searched by stores.annoy_space).

Scores are cosine similarities in [-1, 1]. Annoy's "angular" distance is
d = sqrt(2 - 2 cos), the Euclidean distance between the unit vectors, so
cos = 1 - d^2 / 2.

Annoy trusts its files completely: a truncated or overwritten `.ann` can
segfault the process on the first query. So `AnnoySpace` maps an Annoy file
only after its caller has checked it against the checksum in its manifest
(core.integrity), and after a cheap walk over its node table (`check_nodes`),
which catches damage the checksum memo cannot see (bit rot keeps a file's
size and times), then checks that it holds as many items as expected.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from devise.core.atomic import atomic_path
from devise.core.errors import SearchIndexError
from devise.core.manifest import METRIC
from devise.core.vectors import unit_rows
from devise.index import tuning

if TYPE_CHECKING:
    from annoy import AnnoyIndex

_ANNOY_ERRNO = re.compile(r"\((\d+)\)\s*$")


def cosine_from_angular(distances: npt.ArrayLike) -> np.ndarray:
    d = np.asarray(distances, np.float64)
    return np.clip(1.0 - d * d / 2.0, -1.0, 1.0)


def annoy_index(vectors: npt.ArrayLike, n_trees: int, seed: int = tuning.SEED) -> AnnoyIndex:
    """An angular AnnoyIndex over the rows of `vectors` (item i = row i), built in memory.

    Seeded and built on tuning.BUILD_THREADS threads, so the same rows always give the same trees.
    """
    from annoy import AnnoyIndex

    vectors = np.asarray(vectors, np.float32)
    ann = AnnoyIndex(int(vectors.shape[1]), METRIC)
    ann.set_seed(int(seed))
    for i, row in enumerate(vectors):
        ann.add_item(i, row)
    ann.build(int(n_trees), n_jobs=tuning.BUILD_THREADS)
    return ann


def pca_projection(vectors: np.ndarray, dims: int = tuning.COMPRESS_DIMS, seed: int = tuning.SEED) -> np.ndarray:
    """[dim, dims] float32: the top principal directions (uncentred, so dot products survive) of a seeded sample.

    Uncentred: x @ W keeps most of each row's energy, so cosines between
    projected rows rank neighbours nearly as the full rows do; the exact
    re-rank fixes the rest.
    """
    rng = np.random.default_rng(seed)
    n = len(vectors)
    rows = np.sort(rng.choice(n, min(n, tuning.PCA_SAMPLE), replace=False))
    sample = np.asarray(vectors[rows], np.float64)
    values, vecs = np.linalg.eigh(sample.T @ sample)
    top = vecs[:, np.argsort(-values, kind="stable")[:dims]]
    top *= np.where(top[np.argmax(np.abs(top), axis=0), np.arange(top.shape[1])] < 0, -1.0, 1.0)  # fixed signs
    return np.ascontiguousarray(top, np.float32)


def project(vectors: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Unit rows of `vectors` @ `projection`, in chunks (the rows may be a memory map larger than RAM)."""
    out = np.empty((len(vectors), projection.shape[1]), np.float32)
    for start in range(0, len(vectors), 65536):
        out[start:start + 65536] = unit_rows(np.asarray(vectors[start:start + 65536], np.float32) @ projection)
    return out


def build_annoy(vectors: npt.ArrayLike, target: str | Path, n_trees: int, seed: int = tuning.SEED) -> str | Path:
    """Write an angular Annoy index over the rows of `vectors` to `target` (atomically)."""
    ann = annoy_index(vectors, n_trees, seed)
    with atomic_path(target, suffix=".ann") as tmp:
        try:
            ann.save(str(tmp))
        except OSError as exc:
            # Annoy gives the errno only in its message ("Unable to write: ... (28)"): restored, a full
            # or read-only disk is reported as such.
            found = _ANNOY_ERRNO.search(str(exc))
            if exc.errno is None and found:
                code = int(found.group(1))
                raise OSError(code, os.strerror(code), str(tmp)) from None
            raise
    ann.unload()
    return target


def _node_error(path, what):
    return SearchIndexError(f"{path}: corrupt Annoy index ({what}); re-index.")


def check_nodes(path: str | Path, dim: int, count: int) -> None:
    """Raise SearchIndexError unless every node reference in the angular Annoy file `path` is in range.

    Annoy follows these references without bounds checks. An angular node is
    int32 n_descendants, then 2 + dim int32 slots (two child nodes, or up to
    2 + dim item ids) overlaid on the float32 vector. Items 0..count-1 are
    leaves (n_descendants 1); a split node is written after both its children,
    so a child's index is below its parent's, which also rules out cycles.
    Reading the node table costs ~2 ms per 5 MB from the page cache.
    """
    width, slots = 3 + dim, 2 + dim
    try:
        table = np.memmap(path, np.int32, mode="r")
    except (OSError, ValueError) as exc:
        raise _node_error(path, f"unreadable: {exc}") from None
    if table.size == 0 or table.size % width:
        raise _node_error(path, f"{table.size * 4} bytes is not a whole number of {width * 4}-byte nodes")
    nodes = table.reshape(-1, width)
    descendants = np.asarray(nodes[:, 0])
    if len(descendants) < count or (descendants < 1).any() or (descendants[:count] != 1).any() \
            or descendants[-1] != count:
        raise _node_error(path, "node counts out of range")
    # As unsigned, a negative reference is out of range too: one comparison checks both ends.
    split = np.flatnonzero(descendants > slots)
    if (nodes[split, 1:3].view(np.uint32) >= split[:, None]).any():
        raise _node_error(path, "a child node out of range")
    leaf = np.flatnonzero((descendants > 1) & (descendants <= slots))
    out_of_range = nodes[leaf, 1:1 + slots].view(np.uint32) >= count
    if (out_of_range & (np.arange(slots) < descendants[leaf, None])).any():
        raise _node_error(path, "an item id out of range")
