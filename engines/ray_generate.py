"""`generate --engine ray`: one diffusers pipeline per Ray actor; the driver writes every file.

The actors only turn (prompts, seeds) into images, with the same per-image
CPU generators as a local run, so a (class, index) gets the same picture. The
driver hands batches out round-robin, a few ahead per actor so no actor waits
while it writes, and takes results back in plan order: the files, their PNG
text and metadata.jsonl go through the same code as locally (generation.generate).
"""
import collections
import contextlib
import os
from dataclasses import dataclass

from devise.core.errors import GenerateError, option
from devise.engines.ray_runtime import import_ray, job_error, ray_session
from devise.generation import pipeline as pipeline_mod

AHEAD = 2  # batches queued per actor: one running, one ready to start


class PipelineActor:
    """Holds one pipeline for its lifetime; `run` is generation.pipeline.run_batch on it."""

    def __init__(self, model, device, dtype, threads):
        import torch

        if threads:  # CPU actors: as many torch threads as the cores Ray gave the actor
            torch.set_num_threads(threads)
        self.pipe = pipeline_mod.load_pipeline(model, device, dtype)

    def describe(self):
        return pipeline_mod.label(self.pipe.device), pipeline_mod.label(self.pipe.dtype)

    def run(self, prompts, seeds, steps, guidance, size):
        return pipeline_mod.run_batch(self.pipe, prompts, seeds, steps, guidance, size)


@dataclass
class RayRunner:
    """What generate() needs from an engine: results of batches in order, and labels for the summary."""
    ray: object
    actors: list
    device: str
    dtype: str

    @property
    def workers(self):
        return len(self.actors)

    def results(self, jobs):
        """Yield (images, blank flags) for each (prompts, seeds, steps, guidance, size) job, in order."""
        pending = collections.deque()
        try:
            for number, job in enumerate(jobs):
                pending.append(self.actors[number % len(self.actors)].run.remote(*job))
                if len(pending) >= AHEAD * len(self.actors):
                    yield self.ray.get(pending.popleft())
            while pending:
                yield self.ray.get(pending.popleft())
        except GenerateError as exc:  # raised in an actor: keep devise's message, drop Ray's traceback
            raise GenerateError(str(getattr(exc, "cause", None) or exc).strip().splitlines()[-1]) from None
        except Exception as exc:
            raise job_error(exc, "generation") from exc


def check_options(device, gpus, workers):
    """Raise GenerateError for engine options that cannot work together, before anything starts."""
    if gpus < 0 or (workers is not None and workers < 1):
        raise GenerateError(f"{option('gpus')} must be at least 0 and {option('workers')} at least 1")
    if device == "cuda" and not gpus:
        raise GenerateError(f"{option('device', 'cuda')} with {option('engine', 'ray')} needs {option('gpus')} N (Ray gives GPUs only to actors that ask)")
    if device == "cpu" and gpus:
        raise GenerateError(f"{option('device', 'cpu')} contradicts {option('gpus')}; leave one out")
    import_ray()


@contextlib.contextmanager
def ray_runner(model, device, dtype, *, address=None, gpus=0, workers=None, notice=True):
    """Start one pipeline actor per GPU (`gpus` > 0) or `workers` CPU actors (default: one per CPU).

    The actors load their pipelines before this yields, so a model that cannot
    load fails here with the actor's own message.
    """
    cores = os.cpu_count() or 1
    count = gpus or workers or (None if address else cores)
    # On a local Ray each CPU actor gets its share of the cores as torch threads; on a
    # cluster, whose nodes devise cannot see, one core each.
    threads = 0 if gpus else 1 if address else max(1, cores // count)
    with ray_session(address, None if address else max(cores, count), notice=notice) as ray:
        try:
            have = ray.cluster_resources()
            count = count or max(1, int(have.get("CPU", 1)))
            # Ray would wait for ever for resources the cluster does not have.
            for wanted, kind in ((gpus, "GPU"), (count * max(threads, 1), "CPU")):
                if wanted > have.get(kind, 0):
                    raise GenerateError(f"{count} pipeline actor(s) need {wanted} {kind}(s), but the Ray "
                                        f"cluster has {int(have.get(kind, 0))}: lower --gpus or --workers")
            actor = ray.remote(num_cpus=max(threads, 1), num_gpus=1 if gpus else 0)(PipelineActor)
            actors = [actor.remote(model, device, dtype, threads) for _ in range(count)]
            labels = ray.get([a.describe.remote() for a in actors])
        except GenerateError as exc:
            raise GenerateError(str(getattr(exc, "cause", None) or exc).strip().splitlines()[-1]) from None
        except Exception as exc:
            raise job_error(exc, "generation") from exc
        yield RayRunner(ray, actors, *labels[0])
