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
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
        f.write("# Detection-Adapter parity fixtures\n\nMade by `tools/make_adapter_fixtures.py` (see its docstring for "
                "every record); the network and decoding are docs/adapter.md and tools/adapter_model.py.\n")


if __name__ == "__main__":
    main()
