#!/usr/bin/env python3
"""Time diffusers' UNet2DConditionModel (PyTorch, CPU, float32) at the SD2-base or SD 1.5 architecture with random
weights, exactly as `dataengine bench unet` times the Swift engine: a (batch, 4, latent, latent) sample, 77 text
tokens, timestep 500, one warm-up call, then `--runs` timed calls; prints one JSON object with the same keys
(seconds_per_call = best, median_seconds_per_call, peak_rss_bytes from getrusage).

Needs the reference environment (tools/requirements-reference.txt). Nothing is downloaded: the architecture comes
from the config below (stabilityai/stable-diffusion-2-base's unet/config.json, and SD 1.5's).

  /root/venv-ref/bin/python tools/bench_reference.py --latent 32 --batch 2 --runs 3 [--threads 2]
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
from diffusers import UNet2DConditionModel

SD2_BASE = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=[320, 640, 1280, 1280],
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    cross_attention_dim=1024, attention_head_dim=[5, 10, 20, 20], use_linear_projection=True,
)
SD15 = dict(SD2_BASE, cross_attention_dim=768, attention_head_dim=8, use_linear_projection=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=["sd2-base", "sd15"], default="sd2-base")
    ap.add_argument("--latent", type=int, default=32)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    unet = UNet2DConditionModel(**(SD2_BASE if args.arch == "sd2-base" else SD15)).eval()
    build = time.perf_counter() - t0
    cross = unet.config.cross_attention_dim
    sample = torch.randn(args.batch, 4, args.latent, args.latent)
    context = torch.randn(args.batch, 77, cross)
    t = torch.tensor(500)
    times = []
    with torch.inference_mode():
        unet(sample, t, context)
        for i in range(args.runs):
            start = time.perf_counter()
            unet(sample, t, context)
            times.append(time.perf_counter() - start)
            print(f"call {i + 1}/{args.runs}: {times[-1]:.3f} s", file=sys.stderr)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(json.dumps({
        "engine": f"diffusers {__import__('diffusers').__version__} / torch {torch.__version__}",
        "arch": args.arch, "latent": args.latent, "batch": args.batch, "threads": torch.get_num_threads(),
        "build_seconds": build, "seconds_per_call": min(times), "median_seconds_per_call": statistics.median(times),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "load_average": load,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
