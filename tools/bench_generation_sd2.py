#!/usr/bin/env python3
"""Seconds per generated image at the full Stable Diffusion 2 (base) size, by part (issue 8).

Writes (once) a diffusers folder with SD2-base's architecture and seeded random weights (tools/check_sd2_parity.py's
builder, 2.6 GB) plus a random Detection-Adapter for the demo dataset's five classes (C = 256, four tower convs:
the SD2 setting of docs/adapter.md), then runs a generation pipeline on the first N demo images at 512x512
(DPM-Solver++ 30 steps, guidance 7.5, one variant each at a fixed encode ratio) and prints `dataengine run`'s
per-image breakdown (text encoder, VAE encode, denoising steps, VAE decode, adapter, write). Random weights make
the pictures noise, but the cost is that of real SD2 weights. Not in CI: needs ~12 GB of memory and minutes
per image on 2 cores.

Usage:
  swift build -c release
  /root/venv-ref/bin/python tools/bench_generation_sd2.py [--work /tmp/sd2-gen] [--images 2] [--ratio 0.5]
"""
import argparse
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import check_sd2_parity as sd2  # noqa: E402
import taps  # noqa: E402
from adapter_model import DetectionAdapter  # noqa: E402


def build_random_sd2(work):
    """WORK/sd2-base-random: SD2-base's folder with seeded random weights and a random demo-class adapter (C = 256,
    four tower convs, no VAE encoder taps); made once. Returns the folder."""
    folder = os.path.join(work, "sd2-base-random")
    os.makedirs(work, exist_ok=True)
    sd2.build_folder(folder, seed=0)
    adapter_dir = os.path.join(folder, "adapter")
    if not os.path.exists(os.path.join(adapter_dir, "config.json")):
        channels = taps.tap_channels(taps.SD2_BASE_UNET_CONFIG)
        classes = [{"id": i, "name": n} for i, n in [(1, "circle"), (3, "square"), (7, "triangle"), (12, "star"), (20, "ring")]]
        torch.manual_seed(0)
        adapter = DetectionAdapter({"channels": 256, "tower_convs": 4, "norm_num_groups": 32,
                                    "tap_channels": {str(s): c for s, c in channels.items()}, "vae_scale_factor": 8,
                                    "classes": classes, "timestep_range": [1, 50]})
        adapter.save_folder(adapter_dir, dtype=torch.float16)
    return folder


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/sd2-gen")
    ap.add_argument("--engine", default=os.path.join(REPO, ".build/release/dataengine"))
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--ratio", type=float, default=0.5)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    folder = build_random_sd2(args.work)
    demo = os.path.join(REPO, "data", "demo", "coco")
    pipeline = os.path.join(args.work, "sd2-gen.yaml")
    with open(pipeline, "w") as f:
        f.write(f"""seed: 0
batch_size: 1
source:
  format: coco
  instances: {demo}/annotations/instances_train.json
  captions: {demo}/annotations/captions_train.json
  images: {demo}/train
  limit: {args.images}
stages:
  - kind: generate
    model: {folder}
    variants: 1
    encode_ratio: {args.ratio}
    size: {args.size}
  - kind: label
  - kind: write
""")
    run_dir = os.path.join(args.work, "run")
    subprocess.run(["rm", "-rf", run_dir], check=True)
    out = subprocess.run([args.engine, "run", pipeline, "--run-dir", run_dir, "--workers", str(args.workers)],
                         check=True, capture_output=True, text=True)
    print(out.stdout)


if __name__ == "__main__":
    main()
