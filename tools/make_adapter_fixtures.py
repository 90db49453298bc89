#!/usr/bin/env python3
"""Writes the Detection-Adapter parity fixtures of Tests/AdapterTests/Fixtures (docs/adapter.md).

Each case is a folder with `adapter/config.json` + `adapter/model.safetensors` (seeded random weights, stored as
float32) and `expected.safetensors` (float32 unless noted):

  stride1 ... stride8          the input taps (1, C_s, h_s, w_s)
  level<l>.cls / .ltrb / .ctr  the head's raw outputs per level (cls logits, ltrb in image pixels, centerness logits)
  candidates.boxes (n, 4)      pre-NMS candidates in the documented order, before clipping; .scores, .labels
                               (float32 holding integers), .levels, .locations
  detections.boxes (m, 4)      final boxes (clipped), .scores, .labels, .kept (indices into the candidates)
  image_size (2,)              (height, width) in pixels

and `detect-sd2-like/`: detection-only mode end to end on the sd2-like parity model
(Tests/DiffusionTests/Fixtures/parity/sd2-like, tools/make_fixtures.py): an adapter for its taps (trained range
[20, 50], so the call is at t = 20) and `expected.safetensors` with `image` (1, 3, 64, 48) in [-1, 1],
`latent_noise`, the taps `stride<s>` of the one UNet call (empty prompt, batch 1, VAE posterior mean), and
`detections.*` as above; `detect-sd2-like-vae/` the same with an adapter that also reads the VAE encoder's mid block
(`vae_encoder_taps`), recorded as `vae_encoder.mid_block`. diffusers/transformers in float32 from the folder's fp16 weights, as the parity fixtures.

Weights are random but not the training init: every conv ~ N(0, 1/fan_in), GroupNorm affine 1 + N(0, 0.1^2) and
N(0, 0.1^2), conv biases N(0, 0.1^2), the class bias near -1 so that a few hundred candidates pass the threshold,
per-level scales 1 + N(0, 0.1^2); the taps ~ N(0, 1). A low NMS IoU (0.3) makes suppression frequent.

Usage: /root/venv-ref/bin/python tools/make_adapter_fixtures.py [--out Tests/AdapterTests/Fixtures]
"""
import argparse
import json
import os
import shutil
import sys

