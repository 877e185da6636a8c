"""JSON answers and the HTTP side of devise's error policy.

The CLI prints a `DeviseError` as one line and exits 1; here it becomes
`{"error": that line}` with a status saying whose fault it is: 404 for an
index that cannot be found or opened, 400 for bad input (a malformed query
or filter, an unknown word, an unreadable upload), 500 for what the
server lacks (word vectors, a backbone, a model). Anything else is a bug:
500 with one line, and the traceback on the server's stderr.
"""
from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from devise.core.errors import (
    BadImageError,
    DataError,
    DeviseError,
    OutputError,
    QueryError,
    SearchIndexError,
    VocabularyError,
)

CLIENT_ERRORS = (BadImageError, DataError, OutputError, QueryError, VocabularyError)


def answer(result, status=200):
    """A result's `to_dict()` (what the CLI's --json prints), or plain data, as JSON."""
    return JSONResponse(result.to_dict() if hasattr(result, "to_dict") else result, status_code=status)


def status_of(exc: DeviseError) -> int:
    if isinstance(exc, SearchIndexError):
        return 404
    return 400 if isinstance(exc, CLIENT_ERRORS) else 500


def error(message: str, status: int):
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


async def on_devise_error(request, exc):
    return error(str(exc), status_of(exc))


async def on_http_error(request, exc: HTTPException):
    return error(exc.detail, exc.status_code)


async def on_bug(request, exc):
    # The server (uvicorn) logs the traceback itself once this answer is sent.
    what = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return error(f"{request.url.path} failed unexpectedly ({what}); this is a bug in devise: report the request "
                 f"and the traceback on the server's terminal to the devise issue tracker.", 500)


HANDLERS = {DeviseError: on_devise_error, HTTPException: on_http_error, Exception: on_bug}


MAX_JSON_BYTES = 8 << 20  # 5000 paths of 1600 bytes each
MAX_JSON_DEPTH = 32       # the page sends depth 2


def json_depth(value) -> int:
    """How deeply lists and dicts nest in a decoded JSON value, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _decode(data: bytes, example: str):
    try:
        value = json.loads(data)
    except RecursionError:  # Python's decoder gives up near 1000 levels, cleanly
        raise HTTPException(400, f"the JSON body nests too deeply; send {example}.") from None
    except ValueError:  # UnicodeDecodeError among them
        raise HTTPException(400, f"send JSON: {example}.") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise HTTPException(400, f"the JSON body nests more than {MAX_JSON_DEPTH} levels deep; send {example}.")
    return value


async def json_body(request, example: str):
    """The request's JSON body, at most MAX_JSON_BYTES and MAX_JSON_DEPTH deep; anything else is a one-line 4xx."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise HTTPException(413, f"the JSON body is larger than {MAX_JSON_BYTES >> 20} MB.")
        chunks.append(chunk)
    return await run_in_threadpool(_decode, b"".join(chunks), example)


def _number(params, name, default, parse, low, high, what):
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = parse(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:  # NaN fails the range test too
        raise HTTPException(400, f"{name}: must be {what} from {low} to {high}, not {raw[:40]!r}.")
    return value


def whole(params, name, default, low, high):
    """An integer query parameter in [low, high], else 400 with a one-line message."""
    return _number(params, name, default, int, low, high, "a whole number")


def fraction(params, name, default):
    """A number in [0, 1], else 400."""
    return _number(params, name, default, float, 0, 1, "a number")


def choice(params, name, default, allowed):
    value = params.get(name) or default
    if value not in allowed:
        raise HTTPException(400, f"{name}: use one of {', '.join(allowed)}, not {value[:40]!r}.")
    return value


def switch(params, name, default):
    """A yes/no query parameter: 1/true/yes/on or 0/false/no/off, else 400."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    value = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
             "off": False}.get(raw.lower())
    if value is None:
        raise HTTPException(400, f"{name}: use 1 or 0 (true or false), not {raw[:40]!r}.")
    return value


def text(params, name):
    """An optional text parameter: None when absent or blank; a NUL byte (no path or query holds one) is a 400."""
    value = params.get(name)
    if not isinstance(value, str):
        return None
    if "\0" in value:
        raise HTTPException(400, f"{name}: holds a NUL character, which no file name, query or filter can contain.")
    return value if value and value.strip() else None
