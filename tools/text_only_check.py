#!/usr/bin/env python3
"""Text-only generation check (issue 16): does a demo model draw the objects its prompt names?

At encode ratio 1.0 the reference's pixels barely reach the result (sqrt(alpha_bar_T) ~ 0.07), so the image comes
from the prompt. This tool:

1. picks, for the first --images images of a real demo split, one of the image's own captions that names every
   object it holds (parsed: "a red circle", "two squares", ...; the caption's class counts equal the image's boxes),
   so the prompt says how many objects of which class should appear;
2. runs `dataengine run` with a pipeline of its own: generate (DPM-Solver++ --steps, guidance --guidance, encode
   ratio 1.0, --size) with that caption as the prompt, written as COCO;
3. trains the trainability benchmark's independent detector (tools/trainability.py's recipe, seed --seed) on the
   benchmark's real training set a, cached under WORK/detector-<key>.pt, and picks its score threshold as its best-F1
   threshold on the split's other images, those whose captions are not prompts (real images it never trained on;
   the benchmark's held-out evaluation set is not touched; IoU >= 0.5, same class);
4. counts, per generated image and class, min(detections >= threshold, prompted count) as found objects.

Caption prompts only: the issue's extra check for `prompt.source: detdiffusion` (IoU >= 0.3 to the prompted box) is
not built, since no demo model is trained with those prompts yet.

It prints the share of prompted objects found and detections per prompted object, for the generated images and, as
the detector's own ceiling, for the real images those captions describe. The issue's target: at least 60 % found,
with at most 1.5 detections per prompted object.

Usage (about 6 minutes on 2 cores, most of it the detector's training; cached on a second run):
  /root/venv-ref/bin/python tools/text_only_check.py --model models/demo --work /tmp/text-only
Options: --images N (100), --split val, --steps 30, --guidance 7.5, --size 128, --seed 0, --dataengine PATH,
--trainability-work DIR (the benchmark's cache of demo sets; default WORK).
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trainability as tb  # noqa: E402

NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
           "nine": 9, "ten": 10}
SINGULAR = {"circle": "circle", "circles": "circle", "square": "square", "squares": "square", "triangle": "triangle",
            "triangles": "triangle", "star": "star", "stars": "star", "ring": "ring", "rings": "ring"}
# A count, optional words (size, colour), then a class noun: "a small red circle", "two blue squares".
# The benchmark's defaults (tools/trainability.py: --iterations, --size, --real-train, --eval-size).
ITERATIONS, SIZE, REAL_TRAIN = 800, 128, 500
PHRASE = re.compile(r"\b(" + "|".join(NUMBERS) + r")\s+(?:[a-z]+\s+){0,2}?(" + "|".join(SINGULAR) + r")\b")


def prompted_counts(caption):
    """Class -> count of the objects a demo caption names ("three shapes: ..." counts its list, not "shapes")."""
    counts = {}
    for number, noun in PHRASE.findall(caption.lower()):
        cls = SINGULAR[noun]
        counts[cls] = counts.get(cls, 0) + NUMBERS[number]
    return counts


def choose_prompts(instances, captions, limit):
    """(image, caption, class counts) for the first `limit` images with a caption that names all of their objects."""
    names = {c["id"]: c["name"] for c in instances["categories"]}
    truth = {}
    for a in instances["annotations"]:
        truth.setdefault(a["image_id"], {}).setdefault(names[a["category_id"]], 0)
        truth[a["image_id"]][names[a["category_id"]]] += 1
    by_image = {}
    for c in captions["annotations"]:
        by_image.setdefault(c["image_id"], []).append(c["caption"])
    chosen = []
    for image in sorted(instances["images"], key=lambda im: im["id"]):
        for caption in by_image.get(image["id"], []):
            counts = prompted_counts(caption)
            if counts and counts == truth.get(image["id"]):
                chosen.append((image, caption, counts))
                break
        if len(chosen) == limit:
            break
    return chosen


def f1_threshold(results, truth_boxes):
    """The score threshold with the best F1 (IoU >= 0.5, same class, greedy by score) over 0.05 ... 0.95."""
    from calibrate_adapter import match_counts
    labels = {}
    for r in results:
        labels.setdefault(r["image_id"], []).append(r)
    best = (0.0, 0.5)
    for k in range(5, 96):
        t = k / 100
        tp, fp, fn = match_counts(labels, truth_boxes, t)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 >= best[0]:
            best = (f1, t)
    return best[1], best[0]


def found_counts(results, prompts, threshold, category_names):
    """(found, prompted, detections) over images: found = sum over classes of min(detections, prompted)."""
    dets = {}
    for r in results:
        if r["score"] >= threshold:
            per = dets.setdefault(r["image_id"], {})
            name = category_names[r["category_id"]]
            per[name] = per.get(name, 0) + 1
    found = prompted = detections = 0
    for image_id, counts in prompts.items():
        got = dets.get(image_id, {})
        found += sum(min(n, got.get(cls, 0)) for cls, n in counts.items())
        prompted += sum(counts.values())
        detections += sum(got.values())
    return found, prompted, detections


def trained_detector(work, real_records, categories, seed, threads):
    import torch
    from trainability_detector import CenterNetSmall
    key = hashlib.sha256(json.dumps([tb.RECIPE, tb.RECIPE_VERSION, ITERATIONS, SIZE, tb.set_key(real_records), seed]).encode()).hexdigest()[:12]
    path = os.path.join(work, f"detector-{key}.pt")
    model = CenterNetSmall(len(categories)).to(memory_format=torch.channels_last)
    if os.path.exists(path):
        model.load_state_dict(torch.load(path))
        return model
    model, seconds, _ = tb.train_detector(real_records, categories, seed, ITERATIONS, SIZE,
                                          threads, "detector on the real set a")
    torch.save(model.state_dict(), path + ".partial")
    os.replace(path + ".partial", path)
    tb.log(f"trained in {seconds:.0f} s -> {path}")
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(os.path.dirname(HERE), "models", "demo"))
    ap.add_argument("--work", default="/tmp/text-only")
    ap.add_argument("--trainability-work", help="where the benchmark's demo sets are cached (default WORK)")
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--split", default="val", help="the seed-0 demo split whose captions are the prompts")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dataengine", default=os.path.join(os.path.dirname(HERE), ".build", "release", "dataengine"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cache = args.trainability_work or args.work

    real_root = tb.ensure_demo(cache, 0, REAL_TRAIN, 200)
    real_records, categories, _ = tb.load_coco_set(os.path.join(real_root, "annotations", "instances_train.json"),
                                                   os.path.join(real_root, "train"), "real",
                                                   keep=lambda im: im["id"] <= REAL_TRAIN)
    names = {c["id"]: c["name"] for c in categories}

    with open(os.path.join(real_root, "annotations", f"instances_{args.split}.json")) as f:
        instances = json.load(f)
    with open(os.path.join(real_root, "annotations", f"captions_{args.split}.json")) as f:
        captions = json.load(f)
    chosen = choose_prompts(instances, captions, args.images)
    if not chosen:
        sys.exit("text_only_check: no caption of the split names all of its image's objects")
    ids = {image["id"] for image, _, _ in chosen}
    source = dict(instances)
    source["images"] = [image for image, _, _ in chosen]
    source["annotations"] = [a for a in instances["annotations"] if a["image_id"] in ids]
    source_file = os.path.join(args.work, "prompts_instances.json")
    captions_file = os.path.join(args.work, "prompts_captions.json")
    with open(source_file, "w") as f:
        json.dump(source, f)
    with open(captions_file, "w") as f:
        json.dump({"images": source["images"], "annotations": [{"id": k + 1, "image_id": image["id"], "caption": caption}
                                                                for k, (image, caption, _) in enumerate(chosen)]}, f)
    pipeline = os.path.join(args.work, "text_only.yaml")
    with open(pipeline, "w") as f:
        f.write(f"""name: text_only
