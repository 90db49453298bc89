#!/usr/bin/env python3
"""Seconds per *labelled* image at SD2-base 512x512: issue 17's benchmark, all settings in one run.

Settings, one after the other, each on the first --images demo images (one variant each, resized to 512x512):
  engine paper     `dataengine run`: DPM-Solver++ 30 steps, encode ratio 0.5, guidance 7.5, KL VAE encode + decode,
                   labels from the last step's taps (the Detection-Adapter)
  diffusers paper  the same work in diffusers 0.42.1: StableDiffusionImg2ImgPipeline with DPMSolverMultistepScheduler
                   (dpmsolver++, order 2), tools/taps.py's recorder on the UNet, the PyTorch adapter on the last
                   step's taps, its boxes decoded; float32, CPU, the same threads
  engine few-step  `dataengine run`: Euler with trailing spacing (SD-Turbo's scheduler config), 2 steps at
                   ratio 0.5, guidance 0, TAESD encode and decode, `final-latent` labels

Weights are seeded random weights of the real configs (SD2-base's UNet, VAE and text encoder: tools/check_sd2_parity.py's
builder, 2.6 GB; diffusers' default AutoencoderTiny = TAESD's layout; a random adapter, C = 256, 4 tower convs, no
VAE encoder taps), so nothing is downloaded and the cost is that of the real models. Each setting runs in its own
process under /usr/bin/time for its peak RSS; times per image exclude loading the models. Prints a Markdown table
with the ratios the issue's targets name (engine / diffusers in the paper setting, few-step / paper in the engine).

Usage (about 20 minutes on 2 cores; ~12 GB of memory; stop other jobs first, e.g. `kill -STOP` a training run):
  swift build -c release
  /root/venv-ref/bin/python tools/bench_labelled_image.py [--work /tmp/sd2-gen] [--images 3] [--threads 2]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)


def build_models(work):
    import torch
    from bench_generation_sd2 import build_random_sd2
    from diffusers import AutoencoderTiny
    folder = build_random_sd2(work)
    taesd = os.path.join(work, "taesd-random")
    if not os.path.exists(os.path.join(taesd, "config.json")):
        torch.manual_seed(1)
        AutoencoderTiny().save_pretrained(taesd, safe_serialization=True)
    # SD-Turbo's scheduler: the same folder with Euler and trailing spacing (its scheduler_config.json)
    turbo = os.path.join(work, "sd2-turbo-like")
    if not os.path.exists(os.path.join(turbo, "scheduler", "scheduler_config.json")):
        os.makedirs(turbo, exist_ok=True)
        for part in ("model_index.json", "text_encoder", "tokenizer", "unet", "vae", "adapter"):
            if not os.path.lexists(os.path.join(turbo, part)):
                os.symlink(os.path.join(folder, part), os.path.join(turbo, part))
        with open(os.path.join(folder, "scheduler", "scheduler_config.json")) as f:
            config = json.load(f)
        config.update({"_class_name": "EulerDiscreteScheduler", "timestep_spacing": "trailing"})
        os.makedirs(os.path.join(turbo, "scheduler"), exist_ok=True)
        with open(os.path.join(turbo, "scheduler", "scheduler_config.json"), "w") as f:
            json.dump(config, f, indent=2)
    return folder, turbo, taesd


def demo_source(images):
    demo = os.path.join(REPO, "data", "demo", "coco")
    return f"""source:
  format: coco
  instances: {demo}/annotations/instances_train.json
  captions: {demo}/annotations/captions_train.json
  images: {demo}/train
  limit: {images}
