"""An index version's manifest, read and checked before anything else uses it.

Every field a reader relies on must be present and of the right type, and
the metric and search modes must be ones this devise reads; otherwise one
SearchIndexError line says how to rebuild the index.
"""
import shlex

from devise.core import manifest
from devise.core.errors import DeviseError, SearchIndexError
from devise.index import ann, stores, tuning, writer

# What a manifest must hold, and of which type, before anything else reads it.
_FIELDS = {"name": str, "version": str, "model": str, "backbone": str, "words": str, "root": str, "metric": str,
           "word_dim": int, "feature_dim": int, "n_trees": int, "seed": int, "count": int,
           "search": dict, "files": dict, "counts": dict}


def read_checked(name, version):
    """The manifest of `version`, with every field the readers use present and of the right type."""
    try:
        data = manifest.read(version, writer.KIND, SearchIndexError)
    except DeviseError as exc:
        raise SearchIndexError(str(exc)) from None
    path = f"{version}/manifest.json"
    if not isinstance(data, dict):
        raise SearchIndexError(f"{path}: not a devise manifest; re-index the folder with `devise index`.")
    fix = f"re-index it with `devise index {shlex.quote(data['root'])} --name {name}`" if isinstance(data.get("root"), str) \
        else "re-index the folder with `devise index`"
    wrong = [key for key, kind in _FIELDS.items()
             if not isinstance(data.get(key), kind) or (kind is int and isinstance(data[key], bool))]
    if wrong:
        raise SearchIndexError(f"{path}: {', '.join(wrong)} missing or damaged; {fix}.")
    search = data["search"]
    features = search.get("features") if isinstance(search.get("features"), dict) else {}
    modes = (search.get("mode"), features.get("mode"))
    if data["metric"] != ann.METRIC or not set(modes) <= set(stores.MODES.get(stores.kind_of(data.get("store")), ())) \
            or search.get("method", "auto") not in tuning.METHODS:
        raise SearchIndexError(f"{path}: metric {data['metric']!r} / modes {modes} are not ones this devise "
                               f"reads; {fix}.")
    if min(data["count"], data["word_dim"], data["feature_dim"], data["n_trees"]) < 1:
        raise SearchIndexError(f"{path}: counts and dimensions must be positive (damaged manifest); {fix}.")
    if not _seen_margin_ok(data.get("seen_margin")):
        raise SearchIndexError(f"{path}: seen_margin damaged; {fix}.")
    return data


def _seen_margin_ok(margin):
    """None (a ConSE index, or one built before search had a margin), or {"phrases": [str], "gamma": number}."""
    if margin is None:
        return True
    return isinstance(margin, dict) and isinstance(margin.get("phrases"), list) \
        and all(isinstance(p, str) for p in margin["phrases"]) \
        and isinstance(margin.get("gamma"), (int, float)) and not isinstance(margin["gamma"], bool)
