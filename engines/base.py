"""The small protocol every engine keeps: embedding and generation call only these methods.

An engine decides where the work runs (this process, or Ray actors); the
feature decides what the work is. So `models.embed` and
`generation.generate` never ask which engine they were given.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol


class Runner(Protocol):
    """Loaded diffusers pipelines: results of (prompts, seeds, steps, guidance, size) jobs, in order."""
    device: str | None
    dtype: str | None
    workers: int

    def results(self, jobs: Iterable[tuple]) -> Iterator[tuple[list, list]]: ...


class Engine(Protocol):
    name: str  # as `--engine` spells it: "local" or "ray"

    def check(self) -> None:
        """Raise an EngineError saying what to install, before any work starts."""

    def embed_into_cache(self, todo: list[str], backbone, cache, *, batch_size: int,
                         progress: bool) -> dict[str, str]:
        """Embed `todo` into the feature cache; {path: message} for files that could not be opened."""

    def check_pipelines(self, device: str, loaded=None) -> None:
        """Raise a GenerateError for generation options this engine cannot honour, before any work."""

    def pipelines(self, model: str, device: str, dtype: str | None, *, loaded=None,
                  notice: bool = True) -> AbstractContextManager[Runner]:
        """Load the pipelines (or use `loaded`, one already in this process) for as long as the block runs."""
