"""Trainer, ConSE, metrics and evaluation on tiny colour folders with a fake backbone."""
import json

import numpy as np
import pytest

from devise.core.errors import ModelError, VocabularyError
from devise.data.labels import class_phrases, default_phrase, read_label_map
from devise.train import metrics


def test_default_phrases():
    assert default_phrase("car_side") == "car side"
    assert default_phrase("Faces_easy") == "faces easy"
    assert default_phrase("waterLily") == "water lily"


def test_label_map_formats(tmp_path):
    txt = tmp_path / "map.txt"
    txt.write_text("# comment\nwater_lilly = water lily\n")
    js = tmp_path / "map.json"
    js.write_text(json.dumps({"Faces": "face"}))
    assert class_phrases(["water_lilly", "cup"], read_label_map(txt)) == {"water_lilly": "water lily", "cup": "cup"}
    assert read_label_map(js) == {"Faces": "face"}


def test_unknown_phrase_is_reported_by_name():
    from devise.data.labels import phrase_vectors
    from devise.data.words import load_words

    with pytest.raises(VocabularyError, match="zzqxv_blorf"):
        phrase_vectors({"zzqxv_blorf": "zzqxv blorf", "cat": "cat"}, load_words())


def test_hits_at_k_and_calibrated_stacking():
    labels = np.eye(3, dtype=np.float32)
    images = np.array([[0.9, 0.5, 0.0], [0.1, 0.2, 0.9]], np.float32)
    assert metrics.hits_at_k(images, labels, [1, 2], ks=(1, 2)) == {"hit@1": 0.5, "hit@2": 1.0}
    # Penalising label 0 (a "seen" label) by 0.5 lets the true label 1 win.
    bias = np.array([-0.5, 0, 0], np.float32)
    assert metrics.hits_at_k(images, labels, [1, 2], ks=(1,), label_bias=bias) == {"hit@1": 1.0}
    assert metrics.harmonic(0.5, 1.0) == pytest.approx(2 / 3)


def test_conse_is_a_convex_combination_of_label_vectors():
    from devise.data.words import load_words
    from devise.models.conse import ConSE

    conse = ConSE(load_words(), top_t=1)
    logits = np.full((1, 1000), -10.0, np.float32)
    logits[0, 967] = 10.0  # espresso
    vec = conse.project(logits)[0]
    assert np.allclose(vec, conse.label_vectors[967], atol=1e-5)


