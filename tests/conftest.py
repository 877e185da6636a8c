"""Shared fixtures: an isolated DEVISE_HOME, a fake backbone, tiny image folders, GloVe, the CLI."""
import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from helpers import COLOURS, FakeBackbone, make_image, pattern

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `pytest -n auto` runs a worker on every core. An OpenMP library (scikit-learn's t-SNE, PyTorch) that also
    # takes every core spins against the other workers: a t-SNE of 48 points took 34 s instead of 1.2 s.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
# The bench scripts import each other by bare name; tests share their helpers (results_doc, fault_inject...) the same way.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))


@pytest.fixture(autouse=True)
def devise_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("DEVISE_HOME", str(home))
    from devise.core import home as home_module

    home_module.set_home(None)
    return home


@pytest.fixture
def fake_backbone(monkeypatch):
    import devise.models.backbones as backbones

    fake = FakeBackbone()

    def get_backbone(name=None):
        return fake

    monkeypatch.setattr(backbones, "get_backbone", get_backbone)
    monkeypatch.setattr(backbones, "DEFAULT_BACKBONE", "fake")
    return fake


@pytest.fixture
def backbone_calls(monkeypatch, fake_backbone):
    """The backbone names anything asked for, answered by the fake (a real one loads TensorFlow)."""
    import devise.models.backbones as backbones

    calls = []

    def counted(name=None):
        calls.append(name)
        return fake_backbone

    monkeypatch.setattr(backbones, "get_backbone", counted)
    return calls


@pytest.fixture
def colour_folder(tmp_path):
    """Six classes named by colour words, 8 noisy images each: learnable and in GloVe."""
    root = tmp_path / "colours"
    for ci, (name, rgb) in enumerate(COLOURS.items()):
        for i in range(8):
            make_image(root / name / f"{i:03d}.jpg", rgb, seed=ci * 100 + i)
    return root


@pytest.fixture(scope="session")
def glove_dir(tmp_path_factory):
    """The default GloVe in converted form, made once: converting it per test costs ~1.3 s each."""
    from devise.data import word_convert

    directory = tmp_path_factory.mktemp("glove") / "glove-6b-50d"
    directory.mkdir()
    word_convert.convert_default(directory, "glove-6b-50d")
    return directory


@pytest.fixture
def words_home(devise_home, glove_dir, monkeypatch):
    """A home with the default GloVe. `devise words` searches its 400k rows exactly: building their Annoy index
    (~20 s, once per process) is what bench/ann.py measures; tests/test_search.py checks the Annoy path."""
    from devise.data import words
    from devise.index import tuning

    monkeypatch.setitem(tuning.EXACT_BELOW, "words", 10**9)
    (devise_home / "words").mkdir(parents=True, exist_ok=True)
    os.symlink(glove_dir, devise_home / "words" / "glove-6b-50d")
    words.clear_cache()
    yield devise_home
    words.clear_cache()


@pytest.fixture
def run():
    """Invoke the CLI in-process; returns the click Result."""
    from devise.cli import cli

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture
def dup_folder(tmp_path):
    """3 classes x 5 distinct patterns, plus planted copies: JPEG q70, a 0.6x resize, 3 black, 2 white."""
    root = tmp_path / "patterns"
    for ci, cls in enumerate(["alpha", "beta", "gamma"]):
        (root / cls).mkdir(parents=True)
        for i in range(5):
            pattern(ci * 10 + i).save(root / cls / f"{i:03d}.png")
    (root / "copies").mkdir()
    Image.open(root / "alpha" / "001.png").convert("RGB").save(root / "copies" / "alpha_001_q70.jpg", quality=70)
    beta = Image.open(root / "beta" / "002.png")
    beta.resize((58, 43), Image.LANCZOS).save(root / "copies" / "beta_002_small.png")
    for i in range(3):
        Image.new("RGB", (80 + 10 * i, 60), (0, 0, 0)).save(root / "copies" / f"black_{i}.png")
    for i in range(2):
        Image.new("RGB", (64, 64), (255, 255, 255)).save(root / "copies" / f"white_{i}.jpg", quality=90)
    return root


TINY_IMAGE_SIZE = 32


@pytest.fixture
def dup_index(words_home, dup_folder, fake_backbone, run):
    """dup_folder, indexed with ConSE on the fake backbone."""
    result = run("index", dup_folder, "--json")
    assert result.exit_code == 0, result.output
    return dup_folder


def _tiny_tokenizer(folder):
    from transformers import CLIPTokenizer

    # Character-level BPE (no merges): enough for CLIP's tokenizer to run on any lowercase prompt.
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    folder.mkdir()
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    for name in ("diffusers", "transformers"):
        pytest.importorskip(name)
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    root = tmp_path_factory.mktemp("pipeline")
    tokenizer = _tiny_tokenizer(root / "tok")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=(2, 4), norm_num_groups=8)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=TINY_IMAGE_SIZE)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1))
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(root / "tiny")
    return root / "tiny"


@pytest.fixture(scope="session")
def tiny_pipe(tiny_model):
    from devise.generation.pipeline import load_pipeline

    return load_pipeline(str(tiny_model), device="cpu")