"""


def run_engine(args, name, generate, label):
    pipeline = os.path.join(args.work, f"{name}.yaml")
    with open(pipeline, "w") as f:
        f.write(f"seed: 0\nbatch_size: 1\n{demo_source(args.images)}stages:\n  - kind: generate\n{generate}"
                f"  - kind: label\n{label}  - kind: confidence\n    threshold: 0\n    drop_empty: false\n  - kind: write\n")
    run_dir = os.path.join(args.work, f"run-{name}")
    shutil.rmtree(run_dir, ignore_errors=True)
    rss = os.path.join(args.work, f"rss-{name}.txt")
    start = time.time()
    # one worker: it gets every core's thread (--threads is for the diffusers side)
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, args.engine, "run", pipeline, "--run-dir", run_dir,
                          "--workers", "1"], capture_output=True, text=True)
    wall = time.time() - start
    if out.returncode != 0:
        sys.exit(f"{name}: dataengine run failed:\n{out.stderr[-3000:]}")
    m = re.search(r"per generated image \((\d+) made in this process\): (.*?); ([0-9.]+) s in all", out.stdout)
    if not m:
        sys.exit(f"{name}: no per-image line in\n{out.stdout[-2000:]}")
    return {"setting": name, "images": int(m.group(1)), "seconds_per_image": float(m.group(3)), "parts": m.group(2),
            "wall_s": wall, "peak_rss_gb": int(open(rss).read().split()[-1]) / 1024 ** 2}


def diffusers_worker(args):
    """The paper setting in diffusers (run in its own process)."""
    import torch
    import taps
    from adapter_model import DetectionAdapter
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionImg2ImgPipeline
    from PIL import Image
    torch.set_num_threads(args.threads)
    folder = os.path.join(args.work, "sd2-base-random")
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, algorithm_type="dpmsolver++", solver_order=2)
    pipe.set_progress_bar_config(disable=True)
    adapter = DetectionAdapter.from_folder(os.path.join(folder, "adapter")).eval()
    demo = os.path.join(REPO, "data", "demo", "coco")
    with open(os.path.join(demo, "annotations", "instances_train.json")) as f:
        images = sorted(json.load(f)["images"], key=lambda im: im["id"])[: args.images]
    with open(os.path.join(demo, "annotations", "captions_train.json")) as f:
        captions = {}
        for a in json.load(f)["annotations"]:
            captions.setdefault(a["image_id"], a["caption"])
    times, boxes = [], 0
    with torch.no_grad(), taps.TapRecorder(pipe.unet) as recorder:
        for i, im in enumerate(images):
            ref = Image.open(os.path.join(demo, "train", im["file_name"])).convert("RGB").resize((args.size, args.size), Image.BICUBIC)
            start = time.time()
            out = pipe(prompt=captions.get(im["id"], ""), image=ref, strength=0.5, num_inference_steps=30, guidance_scale=7.5,
                       generator=torch.Generator().manual_seed(i)).images[0]
            det = adapter.detect(adapter(recorder.taps()), (args.size, args.size))
            times.append(time.time() - start)
            boxes += len(det["boxes"])
            out.save(os.path.join(args.work, f"diffusers-{i}.jpg"), quality=95)
    print(json.dumps({"setting": "diffusers paper", "images": len(times), "seconds_per_image": sum(times) / len(times),
                      "per_image": times, "boxes": boxes}))


def run_diffusers(args):
    rss = os.path.join(args.work, "rss-diffusers.txt")
    start = time.time()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, sys.executable, os.path.abspath(__file__), "--worker",
                          "--work", args.work, "--images", str(args.images), "--threads", str(args.threads), "--size", str(args.size)],
                         capture_output=True, text=True)
    wall = time.time() - start
    if out.returncode != 0:
        sys.exit(f"diffusers: failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(wall_s=wall, peak_rss_gb=int(open(rss).read().split()[-1]) / 1024 ** 2)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/sd2-gen")
    ap.add_argument("--engine", default=os.path.join(REPO, ".build/release/dataengine"))
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--settings", default="engine-paper,diffusers-paper,engine-few-step")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    if args.worker:
        return diffusers_worker(args)
    folder, turbo, taesd = build_models(args.work)
    results = {}
    for setting in args.settings.split(","):
        if setting == "engine-paper":
            results[setting] = run_engine(args, "engine-paper",
                                          f"    model: {folder}\n    variants: 1\n    encode_ratio: 0.5\n    guidance: 7.5\n"
                                          f"    scheduler: dpm-solver++\n    steps: 30\n    size: {args.size}\n", "")
        elif setting == "diffusers-paper":
            results[setting] = run_diffusers(args)
        elif setting == "engine-few-step":
            results[setting] = run_engine(args, "engine-few-step",
                                          f"    model: {turbo}\n    variants: 1\n    encode_ratio: 0.5\n    guidance: 0\n"
                                          f"    scheduler: euler\n    steps: 2\n    size: {args.size}\n"
                                          f"    vae: {{encode: tiny, decode: tiny, tiny: {taesd}}}\n", "    mode: final-latent\n")
        else:
            sys.exit(f"unknown setting {setting}")
        print(json.dumps(results[setting]), flush=True)
    print(f"\n{args.images} images per setting, {args.size}x{args.size}, {args.threads} threads\n")
    print("| setting | seconds per labelled image | peak RSS | wall (with loading) |")
    print("|---|---:|---:|---:|")
    for r in results.values():
        print(f"| {r['setting']} | {r['seconds_per_image']:.1f} | {r['peak_rss_gb']:.2f} GB | {r['wall_s']:.0f} s |")
    if "engine-paper" in results and "diffusers-paper" in results:
        e, d = results["engine-paper"], results["diffusers-paper"]
        print(f"\npaper setting, engine / diffusers: time {e['seconds_per_image'] / d['seconds_per_image']:.2f}x (target <= 0.7), "
              f"peak RSS {e['peak_rss_gb'] / d['peak_rss_gb']:.2f}x")
    if "engine-paper" in results and "engine-few-step" in results:
        print(f"few-step / paper (engine): {results['engine-few-step']['seconds_per_image'] / results['engine-paper']['seconds_per_image']:.3f}x "
              f"(target <= 0.1)")


if __name__ == "__main__":
    main()
