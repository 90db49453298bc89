#!/usr/bin/env python3
"""Calibrate a Detection-Adapter's label threshold on generated images (issue 16; no retraining).

The paper's delta = 0.3 belongs to its DINO head; an FCOS head's scores live on another scale, and a threshold
found on real images in detection-only mode does not describe labels read from the last denoising step's taps on
generated images. This tool measures it where it is used:

1. runs `dataengine run` on the adapter's validation split with a pipeline of its own: generate (DPM-Solver++,
   --steps, guidance 7.5, --variants per image, encode ratio drawn from --ratios, default 0.3-0.5), label (the
   label stage itself, so the labels are exactly the pipeline's; --label-mode taps or final-latent) and a confidence stage that keeps every label
   (threshold 0, images without labels kept), written as COCO with its reference boxes;
2. for every threshold t in 0.05, 0.06, ..., 0.95 matches the labels scoring >= t to the reference boxes (per
   image and class, greedily by score, IoU >= 0.5) and computes precision, recall and F1; images without labels
   count their reference boxes as missed;
3. picks the best-F1 threshold (ties: the higher one) and writes
   "calibration": {"threshold", "precision", "recall", "label_mode": args.label_mode, "ratios", "images"} into
   MODEL/adapter/config.json (other keys unchanged). Pipelines use it with `threshold: adapter` on their
   confidence stage; `dataengine validate` prints the number and its precision/recall.

Usage (the demo adapter on the demo val split, about a minute on 2 cores):
  python3 tools/calibrate_adapter.py --model models/demo \\
      --instances data/demo/coco/annotations/instances_val.json --images data/demo/coco/val --size 128
Options: --dataengine PATH (default .build/release/dataengine), --work DIR (default /tmp/calibrate-adapter),
--dry-run (print the table, write nothing). Needs only the Python standard library.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def iou(a, b):
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    iy = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def match_counts(labels, truth, threshold, iou_min=0.5):
    """(true positives, false positives, false negatives) of labels scoring >= threshold against the truth."""
    tp = fp = 0
    fn = 0
    for image_id in set(truth) | set(labels):
        gts = truth.get(image_id, [])
        used = [False] * len(gts)
        kept = sorted((l for l in labels.get(image_id, []) if l["score"] >= threshold), key=lambda l: -l["score"])
        for l in kept:
            best, best_iou = -1, iou_min
            for k, g in enumerate(gts):
                if used[k] or g["category_id"] != l["category_id"]:
                    continue
                v = iou(l["bbox"], g["bbox"])
                if v >= best_iou:
                    best, best_iou = k, v
            if best >= 0:
                used[best] = True
                tp += 1
            else:
                fp += 1
        fn += used.count(False)
    return tp, fp, fn


def by_image(annotations):
    out = {}
    for a in annotations:
        out.setdefault(a["image_id"], []).append(a)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="the diffusers model folder whose adapter/ is calibrated")
    ap.add_argument("--adapter", help="the adapter folder (default MODEL/adapter)")
    ap.add_argument("--instances", required=True, help="COCO instances JSON of the adapter's validation split")
    ap.add_argument("--images", required=True, help="its image folder")
    ap.add_argument("--size", type=int, default=512, help="generation size (128 for the demo model)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--variants", type=int, default=2)
    ap.add_argument("--ratios", type=float, nargs=2, default=[0.3, 0.5])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dataengine", default=".build/release/dataengine")
    ap.add_argument("--work", default="/tmp/calibrate-adapter")
    ap.add_argument("--label-mode", choices=["taps", "final-latent"], default="taps",
                    help="the label stage's mode the threshold is for (final-latent: adapters without vae_encoder_taps)")
    ap.add_argument("--deep-cache", type=int, default=0, help="generate with deep_cache: {interval: N} (0: off)")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()

    model = os.path.abspath(args.model)
    adapter = os.path.abspath(args.adapter or os.path.join(model, "adapter"))
    os.makedirs(args.work, exist_ok=True)
    pipeline = os.path.join(args.work, "calibrate.yaml")
    deep_cache = f"    deep_cache: {{interval: {args.deep_cache}}}\n" if args.deep_cache else ""
    with open(pipeline, "w") as f:
        f.write(f"""name: calibrate
seed: {args.seed}
batch_size: 8
source:
  format: coco
  instances: {os.path.abspath(args.instances)}
  images: {os.path.abspath(args.images)}
stages:
  - kind: generate
    model: {model}
    variants: {args.variants}
    encode_ratio: [{args.ratios[0]}, {args.ratios[1]}]
    guidance: 7.5
    steps: {args.steps}
    size: {args.size}
{deep_cache}  - kind: label
    adapter: {adapter}
    mode: {args.label_mode}
  - kind: confidence
    threshold: 0
    drop_empty: false
  - id: calibrate
    kind: write
    format: coco
""")
    run_dir = os.path.join(args.work, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    result = subprocess.run([args.dataengine, "run", pipeline, "--run-dir", run_dir], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dataengine run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    notes = os.path.join(run_dir, "output", "calibrate", "annotations")
    with open(os.path.join(notes, "instances_calibrate.json")) as f:
        labels = json.load(f)
    with open(os.path.join(notes, "reference_boxes_calibrate.json")) as f:
        reference = json.load(f)
    images = len(reference["images"])
    label_map, truth = by_image(labels["annotations"]), by_image(reference["annotations"])
    for image in reference["images"]:
        truth.setdefault(image["id"], [])

    rows = []
    for k in range(5, 96):
        t = k / 100
        tp, fp, fn = match_counts(label_map, truth, t)
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        rows.append((t, p, r, f1, (tp + fp) / max(1, images)))
    best = max(rows, key=lambda row: (round(row[3], 12), row[0]))
    references = sum(len(v) for v in truth.values())
    print(f"{images} generated images at encode ratios {args.ratios[0]}-{args.ratios[1]}, labels from {args.label_mode}, "
          f"{references} reference boxes ({references / max(1, images):.2f} per image)")
    print("| threshold | precision | recall | F1 | labels per image |")
    print("|---:|---:|---:|---:|---:|")
    for t, p, r, f1, per in rows:
        if round(t * 100) % 5 == 0 or t == best[0]:
            mark = " **best**" if t == best[0] else ""
            print(f"| {t:.2f}{mark} | {p:.3f} | {r:.3f} | {f1:.3f} | {per:.2f} |")
    calibration = {"threshold": best[0], "precision": round(best[1], 4), "recall": round(best[2], 4),
                   "label_mode": args.label_mode, "ratios": list(args.ratios), "images": images}
    print("calibration:", json.dumps(calibration))
    print(f"at {best[0]:.2f}: {best[4]:.2f} labels per image, {best[4] / max(1e-9, references / max(1, images)):.2f}x the references' boxes")
    if args.dry_run:
        return
    config_path = os.path.join(adapter, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["calibration"] = calibration
    tmp = config_path + ".partial"
    with open(tmp, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    os.replace(tmp, config_path)
    print(f"wrote the calibration into {config_path}")


if __name__ == "__main__":
    main()
