"""`manifest.json`: what an artifact was built from, checked on every load.

Every model and index records a format version, its backbone and word
vectors (with dimension). Loading compares the recorded values with what the
caller expects and raises a typed error with a readable message instead of
letting Annoy segfault on a dimension mismatch.
"""
import json
from pathlib import Path

from devise.core import atomic
from devise.core.errors import DeviseError

FORMAT_VERSION = 1


def write(directory, kind, **fields):
    data = {"format_version": FORMAT_VERSION, "kind": kind, **fields}
    atomic.write_json(Path(directory) / "manifest.json", data)
    return data


def read(directory, kind, error=DeviseError):
    """Read and sanity-check a manifest; `error` is the exception type to raise."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise error(f"{directory}: no manifest.json here; is this a devise {kind}? Build it again.")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise error(f"{path}: unreadable manifest ({exc}); rebuild the {kind}.") from None
    if not isinstance(data, dict):
        raise error(f"{path}: holds JSON that is not an object, so it is not a devise manifest; rebuild the {kind}.")
    if data.get("kind") != kind:
        have = data.get("kind")
        what = f"a devise {have}" if isinstance(have, str) else "not a devise manifest (it names no kind)"
        raise error(f"{path}: this is {what}, not a {kind}; point at a devise {kind} instead.")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise error(
            f"{path}: format version {version} but this devise reads {FORMAT_VERSION}; rebuild the {kind}."
        )
    return data


def peek(directory):
    """The manifest in `directory` as a dict, or None when there is none or it is not a JSON object.

    For callers that only ask "did devise make this folder?" and must not raise.
    """
    try:
        data = json.loads((Path(directory) / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describes(data, kind):
    """True when `data` (from peek) is a manifest of this devise's format for `kind`."""
    return data is not None and data.get("kind") == kind and data.get("format_version") == FORMAT_VERSION


def expect(data, where, error=DeviseError, **expected):
    """Raise if any recorded field differs from the expected value."""
    for key, want in expected.items():
        have = data.get(key)
        if want is not None and have != want:
            raise error(f"{where}: built with {key}={have!r}, but {want!r} is in use; rebuild it or pass the matching option.")
