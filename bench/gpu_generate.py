"""`generate` speed with sd-turbo's exact architecture, built from configs with random weights (nothing downloaded).

The pipeline is Stable Diffusion 2.1's UNet (UNet2DConditionModel with
sd-turbo's config), its VAE (AutoencoderKL) and an OpenCLIP ViT-H text encoder
(CLIPTextModel: 1024 wide, 23 layers, 16 heads), run as sd-turbo is: 1 step,
guidance 0, 512 px, float16 on CUDA. Speed does not depend on the weights'
values, so the images/minute are honest figures for sd-turbo itself; the
pictures are noise. Each batch size goes through devise's own `generate`
(PNG writing and metadata included) after one warm-up batch; peak GPU memory
is torch.cuda.max_memory_allocated over that run.

The tokenizer: the real CLIP BPE vocabulary (49,408 tokens) when the
open_clip package is installed (it ships bpe_simple_vocab_16e6.txt.gz), else a
minimal character vocabulary. Either pads every prompt to 77 tokens, so the
text encoder does the same work.

    python bench/gpu_generate.py [--batch-sizes 1,4,8,16] [--images-per-size 64] [--json]
    python bench/gpu_generate.py --tiny    # a tiny config on the CPU: proves the script runs
"""
import argparse
import gzip
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

# sd-turbo's (Stable Diffusion 2.1 base's) component configs.
UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
    act_fn="silu", norm_num_groups=32, norm_eps=1e-5, flip_sin_to_cos=True, freq_shift=0, downsample_padding=1,
    center_input_sample=False, mid_block_scale_factor=1, upcast_attention=False)
VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, act_fn="silu",
    norm_num_groups=32, sample_size=768, scaling_factor=0.18215)
TEXT = dict(vocab_size=49408, hidden_size=1024, intermediate_size=4096, num_attention_heads=16,
            num_hidden_layers=23, max_position_embeddings=77, projection_dim=1024, hidden_act="gelu",
            bos_token_id=49406, eos_token_id=49407, pad_token_id=49407)
SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                 prediction_type="epsilon", timestep_spacing="trailing", steps_offset=1)
# A tiny config of the same shape of pipeline, for --tiny on a CPU.
TINY_UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), norm_num_groups=8,
                 up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                 attention_head_dim=(2, 4), use_linear_projection=True)
TINY_VAE = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(32, 64), norm_num_groups=8,
                down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=64)
TINY_TEXT = dict(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                 max_position_embeddings=77, projection_dim=32, hidden_act="gelu")