import safetensors.torch
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adapter_model import DetectionAdapter, TAP_STRIDES  # noqa: E402

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
CLASSES = [{"id": 1, "name": "circle"}, {"id": 3, "name": "square"}, {"id": 7, "name": "triangle"}]
CASES = {  # name -> (latent (h, w), tap channels, extra config)
    "square": ((16, 16), {"1": 40, "2": 48, "4": 48, "8": 72}, {}),
    "wide": ((12, 20), {"1": 24, "2": 40, "4": 32, "8": 56}, {"tower_convs": 1, "max_detections": 30}),
    "odd": ((9, 13), {"1": 16, "2": 24, "4": 24, "8": 40}, {"vae_scale_factor": 4, "pre_nms_top_k": 50}),
}


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "head.scales":
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 4:
                p.copy_(torch.randn(p.shape, generator=gen) / p[0].numel() ** 0.5)
            elif name == "head.cls_logits.bias":
                p.copy_(-1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def tap_sizes(h, w):
    sizes = [(h, w)]
    for _ in range(3):
        h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


def write_case(out, name, seed):
    (h, w), tap_channels, extra = CASES[name]
    config = {"channels": 32, "tower_convs": 2, "norm_num_groups": 8, "tap_channels": tap_channels,
              "classes": CLASSES, "nms_iou": 0.3, **extra}
    gen = torch.Generator().manual_seed(seed)
    model = DetectionAdapter(config).eval()
    randomize(model, gen)
    folder = os.path.join(out, name)
    shutil.rmtree(folder, ignore_errors=True)
    model.save_folder(os.path.join(folder, "adapter"))
    taps = {f"stride{s}": torch.randn((1, int(tap_channels[str(s)]), *size), generator=gen)
            for s, size in zip(TAP_STRIDES, tap_sizes(h, w))}
    f = model.config["vae_scale_factor"]
    image_size = (h * f, w * f)
    with torch.no_grad():
        outputs = model(taps)
        det = model.detect(outputs, image_size)
    record = dict(taps)
    for l, (cls, ltrb, ctr) in enumerate(outputs):
        record[f"level{l}.cls"], record[f"level{l}.ltrb"], record[f"level{l}.ctr"] = cls, ltrb, ctr
    cand = det["candidates"]
    for key in ("boxes", "scores", "labels", "levels", "locations"):
        record[f"candidates.{key}"] = cand[key].to(torch.float32)
    for key in ("boxes", "scores", "labels", "kept"):
        record[f"detections.{key}"] = det[key].to(torch.float32)
    record["image_size"] = torch.tensor(image_size, dtype=torch.float32)
    safetensors.torch.save_file({k: v.contiguous() for k, v in record.items()}, os.path.join(folder, "expected.safetensors"),
                                metadata={"generator": "tools/make_adapter_fixtures.py", "torch": torch.__version__})
    print(f"{name}: latent {h}x{w}, image {image_size[1]}x{image_size[0]}, {cand['scores'].numel()} candidates, "
          f"{det['kept'].numel()} detections")


def write_detection_only_case(out, seed, vae_encoder_tap=False):
    import taps as tap_defs
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    model_dir = os.path.join(REPO, "Tests/DiffusionTests/Fixtures/parity/sd2-like")
    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet", torch_dtype=torch.float32).eval()
    vae = AutoencoderKL.from_pretrained(model_dir, subfolder="vae", torch_dtype=torch.float32).eval()
    text_encoder = CLIPTextModel.from_pretrained(model_dir, subfolder="text_encoder", torch_dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    tokenizer = CLIPTokenizer.from_pretrained(model_dir, subfolder="tokenizer")
    scheduler = DDIMScheduler.from_pretrained(model_dir, subfolder="scheduler")
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    channels = tap_defs.tap_channels(dict(unet.config))
    config = {"channels": 32, "tower_convs": 2, "norm_num_groups": 8,
              "tap_channels": {str(s): c for s, c in channels.items()}, "vae_scale_factor": factor,
              "classes": [{"id": i, "name": n} for i, n in [(1, "circle"), (3, "square"), (7, "triangle"), (12, "star"),
                                                            (20, "ring")]],
              "timestep_range": [20, 50], "nms_iou": 0.3}
    if vae_encoder_tap:
        config["vae_encoder_taps"] = ["mid_block"]
        config["tap_channels"]["1"] += vae.config.block_out_channels[-1]
    gen = torch.Generator().manual_seed(seed)
    adapter = DetectionAdapter(config).eval()
    randomize(adapter, gen)
    folder = os.path.join(out, "detect-sd2-like-vae" if vae_encoder_tap else "detect-sd2-like")
    shutil.rmtree(folder, ignore_errors=True)
    adapter.save_folder(os.path.join(folder, "adapter"))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_fixtures as fx
    image = fx.image_pattern(1, 64, 48)
    latent_noise = torch.randn((1, 4, 64 // factor, 48 // factor), generator=gen)
    t = config["timestep_range"][0]
    with torch.no_grad():
        ids = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                        return_tensors="pt").input_ids
        context = text_encoder(ids)[0]
        encoder_out = {}
        hook = vae.encoder.mid_block.register_forward_hook(lambda m, i, o: encoder_out.setdefault("mid_block", o))
        x0 = vae.encode(image).latent_dist.mean * vae.config.scaling_factor
        hook.remove()
        noised = scheduler.add_noise(x0, latent_noise, torch.tensor([t]))
        with tap_defs.TapRecorder(unet) as rec:
            unet(noised, t, encoder_hidden_states=context)
            taps = rec.taps(batch_index=0)
        if vae_encoder_tap:
            taps["vae_encoder.mid_block"] = encoder_out["mid_block"]
        outputs = adapter(taps)
        det = adapter.detect(outputs, (64, 48))
    record = {"image": image, "latent_noise": latent_noise, **taps}
    for key in ("boxes", "scores", "labels", "kept"):
        record[f"detections.{key}"] = det[key].to(torch.float32)
    record["detections.count"] = torch.tensor([float(det["kept"].numel())])
    safetensors.torch.save_file({k: v.contiguous() for k, v in record.items()}, os.path.join(folder, "expected.safetensors"),
                                metadata={"generator": "tools/make_adapter_fixtures.py", "timestep": str(t)})
    print(f"{os.path.basename(folder)}: t = {t}, {det['candidates']['scores'].numel()} candidates, {det['kept'].numel()} detections")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "Tests/AdapterTests/Fixtures"))
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    for i, name in enumerate(CASES):
        write_case(args.out, name, 1000 + i)
    write_detection_only_case(args.out, 2000)
    write_detection_only_case(args.out, 2001, vae_encoder_tap=True)
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
        f.write("# Detection-Adapter parity fixtures\n\nMade by `tools/make_adapter_fixtures.py` (see its docstring for "
                "every record); the network and decoding are docs/adapter.md and tools/adapter_model.py.\n")


if __name__ == "__main__":
    main()
