"""Image -> images: `devise similar IMAGE`, by cosine similarity of raw backbone features.

An image already in the index (same path, size and mtime) is looked up by
its stored feature vector, with no model loaded; any other file is
embedded on the fly through the index's backbone (which loads TensorFlow).
"""
import os

from devise.core.errors import BadImageError, SearchIndexError
from devise.index.store import open_index
from devise.search.results import write_sheet


def _query_vector(idx, image):
    path = os.path.abspath(image)
    found = idx.items.find(path)
    if found is not None:
        item, st = idx.items[found], os.stat(path)
        if (item["size"], item["mtime_ns"]) == (st.st_size, st.st_mtime_ns):
            return idx.space("features").vector(found), {found}
    from devise.models.backbones import get_backbone
    from devise.models.embed import embed_paths

    backbone = get_backbone(idx.manifest["backbone"])
    if backbone.feature_dim != idx.manifest["feature_dim"]:
        raise SearchIndexError(f"index {idx.name!r} holds {idx.manifest['feature_dim']}-d features but "
                               f"{backbone.name} gives {backbone.feature_dim}-d; re-index.")
    emb = embed_paths([path], backbone, progress=False, warn_bad=False)
    if not emb.paths:
        raise BadImageError(emb.bad[0][1] if emb.bad else f"{image}: could not be embedded.")
    return emb.features[0], set()


def similar(image, index=None, top=10, sheet=None):
    """[{"path", "score"}] of the images most like `image`, best first, never `image` itself."""
    idx = open_index(index)
    vector, exclude = _query_vector(idx, image)
    results = idx.results(idx.space("features").nearest(vector, top, exclude=exclude))
    if sheet:
        write_sheet(results, sheet, f"like {os.path.basename(image)}  (index {idx.name})")
    return results
