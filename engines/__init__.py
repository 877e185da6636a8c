"""Where the work runs: this process (LocalEngine) or a pool of Ray actors (RayEngine).

Embedding (models.embed) and generation (generation.generate) take an engine
object and call its small protocol (engines.base.Engine); `engine_for` builds
one from the command line's `--engine local|ray` and its options
(engines.choice). Ray is imported only in engines.ray_runtime. This file
imports nothing: `python -m devise.engines.ray_watchdog` must start at once.
"""
