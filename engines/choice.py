"""The engine `--engine local|ray` names, built with its options."""
from __future__ import annotations

from devise.core.errors import EngineError, option
from devise.engines.base import Engine
from devise.engines.local import LocalEngine
from devise.engines.ray_engine import RayEngine

ENGINES = ("local", "ray")


def engine_for(engine: Engine | str = "local", *, address: str | None = None, workers: int | None = None,
               gpus_per_worker: float = 0.0, gpus: int = 0) -> Engine:
    """The engine `--engine NAME` and its options ask for; an engine object is returned as it is.

    workers: decoding threads locally, actors on Ray. address, gpus_per_worker
    and gpus are Ray's alone.
    """
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        ray_only = [option(name) for name, value in (("address", address), ("gpus_per_worker", gpus_per_worker),
                                                      ("gpus", gpus)) if value]
        if ray_only:
            raise EngineError(f"{' and '.join(ray_only)} {'needs' if len(ray_only) == 1 else 'need'} {option('engine', 'ray')}; "
                              "the local engine runs where this process runs.")
        return LocalEngine(workers=workers)
    if engine == "ray":
        return RayEngine(address=address, workers=workers, gpus_per_worker=gpus_per_worker or 0.0, gpus=gpus or 0)
    raise EngineError(f"engine {engine!r}: use one of {', '.join(ENGINES)}.")