seed: {args.seed}
batch_size: 8
source:
  format: coco
  instances: {source_file}
  captions: {captions_file}
  images: {os.path.join(real_root, args.split)}
stages:
  - kind: generate
    model: {os.path.abspath(args.model)}
    variants: 1
    encode_ratio: 1.0
    guidance: {args.guidance}
    steps: {args.steps}
    size: {args.size}
    prompt: {{source: captions}}
  - id: text_only
    kind: write
    format: coco
""")
    run_dir = os.path.join(args.work, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    tb.log(f"generating {len(chosen)} images at encode ratio 1.0 with {args.model}")
    result = subprocess.run([args.dataengine, "run", pipeline, "--run-dir", run_dir], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"dataengine run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    out = os.path.join(run_dir, "output", "text_only")
    with open(os.path.join(out, "annotations", "instances_text_only.json")) as f:
        generated = json.load(f)
    generated_records = [{"id": im["id"], "path": os.path.join(out, "images", im["file_name"]), "width": im["width"],
                          "height": im["height"]} for im in generated["images"]]
    prompts = {im["id"]: next(c for image, _, c in chosen if image["id"] == im["reference_image_id"])
               for im in generated["images"]}

    model = trained_detector(args.work, real_records, categories, args.seed, args.threads)
    size = SIZE
    # The threshold is chosen on the split's images whose captions are not prompts.
    threshold_records, _, _ = tb.load_coco_set(os.path.join(real_root, "annotations", f"instances_{args.split}.json"),
                                               os.path.join(real_root, args.split), "threshold", keep=lambda im: im["id"] not in ids)
    truth = {}
    for r in threshold_records:
        truth[r["id"]] = [{"category_id": next(c["id"] for c in categories if c["name"] == n), "bbox": [x0, y0, x1 - x0, y1 - y0]}
                          for x0, y0, x1, y1, n in r["boxes"]]
    threshold, f1 = f1_threshold(tb.detect(model, threshold_records, categories, size), truth)
    tb.log(f"detector threshold {threshold:.2f} (best F1 {f1:.3f} on the split's {len(threshold_records)} real images "
           f"whose captions are not prompts)")

    rows = []
    real_records_chosen = [{"id": image["id"], "path": os.path.join(real_root, args.split, image["file_name"]),
                            "width": image["width"], "height": image["height"]} for image, _, _ in chosen]
    for label, records, wanted in [
        ("generated at ratio 1.0", generated_records, prompts),
        ("the real images of the same captions", real_records_chosen, {image["id"]: c for image, _, c in chosen}),
    ]:
        found, prompted, detections = found_counts(tb.detect(model, records, categories, size), wanted, threshold, names)
        rows.append((label, len(records), prompted, found / max(1, prompted), detections / max(1, prompted)))
    print(f"\nText-only generation with {args.model} ({args.steps} steps, guidance {args.guidance}, {args.size} px); "
          f"detector threshold {threshold:.2f}")
    print("| images | count | prompted objects | found | detections per prompted object |")
    print("|---|---:|---:|---:|---:|")
    for label, n, prompted, found, per in rows:
        print(f"| {label} | {n} | {prompted} | {found:.1%} | {per:.2f} |")


if __name__ == "__main__":
    main()
