"""The point of `generate`: its folder trains a model as it is (tiny offline pipeline, fake backbone)."""
import json

from devise.generation import generate as gen

from helpers import FAST


def test_train_runs_on_generated_folder(tiny_model, fake_backbone, tmp_path):
    from devise.models import model_store
    from devise.train.config import TrainConfig
    from devise.train.run import train_model

    data = tmp_path / "gen"
    summary = gen.generate(["cat", "dog", "car"], out=data, per_class=5, model=str(tiny_model), batch_size=5, **FAST)
    assert summary.generated == 15

    model_dir, split, _fitted, ds = train_model(data, tmp_path / "model", TrainConfig(holdout=0, epochs=3))
    assert sorted(ds.class_names) == ["car", "cat", "dog"] and not split.unseen and not ds.bad
    assert len(ds.paths) == 15  # metadata.jsonl is not mistaken for an image
    for name in ("manifest.json", "head.npz", "split.json"):
        assert (model_dir / name).is_file()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["classes"] == {"car": "car", "cat": "cat", "dog": "dog"} and manifest["backbone"] == "fake"
    loaded = model_store.load(model_dir)
    assert loaded.project(ds.features[:2]).shape == (2, ds.label_vectors.shape[1])