def clip_bpe_file():
    """open_clip's copy of the CLIP BPE merges, found without importing open_clip; None if not installed."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    return path if path.is_file() else None


def _bytes_to_unicode():
    """CLIP's byte-to-character table (as in its SimpleTokenizer)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tokenizer(folder, tiny):
    """A CLIPTokenizer: the real CLIP vocabulary from open_clip's BPE file where there is one, else a minimal one."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    bpe = None if tiny else clip_bpe_file()
    if bpe is not None:
        with gzip.open(bpe, "rt", encoding="utf-8") as lines:
            merges = lines.read().split("\n")[1:49152 - 256 - 2 + 1]
        chars = _bytes_to_unicode()
        words = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges]
        words += ["<|startoftext|>", "<|endoftext|>"]
        vocab, kind = {w: i for i, w in enumerate(words)}, f"CLIP BPE, {len(words)} tokens, from {bpe}"
        merges_text = "#version: 0.2\n" + "\n".join(merges) + "\n"
    else:
        vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<|unk|>": 2}
        for ch in "abcdefghijklmnopqrstuvwxyz":
            vocab[ch] = len(vocab)
            vocab[ch + "</w>"] = len(vocab)
        kind, merges_text = "minimal character vocabulary (open_clip not installed)", "#version: 0.2\n"
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text(merges_text)
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77,
                        unk_token="<|unk|>" if bpe is None else "<|endoftext|>", pad_token="<|endoftext|>")
    return tok, kind


def build_pipeline(tiny, device, dtype, folder):
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tok, tok_kind = tokenizer(folder / "tokenizer", tiny)
    torch.manual_seed(0)
    text = dict(TINY_TEXT if tiny else TEXT, vocab_size=len(tok) if tiny else TEXT["vocab_size"])
    if tiny:
        text.update(bos_token_id=0, eos_token_id=1, pad_token_id=1)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))  # made in the run's dtype: no cast afterwards
    with torch.device(device):  # random init straight on the GPU: seconds instead of minutes on the CPU
        pipe = StableDiffusionPipeline(
            unet=UNet2DConditionModel(**(TINY_UNET if tiny else UNET)), vae=AutoencoderKL(**(TINY_VAE if tiny else VAE)),
            text_encoder=CLIPTextModel(CLIPTextConfig(**text)), tokenizer=tok,
            scheduler=EulerDiscreteScheduler(**SCHEDULER), safety_checker=None, feature_extractor=None,
            requires_safety_checker=False)
    torch.set_default_dtype(default)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for m in (pipe.unet, pipe.vae, pipe.text_encoder) for p in m.parameters())
    return pipe, tok_kind, params


def measure(pipe, size, batch, images, device, out):
    """images/minute of devise's generate() at one batch size, after a warm-up batch; peak GPU MiB."""
    import torch

    from devise.generation.generate import generate

    common = dict(model="bench/sd-turbo-architecture", steps=1, guidance=0.0, size=size, batch_size=batch,
                  pipeline=pipe)
    generate(["warm up"], out=out / f"warm-{batch}", per_class=batch, **common)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    summary = generate(["a cat", "a dog"], out=out / f"batch-{batch}", per_class=max(1, images // 2), **common)
    seconds = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None
    return {"batch_size": batch, "images": summary.generated, "seconds": round(seconds, 2),
            "images_per_minute": round(60 * summary.generated / seconds, 1),
            "peak_gpu_mib": round(peak) if peak is not None else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny config, 64 px, on the CPU")
    ap.add_argument("--batch-sizes", default=None, help="comma list (default 1,4,8,16; --tiny: 1,4)")
    ap.add_argument("--images-per-size", type=int, default=None, help="default 64 (--tiny: 8)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import torch

    device = "cpu" if args.tiny or not torch.cuda.is_available() else "cuda"
    dtype = "float16" if device == "cuda" else "float32"
    size = 64 if args.tiny else 512
    sizes = [int(b) for b in (args.batch_sizes or ("1,4" if args.tiny else "1,4,8,16")).split(",")]
    images = args.images_per_size or (8 if args.tiny else 64)
    out = Path(tempfile.mkdtemp(prefix="devise-gpu-generate-"))
    os.environ.setdefault("DEVISE_HOME", str(out / "home"))
    pipe, tok_kind, params = build_pipeline(args.tiny, device, dtype, out)
    rows = []
    for batch in sizes:
        try:
            rows.append(measure(pipe, size, batch, images, device, out))
        except Exception as exc:  # out of memory at a large batch: report it and go on
            rows.append({"batch_size": batch, "error": str(exc).splitlines()[0]})
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else None
    result = {"config": "tiny" if args.tiny else "sd-turbo architecture (SD 2.1 UNet, VAE, OpenCLIP ViT-H text)",
              "weights": "random (speed does not depend on weight values)", "parameters": params,
              "device": gpu or f"cpu ({os.cpu_count()} cores)", "dtype": dtype, "size": size, "steps": 1,
              "guidance": 0.0, "tokenizer": tok_kind, "runs": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['config']}, {params / 1e6:.0f} M parameters, random weights: speed does not depend on weight "
          "values" + ("; a tiny config: these figures only show the script runs" if args.tiny
                      else ", so these are sd-turbo's figures"))
    print(f"{result['device']}, {dtype}, {size} px, 1 step, guidance 0; tokenizer: {tok_kind}")
    print(f"{'batch':>6}{'images':>8}{'seconds':>9}{'images/min':>12}{'peak GPU MiB':>14}")
    for row in rows:
        if "error" in row:
            print(f"{row['batch_size']:>6}  failed: {row['error']}")
        else:
            peak = "-" if row["peak_gpu_mib"] is None else f"{row['peak_gpu_mib']:,}"
            print(f"{row['batch_size']:>6}{row['images']:>8}{row['seconds']:>9.1f}{row['images_per_minute']:>12.1f}"
                  f"{peak:>14}")


if __name__ == "__main__":
    main()
