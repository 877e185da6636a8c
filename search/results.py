"""Result lists shared by text and image search: the JSON shape and contact sheets.

Every score is a cosine similarity in [-1, 1] (see index.ann for the
conversion from Annoy's angular distance).
"""
import os


def as_json(query, results):
    """The documented JSON document: {"query": q, "results": [{"path": p, "score": s}, ...]}."""
    return {"query": query, "results": results}


def _short(path):
    """The file name with its folder: in a class-per-folder tree, bare names repeat."""
    parent = os.path.basename(os.path.dirname(path))
    return f"{parent}/{os.path.basename(path)}" if parent else os.path.basename(path)


def write_sheet(results, out, title):
    """A contact sheet PNG: one thumbnail per result, captioned with rank, score and file name."""
    from devise.data.sheet import contact_sheet

    if not results:
        return None
    items = [(r["path"], [f"#{rank}  {r['score']:.3f}", _short(r["path"])])
             for rank, r in enumerate(results, 1)]
    return contact_sheet(items, out, title=title, caption_lines=2)


def lines(results):
    """Plain-text rows for a terminal: rank, score, path."""
    return [f"{rank:>3}  {r['score']:+.3f}  {r['path']}" for rank, r in enumerate(results, 1)]
