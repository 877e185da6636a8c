"""Engines: `--engine NAME` and its options build one engine object, and embedding and generation
call only the engine's small protocol (engines.base.Engine), whichever engine it is."""
import contextlib

import numpy as np
import pytest

from devise.core.errors import EngineError, GenerateError
from devise.data.folders import scan
from devise.engines.choice import engine_for
from devise.engines.local import LocalEngine
from devise.engines.ray_engine import RayEngine
from devise.generation import generate as gen
from devise.models.embed import embed_paths

from helpers import FAST


def test_engine_for_builds_the_engine_its_name_and_options_ask_for():
    assert engine_for("local") == LocalEngine()
    assert engine_for("local", workers=3) == LocalEngine(workers=3)
    assert engine_for("ray", address="head:6379", workers=8, gpus_per_worker=0.5) == \
        RayEngine(address="head:6379", workers=8, gpus_per_worker=0.5)
    ray = RayEngine(workers=2)
    assert engine_for(ray) is ray  # an engine object stands for itself
    assert (engine_for("local").name, ray.name) == ("local", "ray")


@pytest.mark.parametrize(("options", "named"), [
    ({"address": "head:6379"}, "address="),
    ({"gpus_per_worker": 1.0}, "gpus_per_worker="),
    ({"gpus": 2}, "gpus="),
])
def test_ray_options_with_the_local_engine_are_refused_by_name(options, named):
    with pytest.raises(EngineError, match=f"{named} needs engine='ray'"):
        engine_for("local", **options)


def test_an_unknown_engine_is_refused_with_the_known_ones():
    with pytest.raises(EngineError, match="use one of local, ray"):
        engine_for("dask")


class Recording:
    """An engine that runs locally and records every protocol call: what embedding and generation may use."""

    name = "recording"

    def __init__(self):
        self.calls = []
        self.local = LocalEngine(workers=1)

    def check(self):
        self.calls.append("check")

    def embed_into_cache(self, todo, backbone, cache, *, batch_size, progress):
        self.calls.append(("embed", len(todo), batch_size))
        return self.local.embed_into_cache(todo, backbone, cache, batch_size=batch_size, progress=progress)

    def check_pipelines(self, device, loaded=None):
        self.calls.append(("check_pipelines", device))

    @contextlib.contextmanager
    def pipelines(self, model, device, dtype, *, loaded=None, notice=True):
        self.calls.append(("pipelines", device))
        with self.local.pipelines(model, device, dtype, loaded=loaded, notice=notice) as runner:
            yield runner


def test_embedding_runs_on_the_engine_it_is_given(fake_backbone, colour_folder):
    paths = scan(colour_folder).paths[:10]
    engine = Recording()
    given = embed_paths(paths, fake_backbone, batch_size=4, progress=False, engine=engine)
    assert engine.calls == ["check", ("embed", 10, 4)]
    again = embed_paths(paths, fake_backbone, progress=False, engine=engine)  # all cached: no work for the engine
    assert engine.calls[2:] == ["check"] and again.computed == 0
    assert given.paths == again.paths and np.allclose(given.features, again.features)


def test_generation_runs_on_the_engine_it_is_given(tiny_pipe, tmp_path):
    engine = Recording()
    summary = gen.generate(["cat"], out=tmp_path / "g", per_class=2, pipeline=tiny_pipe, batch_size=2, engine=engine,
                           **FAST)
    assert engine.calls == [("check_pipelines", "cpu"), ("pipelines", "cpu")]
    assert (summary.engine, summary.generated) == ("recording", 2)


def test_the_ray_engine_refuses_a_loaded_pipeline_before_any_work(tmp_path):
    with pytest.raises(GenerateError, match="loads a pipeline in each actor"):
        gen.generate(["cat"], out=tmp_path / "g", pipeline=object(), engine="ray")
    assert not (tmp_path / "g").exists()