@pytest.mark.parametrize("loss", ["softmax", "cosine", "hinge"])
def test_train_evaluate_and_reload(tmp_path, colour_folder, fake_backbone, loss):
    import devise
    from devise.data.folders import scan
    from devise.models import model_store
    from devise.models.embed import embed_paths

    out = tmp_path / "model"
    trained = devise.train(colour_folder, out=out, holdout_classes=["yellow"], loss=loss, epochs=5, heads=1)
    assert trained.unseen == ["yellow"] and "yellow" not in trained.seen
    assert trained.train_images + trained.test_seen_images == 40 and trained.test_unseen_images == 8
    split = json.loads((out / "split.json").read_text())
    assert set(split["test_seen"]).isdisjoint(split["train"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backbone"] == "fake" and manifest["words"] == "glove-6b-50d" and manifest["word_dim"] == 50
    assert manifest["unseen"] == ["yellow"] and manifest["loss"] == loss
    from devise.train import losses

    expected = {"softmax": {"temperature": losses.SOFTMAX_TEMPERATURE}, "hinge": {"margin": losses.HINGE_MARGIN}}
    assert manifest["loss_params"] == expected.get(loss, {})
    assert manifest["head"]["input_dropout"] == 0.2
    assert (out / "head.keras").is_file() and (out / "split.json").is_file()
    model = model_store.load(out)
    vecs = model.project(embed_paths(scan(colour_folder).paths[:3], progress=False).features)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    report = devise.evaluate(colour_folder, model=out).to_dict()
    for key in ("zsl", "gzsl_unseen", "gzsl_seen"):
        assert set(report[key]) == {"hit@1", "hit@2", "hit@5", "hit@10"}
        assert set(report["baselines"]["conse"][key]) == set(report[key])
    assert report["zsl"]["hit@1"] == 1.0  # one unseen class: ZSL is trivially right
    assert 0 <= report["gzsl_h"] <= 1


def test_evaluate_several_splits_reports_std(colour_folder, fake_backbone):
    from devise.train.evaluation import evaluate

    report = evaluate(colour_folder, holdout=0.34, splits=2, epochs=3, heads=1)
    assert report.splits == 2 and len(report.runs) == 2
    assert report.runs[0]["unseen"] != report.runs[1]["unseen"]
    assert "hit@1" in report.std["zsl"]


def test_feature_cache_only_embeds_changes(colour_folder, fake_backbone):
    from devise.data.folders import scan
    from devise.models.embed import embed_paths

    from helpers import make_image

    first = embed_paths(scan(colour_folder).paths, progress=False)
    assert first.computed == 48
    make_image(colour_folder / "red" / "new.jpg", (200, 0, 0), seed=99)
    second = embed_paths(scan(colour_folder).paths, progress=False)
    assert second.computed == 1 and len(second.paths) == 49


def test_load_rejects_mismatched_model(tmp_path, colour_folder, fake_backbone):
    from devise.models import model_store
    from devise.train.run import train

    train(colour_folder, out=tmp_path / "m", holdout_classes=["yellow"], epochs=2, heads=1)
    with pytest.raises(ModelError, match="backbone"):
        model_store.load(tmp_path / "m", backbone="vgg16")
    with pytest.raises(ModelError, match="no such model"):
        model_store.load(tmp_path / "missing")


def test_evaluate_with_separate_test_dir(tmp_path, colour_folder, fake_backbone):
    from devise.train.evaluation import evaluate

    from helpers import COLOURS, make_image

    test_dir = tmp_path / "test"
    # Only some classes, so the test folder's class order differs from the training folder's.
    for ci, name in enumerate(["blue", "white", "yellow"]):
        for i in range(3):
            make_image(test_dir / name / f"t{i}.jpg", COLOURS[name], seed=1000 + ci * 10 + i)
    report = evaluate(colour_folder, test_dir=test_dir, holdout_classes=["yellow", "white"], epochs=3, heads=1)
    run = report.runs[0]
    assert run["n_test_unseen"] == 6 and run["n_test_seen"] == 3
    # Test images come from the test folder only: a blue test image is scored as "blue".
    assert 0 <= report.gzsl_h <= 1 and report.zsl["hit@1"] >= 0.5


def test_label_anchoring_moves_labels_onto_imagenet_class_vectors():
    from devise.data.words import load_words
    from devise.models.conse import ConSE

    conse = ConSE(load_words())
    labels = load_words().phrase_matrix(["coffee", "violin"])
    assert np.array_equal(conse.anchor(labels, 0.0), labels)  # tau 0: off
    anchored = conse.anchor(labels, 0.05)
    assert np.allclose(np.linalg.norm(anchored, axis=1), 1, atol=1e-5)
    assert not np.allclose(anchored, labels)
    # An ImageNet class's own vector, at a sharp temperature, is anchored onto itself.
    own = conse.anchor(conse.label_vectors[[967]], 1e-4)
    assert np.allclose(own[0], conse.label_vectors[967], atol=1e-4)


def test_novelty_rate_and_novelty_calibration_hit_the_target():
    from devise.train import trainer

    labels = np.eye(2, dtype=np.float32)            # label 0 seen, label 1 unseen
    seen_mask = np.array([True, False])
    # Seen images whose margin for the seen label is 0.0, 0.1, ..., 0.9: gamma g sends those below g to unseen.
    margins = np.linspace(0.0, 0.9, 10)
    images = np.stack([0.5 + margins / 2, 0.5 - margins / 2], axis=1).astype(np.float32)
    assert metrics.novelty_rate(images, labels, seen_mask, 0.0) == 0.0
    assert metrics.novelty_rate(images, labels, seen_mask, 0.35) == pytest.approx(0.4)
    # Two (anchor, blend) groups over the gamma grid: the novelty rule takes, in each, the gamma whose
    # rate is nearest the target, then the group scoring best there, not the best score overall.
    n = len(trainer.GAMMAS)
    novelty = np.concatenate([np.linspace(0, 0.5, n), np.linspace(0, 1.0, n)])
    zsl = np.zeros(2 * n)
    h = np.concatenate([np.full(n, 0.5), np.full(n, 0.4)])
    h[n - 1] = 0.9  # the best H overall, at a novelty rate far above the target
    assert trainer._pick(zsl, h, novelty, "h") == n - 1
    pick = trainer._pick(zsl, h, novelty, "novelty")
    assert pick < n and abs(novelty[pick] - trainer.NOVELTY_TARGET) == np.abs(novelty[:n] - trainer.NOVELTY_TARGET).min()


def test_models_saved_without_label_anchoring_score_plain_labels(tmp_path, colour_folder, fake_backbone):
    import devise
    from devise.data.words import load_words
    from devise.models import model_store
    from devise.models.conse import ConSE

    out = tmp_path / "model"
    trained = devise.train(colour_folder, out=out, holdout_classes=["yellow"], epochs=2, heads=1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["label_anchor"] == trained.anchor and "tau" in trained.anchor
    conse = ConSE(load_words())
    labels = load_words().phrase_matrix(["red", "green"])
    loaded = model_store.load(out)
    assert loaded.is_seen(labels).tolist() == [True, True]  # red and green were trained on; yellow was not
    for scope in ("all", "unseen"):  # whichever scope the folds chose, each behaves as documented
        loaded.anchor = {**trained.anchor, "tau": trained.anchor["tau"] or 0.05, "scope": scope}
        expected = conse.anchor(labels, loaded.anchor["tau"]) if scope == "all" else labels
        assert np.allclose(loaded.labels(labels, conse), expected)
    mixed = load_words().phrase_matrix(["red", "yellow"])
    assert np.allclose(loaded.labels(mixed, conse), [mixed[0], conse.anchor(mixed[1:], loaded.anchor["tau"])[0]], atol=1e-6)
    # A model folder from before label anchoring: no "label_anchor" in its manifest.
    del manifest["label_anchor"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    old = model_store.load(out)
    assert np.array_equal(old.labels(labels, conse), labels)


def test_softmax_loss_is_cross_entropy_over_tempered_label_cosines():
    from devise.models.tensorflow_env import import_keras
    from devise.train.losses import SOFTMAX_TEMPERATURE, make_loss

    keras = import_keras()
    rng = np.random.default_rng(0)
    labels = rng.normal(size=(4, 8)).astype(np.float32)
    labels /= np.linalg.norm(labels, axis=1, keepdims=True)
    pred = rng.normal(size=(3, 8)).astype(np.float32)
    pred /= np.linalg.norm(pred, axis=1, keepdims=True)
    y = np.array([0, 2, 3])
    got = np.asarray(keras.ops.convert_to_numpy(make_loss("softmax", labels)(y, pred)))
    logits = pred @ labels.T / SOFTMAX_TEMPERATURE
    logits -= logits.max(axis=1, keepdims=True)
    expected = -(logits[np.arange(3), y] - np.log(np.exp(logits).sum(axis=1)))
    assert np.allclose(got, expected, atol=1e-4)
    # A prediction on its own label loses less than one on another label.
    on_label = make_loss("softmax", labels)(np.array([1]), labels[1:2])
    off_label = make_loss("softmax", labels)(np.array([1]), labels[2:3])
    assert float(keras.ops.convert_to_numpy(on_label)[0]) < float(keras.ops.convert_to_numpy(off_label)[0])


def test_the_evaluation_table_names_each_alternative_calibrations_picks():
    """A calibration row of the table comes with what it picked on every run: gamma, label anchor, seen blend."""
    from devise.train.report import evaluation_table

    def rep(v):
        block = {k: v for k in ("hit@1", "hit@2", "hit@5", "hit@10")}
        return {"zsl": block, "gzsl_unseen": block, "gzsl_seen": block, "gzsl_h": v}

    runs = [{"gamma": 0.1, "anchor": {"tau": 0.05, "scope": "unseen"},
             "alternatives": {"novelty": {"gamma": 0.0, "anchor": {"tau": t}, "blend": {"alpha_seen": a}}}}
            for t, a in ((0.03, 0.6), (0.1, 0.8))]
    report = {**rep(0.7), "splits": 2, "backbone": "b", "words": "w", "runs": runs,
              "baselines": {"chance": rep(0.1), "conse": rep(0.5), "calibration=novelty": rep(0.6)}}
    footer = evaluation_table(report).splitlines()[-1]
    assert "novelty calibration's gamma [0.0, 0.0], label anchor tau [0.03, 0.1], seen blend [0.6, 0.8]" in footer
    assert "novelty calib." in evaluation_table(report)
