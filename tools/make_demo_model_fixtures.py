#!/usr/bin/env python3
"""Writes Tests/DiffusionTests/Fixtures/demo-model/: diffusers' img2img on the shipped demo model (models/demo), the
contact sheet's settings (DPM-Solver++ 2M, 30 steps, guidance 7.5, 128x128), with given noise, so a Swift test can
hold `dataengine generate`'s engine to diffusers on the real shipped model (issue 6).

One safetensors file per case `<image>-s<strength>.safetensors`:
  posterior_noise, latent_noise  (1, C, H/f, W/f)  the noise (DiffusionNoise's keys; C latent channels, f the VAE's
                                                   scale factor: (1, 4, 16, 16) for a factor-8 VAE at 128 px)
  image                          (1, 3, 128, 128) the reference image's 8-bit values (float16, exact integers)
  final_latent                   (1, C, H/f, W/f)
  image_u8                       (1, 3, 128, 128) the output's 8-bit values as diffusers' postprocess rounds them
                                 (float16, exact integers)
and manifest.json with the prompts. The reference image is the val JPEG decoded by Pillow; the Swift test uses the
stored 8-bit values, so JPEG decoders cannot differ.

Usage: /root/venv-ref/bin/python tools/make_demo_model_fixtures.py [--model models/demo] [--rows 2]
"""
import argparse
import json
import os
import sys

import numpy as np
import safetensors.torch
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import make_fixtures as fx  # noqa: E402

STRENGTHS = [0.3, 0.6, 1.0]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "demo"))
    ap.add_argument("--out", default=os.path.join(REPO, "Tests/DiffusionTests/Fixtures/demo-model"))
    ap.add_argument("--rows", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer
    ctx = {"tokenizer": CLIPTokenizer.from_pretrained(args.model, subfolder="tokenizer"),
           "text_encoder": CLIPTextModel.from_pretrained(args.model, subfolder="text_encoder", torch_dtype=torch.float32,
                                                         attn_implementation="eager"),
           "vae": AutoencoderKL.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32),
           "unet": UNet2DConditionModel.from_pretrained(args.model, subfolder="unet", torch_dtype=torch.float32)}
    vae_config = ctx["vae"].config
    factor = 2 ** (len(vae_config.block_out_channels) - 1)  # diffusers' vae_scale_factor
    with open(os.path.join(args.model, "scheduler", "scheduler_config.json")) as f:
        scheduler_config = json.load(f)
    with open(os.path.join(REPO, "data/demo/coco/annotations/captions_val.json")) as f:
        captions = json.load(f)
    first_caption = {}
    for a in captions["annotations"]:
        first_caption.setdefault(a["image_id"], a["caption"])
    images = sorted(captions["images"], key=lambda im: im["id"])[: args.rows]
    os.makedirs(args.out, exist_ok=True)
    manifest = {"generator": "tools/make_demo_model_fixtures.py", "scheduler": "dpm-solver++", "steps": 30,
                "guidance": fx.GUIDANCE_SCALE, "cases": []}
    gen = torch.Generator().manual_seed(0)
    for im in images:
        path = os.path.join(REPO, "data/demo/coco/val", im["file_name"])
        rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        u8 = torch.from_numpy(rgb.astype(np.float32)).permute(2, 0, 1)[None]
        image = u8 / 127.5 - 1
        prompt = first_caption[im["id"]]
        for strength in STRENGTHS:
            pipe = fx.img2img_pipeline(ctx, fx.make_scheduler("dpm", scheduler_config))
            with torch.no_grad():
                positive, negative = pipe.encode_prompt(prompt, "cpu", 1, True, "")
                shape = (1, vae_config.latent_channels, image.shape[2] // factor, image.shape[3] // factor)
                posterior, latent = torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)
                out = fx.run_img2img(pipe, image, torch.cat([negative, positive]), strength, 30, None, posterior, latent,
                                     lambda i: None)
            name = f"{os.path.splitext(im['file_name'])[0]}-s{strength}"
            safetensors.torch.save_file({"posterior_noise": posterior, "latent_noise": latent,
                                         "image": u8.to(torch.float16).contiguous(), "final_latent": out["final_latent"].contiguous(),
                                         "image_u8": out["image_u8"].to(torch.float16).contiguous()},
                                        os.path.join(args.out, name + ".safetensors"))
            manifest["cases"].append({"name": name, "prompt": prompt, "strength": strength,
                                      "timesteps": [int(t) for t in out["timesteps"]]})
            print(name, prompt)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
