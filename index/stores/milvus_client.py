"""Talking to Milvus: the URI check, one client per URI, and every failure as one line.

pymilvus costs 0.6-1 s to import, so it is imported here, on first use,
only when an index's store is Milvus.
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from devise.core.errors import SearchIndexError, option

TOKEN_ENV = "MILVUS_TOKEN"
TIMEOUT_S = 10                     # connecting to a server that is not there fails within this
_clients: dict[str, Any] = {}   # URI -> pymilvus.MilvusClient
_T = TypeVar("_T")


def is_lite(uri: str | Path) -> bool:
    """Whether `uri` names a Milvus Lite .db file (one process at a time) rather than a server."""
    return "://" not in str(uri) and str(uri).endswith(".db")


def check_uri(uri: object) -> str:
    """The URI as stored: an absolute path for Milvus Lite, else http(s)://host:port; anything else is an error."""
    text = str(uri or "").strip()
    if text.endswith(".db") and "://" not in text:
        return str(Path(text).expanduser().resolve())
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme in ("http", "https") and parts.hostname and port and not parts.path.strip("/"):
        return f"{parts.scheme}://{parts.hostname}:{port}"
    raise SearchIndexError(f"{option('uri', text)}: give a path ending in .db (Milvus Lite) or http(s)://host:port "
                           f"(a Milvus server), e.g. {option('uri', 'http://localhost:19530')}.")


def _one_line(exc):
    text = " ".join(str(getattr(exc, "message", None) or exc).split())
    return text[:200] or exc.__class__.__name__


def client(uri: str) -> Any:
    """One MilvusClient per URI and process (Milvus Lite lets only one process open a .db file)."""
    if uri in _clients:
        return _clients[uri]
    try:
        from pymilvus import MilvusClient
        # pymilvus logs each failed RPC with a traceback, and Milvus Lite's in-process gRPC server logs
        # the calls it does not implement (pymilvus probes some): devise says what failed in one line.
        for logger in ("pymilvus", "grpc._server"):
            logging.getLogger(logger).setLevel(logging.CRITICAL)
    except ImportError:
        raise SearchIndexError("the Milvus store needs pymilvus and milvus-lite: pip install 'devise[milvus]'.") from None
    if uri.endswith(".db"):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        found = MilvusClient(uri=uri, token=os.environ.get(TOKEN_ENV, ""), timeout=TIMEOUT_S)
        found.list_collections(timeout=TIMEOUT_S)  # a wrong token fails here, not on the first search
    except Exception as exc:  # pymilvus raises MilvusException, grpc and OS errors alike
        if uri.endswith(".db"):
            raise SearchIndexError(f"Milvus Lite {uri}: {_one_line(exc)}; only one process can open a .db file at "
                                   f"a time: stop the other one (e.g. `devise serve`), or use a Milvus server.") from None
        raise SearchIndexError(f"Milvus at {uri}: {_one_line(exc)}; check the URI, that the server is up and "
                               f"that ${TOKEN_ENV} holds a valid token.") from None
    _clients[uri] = found
    return found


def close(uri: str | None = None) -> None:
    """Close the client of `uri` (None: every one), and stop its Milvus Lite, so another process can open the file."""
    for key in [uri] if uri is not None else list(_clients):
        found = _clients.pop(key, None)
        if found is None:
            continue
        with contextlib.suppress(Exception):
            found.close()
        if key.endswith(".db"):
            with contextlib.suppress(Exception):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(key)


def call(uri: str, what: str, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """fn(*args, **kwargs), with any Milvus failure as one SearchIndexError line."""
    try:
        return fn(*args, **kwargs)
    except SearchIndexError:
        raise
    except Exception as exc:
        raise SearchIndexError(f"Milvus at {uri}: {what} failed ({_one_line(exc)}).") from None


def literal(text: str) -> str:
    """A Milvus string literal: double-quoted; backslash, quote and line breaks escaped (Milvus Lite has no templates)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
