"""The Ray engine: a pool of Ray actors, on a local Ray started here or the cluster at `address`."""
from __future__ import annotations

from dataclasses import dataclass

from devise.core.errors import GenerateError, option
from devise.engines.ray_embed import embed_into_cache_ray
from devise.engines.ray_generate import check_options, ray_runner
from devise.engines.ray_runtime import import_ray


@dataclass(frozen=True)
class RayEngine:
    """`workers` actors (default: one per CPU); embedding actors get `gpus_per_worker` GPUs each,
    generation runs one pipeline actor per GPU when `gpus` > 0."""
    address: str | None = None
    workers: int | None = None
    gpus_per_worker: float = 0.0
    gpus: int = 0
    name = "ray"

    def check(self):
        import_ray()

    def embed_into_cache(self, todo, backbone, cache, *, batch_size, progress):
        embed_into_cache_ray(todo, backbone, cache, batch_size, self.workers, self.address, progress,
                             self.gpus_per_worker)
        return {}  # the actors store unreadable files as error rows, like any other failure

    def check_pipelines(self, device, loaded=None):
        if loaded is not None:
            raise GenerateError(f"{option('engine', 'ray')} loads a pipeline in each actor: "
                                f"pass {option('model')}, not {option('pipeline')}")
        check_options(device, self.gpus, self.workers)

    def pipelines(self, model, device, dtype, *, loaded=None, notice=True):
        return ray_runner(model, device, dtype, address=self.address, gpus=self.gpus, workers=self.workers,
                          notice=notice)
