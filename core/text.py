"""File names as text that leaves Python: escaped for a terminal, and as SQLite keys.

A file may be named with ESC (which recolours or clears the terminal), CR
(which returns to the start of the line, so what follows overwrites what
devise printed) or LF (which starts a line that looks like devise's own).
Every human-readable line devise prints goes through `printable`; JSON
output is left exact (json.dumps escapes control characters itself).

A name that is not valid UTF-8 reaches Python with each bad byte as a lone
surrogate (os.fsdecode's surrogateescape); it is shown as `\\xNN`, the
byte itself, where printing it raw would raise UnicodeEncodeError. SQLite
cannot store such a string as TEXT either: `path_key` stores that name as
its bytes (a BLOB, which never equals any TEXT), and every other name as
the same TEXT as before, so caches written earlier still match.
"""
from __future__ import annotations

import os
import re

# C0 and C1 controls and DEL; Unicode line and paragraph separators; the bidirectional
# embeddings, overrides and isolates that reorder what follows them; lone surrogates.
_OTHERS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_ANY = re.compile(f"[\x00-\x1f{_OTHERS}]")
_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return _NAMED.get(char, f"\\x{code:02x}")
    return f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control character escaped; with `keep_newlines`, a multi-line block keeps its line breaks."""
    return (_BUT_NEWLINE if keep_newlines else _ANY).sub(_escape, str(text))


def path_key(path: str | bytes | os.PathLike) -> str | bytes:
    """`path` as an SQLite value: its text, or its bytes when it is not valid UTF-8."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def key_path(value: str | bytes) -> str:
    """The path `path_key` made `value` from."""
    return os.fsdecode(value) if isinstance(value, bytes) else value
