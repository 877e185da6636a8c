"""Ray's floor for bench/scale_out.py: the price of running on Ray at all, measured with the model taken out.

`ModelFree` keeps everything of a backbone but its model: it loads as the
real one does, and the engines decode each image by its recipe, but predict
returns zeros. The same job with it on the local engine and on Ray shows
what Ray adds whatever the model costs; `ray.init` and `ray.shutdown` are
timed alone beside it. Set against the local job's time, that overhead says
how large a job must be before Ray's whole-job ratio (start-up included)
can reach GOAL on this machine.
"""
import time

import numpy as np

GOAL = 0.85  # the whole-job ratio asked of Ray with 2 workers (issue: >= 0.85 x local)


class ModelFree:
    """The backbone without its model: loads and decodes as the real one does, predicts zeros."""

    def __init__(self, backbone):
        self._backbone = backbone

    def __getattr__(self, name):
        return getattr(self._backbone, name)

    def predict(self, images):
        return np.zeros((len(images), self.feature_dim), np.float32), np.zeros((len(images), 1000), np.float32)


def model_free_factory(name):
    """engines.ray_embed.BACKBONE_FACTORY for the floor runs: each actor loads the real backbone, unused."""
    from devise.models.backbones import get_backbone

    return ModelFree(get_backbone(name))


def ray_init_seconds(workers):
    """Seconds for `ray.init` and `ray.shutdown` of a local Ray, nothing run on it."""
    from devise.engines.ray_runtime import QUIET, import_ray

    ray = import_ray()
    t0 = time.perf_counter()
    ray.init(num_cpus=workers, **QUIET)
    started = time.perf_counter()
    ray.shutdown()
    return {"init_s": round(started - t0, 2), "shutdown_s": round(time.perf_counter() - started, 2)}


def smallest_job(local, overhead_s):
    """Images a job needs before Ray's fixed `overhead_s` allows the GOAL ratio, at the local run's rate
    (and Ray's steady rate no better than local's): overhead <= (1/GOAL - 1) x the local job's time."""
    return int(np.ceil(overhead_s / (1 / GOAL - 1) * local["img_s"]))


def print_floor(size, run_name):
    """The floor table under a job size's table; `run_name` names a run as scale_out.py does."""
    local = size["runs"][0]
    allowed = local["seconds"] * (1 / GOAL - 1)
    init = size["floor"]["ray_init"]
    print(f"Ray's floor on the same images, no model (decoding and backbone loading kept); ray.init "
          f"{init['init_s']:.2f} s, ray.shutdown {init['shutdown_s']:.2f} s")
    print(f"{'engine, no model':<34}{'total s':>9}{'img/s':>8}{'start-up s':>12}{'Ray adds s':>12}"
          f"{'job for ' + format(GOAL, '.2f'):>14}")
    for run in size["floor"]["runs"]:
        extra = (f"{run['overhead_s']:>12.1f}{run['smallest_job_for_goal']:>14,}" if "overhead_s" in run else "")
        print(f"{run_name(run):<34}{run['seconds']:>9.1f}{run['img_s']:>8.1f}{run['startup_s']:>12.1f}{extra}")
    print(f"for a whole-job ratio of {GOAL} on {size['images']} images Ray may add at most {allowed:.2f} s to the "
          f"local job's {local['seconds']:.1f} s; 'job for {GOAL:.2f}': the fewest images at which its "
          f"overhead fits, at the local rate")
