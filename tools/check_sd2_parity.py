#!/usr/bin/env python3
"""Parity of `dataengine generate` with diffusers at the FULL Stable Diffusion 2 (base) architecture, random weights.

The committed fixtures (Tests/DiffusionTests/Fixtures/parity) are tiny; this script checks the real sizes by hand
(not in CI: it writes a 2.6 GB model folder and needs ~12 GB of memory and a few minutes on 2 cores):

  1. writes a diffusers folder with SD2-base's UNet (865 M parameters), VAE and 23-layer text encoder configs,
     seeded random weights (tools/make_fixtures.py's initialiser, stored as fp16 like SD's fp16 checkpoints), the
     small fixture tokenizer (the text encoder's vocabulary is sized to it) and SD2-base's scheduler config;
  2. writes an input JPEG and the noise (posterior_noise, latent_noise, DDIM's step_noise.<i>) as safetensors;
  3. runs `dataengine generate --noise ... --dump-latents ... --dump-taps ...`;
  4. runs diffusers' img2img on the same folder (float32, from the same fp16 weights) with the same noise, written
     out with diffusers' own pieces as in tools/make_fixtures.py (checked there against the real __call__);
  5. compares every latent and the taps: max |a - b| relative to the largest |b|; fails above --tolerance.

Usage:
  swift build -c release
  /root/venv-ref/bin/python tools/check_sd2_parity.py [--work /tmp/sd2-parity] [--size 256] \
      [--scheduler dpm-solver++|ddim] [--steps 10] [--strength 0.3] [--eta 0.3]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import safetensors.torch
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as fx  # noqa: E402  (randomize_, run_img2img, make_scheduler, img2img_pipeline)
import taps  # noqa: E402

from diffusers import AutoencoderKL, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIXTURE_TOKENIZER = os.path.join(REPO, "Tests/DiffusionTests/Fixtures/parity/sd2-like/tokenizer")

# stabilityai/stable-diffusion-2-base: vae/config.json, text_encoder/config.json (vocabulary resized), scheduler.
SD2_VAE = {"act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
           "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
           "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
           "sample_size": 512, "scaling_factor": 0.18215}
SD2_TEXT = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 23, "num_attention_heads": 16,
            "max_position_embeddings": 77, "hidden_act": "gelu", "projection_dim": 512, "layer_norm_eps": 1e-5}
SD2_SCHEDULER = {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                 "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
                 "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                 "trained_betas": None}
PROMPT = "a photo of a red circle and a blue square"
NEGATIVE = "blurry"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def build_folder(folder, seed):
    if os.path.exists(os.path.join(folder, "model_index.json")):
        log(f"reusing {folder}")
        return
    tmp = folder + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    gen = torch.Generator().manual_seed(seed)
    shutil.copytree(FIXTURE_TOKENIZER, os.path.join(tmp, "tokenizer"))
    tok = CLIPTokenizer.from_pretrained(os.path.join(tmp, "tokenizer"))
    text_cfg = CLIPTextConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                              pad_token_id=tok.pad_token_id, **SD2_TEXT)
    parts = {
        "text_encoder": CLIPTextModel(text_cfg),
        "vae": AutoencoderKL(**{k: v for k, v in SD2_VAE.items()}),
        "unet": UNet2DConditionModel(**{k: v for k, v in taps.SD2_BASE_UNET_CONFIG.items() if not k.startswith("_")}),
    }
    for name, model in parts.items():
        log(f"random {name}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters")
        fx.randomize_(model, gen)
        model.half().save_pretrained(os.path.join(tmp, name), safe_serialization=True)
        del model
    os.makedirs(os.path.join(tmp, "scheduler"))
    with open(os.path.join(tmp, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(SD2_SCHEDULER, f, indent=2)
    with open(os.path.join(tmp, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "feature_extractor": [None, None],
                   "requires_safety_checker": False, "safety_checker": [None, None],
                   "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
    os.rename(tmp, folder)
    log(f"wrote {folder}")


def relative(a, b):
    a, b = a.float(), b.float()
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/sd2-parity")
    ap.add_argument("--engine", default=os.path.join(REPO, ".build/release/dataengine"))
    ap.add_argument("--size", type=int, default=256, help="image side in pixels (latent = size / 8)")
    ap.add_argument("--scheduler", choices=["dpm-solver++", "ddim"], default="dpm-solver++")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--strength", type=float, default=0.3)
    ap.add_argument("--eta", type=float, default=0.3, help="DDIM only")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tolerance", type=float, default=1e-3, help="relative, for every latent and tap group")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    folder = os.path.join(args.work, "sd2-base-random")
    build_folder(folder, args.seed)

    size, latent = args.size, args.size // 8
    pattern = fx.image_pattern(1, size, size)[0]  # (3, H, W) in [-1, 1]
    rgb = ((pattern.permute(1, 2, 0).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
    image_path = os.path.join(args.work, "input.jpg")
    Image.fromarray(rgb).save(image_path, quality=100, subsampling=0)

    ddim = args.scheduler == "ddim"
    eta = args.eta if ddim else 0.0
    gen = torch.Generator().manual_seed(args.seed + 1)
    shape = (1, 4, latent, latent)
    noise = {"posterior_noise": torch.randn(shape, generator=gen), "latent_noise": torch.randn(shape, generator=gen)}
    for i in range(args.steps):
        noise[f"step_noise.{i}"] = torch.randn(shape, generator=gen)
    noise_path = os.path.join(args.work, "noise.safetensors")
    safetensors.torch.save_file(noise, noise_path)

    out = {k: os.path.join(args.work, f"engine-{k}") for k in ("image.jpg", "latents.safetensors", "taps.safetensors")}
    command = [args.engine, "generate", "--model", folder, "--image", image_path, "--prompt", PROMPT,
               "--negative-prompt", NEGATIVE, "--strength", str(args.strength), "--steps", str(args.steps),
               "--guidance", str(fx.GUIDANCE_SCALE), "--scheduler", args.scheduler, "--eta", str(eta),
               "--noise", noise_path, "--out", out["image.jpg"], "--dump-latents", out["latents.safetensors"],
               "--dump-taps", out["taps.safetensors"], "--threads", str(args.threads)]
    log("engine: " + " ".join(command))
    start = time.time()
    subprocess.run(command, check=True)
    engine_seconds = time.time() - start
    engine_latents = safetensors.torch.load_file(out["latents.safetensors"])
    engine_taps = safetensors.torch.load_file(out["taps.safetensors"])

    log("diffusers")
    start = time.time()
    ctx = {"tokenizer": CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer"),
           "text_encoder": CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", torch_dtype=torch.float32,
                                                         attn_implementation="eager"),
           "vae": AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float32),
           "unet": UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float32)}
    scheduler = fx.make_scheduler("ddim" if ddim else "dpm", SD2_SCHEDULER)
    pipe = fx.img2img_pipeline(ctx, scheduler)
    with torch.no_grad():
        positive, negative = pipe.encode_prompt(PROMPT, "cpu", 1, True, NEGATIVE)
        image = pipe.image_processor.preprocess(Image.open(image_path).convert("RGB"))
        ref = fx.run_img2img(pipe, image, torch.cat([negative, positive]), args.strength, args.steps, eta,
                             noise["posterior_noise"], noise["latent_noise"], lambda i: noise[f"step_noise.{i}"])
    reference_seconds = time.time() - start

    rows = [("reference_latent", engine_latents["reference_latent"], ref["reference_latent"]),
            ("noised", engine_latents["noised"], ref["noised"])]
    rows += [(f"step.{i}", engine_latents[f"step.{i}"], s) for i, s in enumerate(ref["steps"])]
    rows += [("final_latent", engine_latents["final_latent"], ref["final_latent"])]
    rows += [(f"taps {k}", engine_taps[k], v) for k, v in ref["taps"].items()]
    timesteps = [int(t) for t in ref["timesteps"]]
    assert [int(t) for t in engine_latents["timesteps"].tolist()] == timesteps, "different timesteps"
    assert float(engine_taps["taps_timestep"][0]) == float(timesteps[-1]), "taps at another timestep"
    print(f"\nSD2-base architecture, random weights, {size}x{size} (latent {latent}), {args.scheduler}, "
          f"strength {args.strength} of {args.steps} steps (t = {timesteps}), guidance {fx.GUIDANCE_SCALE}")
    worst = 0.0
    for name, a, b in rows:
        r = relative(a, b)
        worst = max(worst, r)
        print(f"  {name:18s} {str(tuple(b.shape)):22s} relative max error {r:.2e}")
    print(f"  engine {engine_seconds:.1f} s (whole command, with loading), diffusers {reference_seconds:.1f} s "
          f"(loading, prompt, loop, decode)")
    ok = worst <= args.tolerance
    print(f"  worst {worst:.2e}: {'PASS' if ok else 'FAIL'} (tolerance {args.tolerance:g})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
