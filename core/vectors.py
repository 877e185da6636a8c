"""Row normalisation, the one operation every vector space in devise shares."""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

EPS = 1e-12


def unit_rows(x: npt.ArrayLike, eps: float = EPS) -> np.ndarray:
    """float32 rows of `x` scaled to unit length; all-zero rows stay zero instead of NaN."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), np.float32(eps))
