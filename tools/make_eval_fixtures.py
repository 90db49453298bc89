#!/usr/bin/env python3
"""Write the COCO box-evaluation fixtures of Tests/EvaluationTests/Fixtures/eval with pycocotools' numbers.

Each case is a folder with
    gt.json        a COCO instances file (the ground truth)
    results.json   a COCO results file: [{"image_id", "category_id", "bbox", "score"}, ...]
    expected.json  what pycocotools' COCOeval(gt, dt, "bbox") gives: the 12 `stats`, the 12 lines
                   `summarize()` prints, AP / AP50 / AP75 per category, and two small views of the full
                   arrays: `recall` [T][K][A][M] and `precision_sum` [T][K][A][M] (precision summed over
                   the 101 recall thresholds), so a test can compare every curve, not only the means.

Cases (all seeded, so a rerun gives the same bytes):
    random-mixed       40 images, 6 non-contiguous categories: jittered detections, missed boxes, duplicates,
                       false positives, crowd boxes, tiny/medium/large boxes, images without boxes (with and
                       without detections), a category with boxes but no detections, a category with
                       detections but no boxes, scores rounded to 2 decimals (ties)
    random-dense       12 images: one image with 150 detections of one category (more than 100), scores
                       rounded to 1 decimal (many ties within and across images), many tiny boxes
    crowd              hand-made: crowd regions with detections inside, a detection overlapping a regular and
                       a crowd box, a category whose only box is a crowd
    gt-quirks          hand-made: annotation id 0, an `ignore: 1` field (pycocotools overwrites it with
                       iscrowd), boxes outside their image and of zero size (pycocotools keeps both), `area`
                       differing from the box area and exactly 32^2 / 96^2, identical boxes (equal IoU:
                       the later one wins), an annotation naming a category not in the file, iscrowd as a
                       boolean, unsorted image ids
    no-detections      an empty results list. pycocotools' loadRes([]) fails (IndexError on anns[0]); the
                       expected numbers come from COCOeval on a results COCO object with no annotations,
                       which is what DataEngine evaluates: 0 wherever there is ground truth
    no-ground-truth    images and categories but no annotations, and detections: every number is -1

Usage (tools/requirements.txt: numpy, pycocotools):
    python3 tools/make_eval_fixtures.py                      # rewrite the fixtures
    python3 tools/make_eval_fixtures.py --check              # compare with the committed files, write nothing
    python3 tools/make_eval_fixtures.py --large /tmp/coco-scale [--images 5000]
        # a COCO val2017-sized synthetic case (80 categories, ~7 boxes and 100 detections per image) for
        # timing; also times pycocotools on it and writes expected.json there. Not committed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import math
import os
import random
import sys
import tempfile
import time

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EvaluationTests", "Fixtures", "eval")


# ---------------------------------------------------------------------------------------------------------------
# Writing


def dump_records(key_lists: dict | list) -> str:
    """JSON with one record per line: small diffs, readable, and still plain JSON."""
    if isinstance(key_lists, list):
        return "[" + ",\n".join(json.dumps(r, separators=(", ", ": ")) for r in key_lists) + "]\n"
    parts = []
    for key, value in key_lists.items():
        if isinstance(value, list):
            body = ",\n".join(json.dumps(r, separators=(", ", ": ")) for r in value)
            parts.append(json.dumps(key) + ": [" + ("\n" + body + "\n" if value else "") + "]")
        else:
            parts.append(json.dumps(key) + ": " + json.dumps(value))
    return "{" + ",\n".join(parts) + "}\n"


def r2(v: float) -> float:
    return round(v, 2)


# ---------------------------------------------------------------------------------------------------------------
# Reference numbers


def evaluate(gt_path: str, results: list) -> tuple[COCOeval, str]:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(gt_path)
        if results:
            dt = gt.loadRes(results)
        else:
            # loadRes([]) raises IndexError; an empty results COCO is what "no detections" means.
            dt = COCO()
            dt.dataset = {"images": list(gt.dataset["images"]), "categories": list(gt.dataset["categories"]),
                          "annotations": []}
            dt.createIndex()
        e = COCOeval(gt, dt, "bbox")
        e.evaluate()
        e.accumulate()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        e.summarize()
    return e, printed.getvalue()


def mean_valid(s: np.ndarray) -> float:
    v = s[s > -1]
    return float(np.mean(v)) if v.size else -1.0


def expected_numbers(e: COCOeval, printed: str) -> dict:
    precision = e.eval["precision"]  # [T, R, K, A, M]
    recall = e.eval["recall"]        # [T, K, A, M]
    per_category = []
    for k, cat_id in enumerate(e.params.catIds):
        per_category.append({
            "id": int(cat_id),
            "ap": mean_valid(precision[:, :, k, 0, -1]),
            "ap50": mean_valid(precision[0, :, k, 0, -1]),
            "ap75": mean_valid(precision[5, :, k, 0, -1]),
        })
    # A precision curve of -1 sums to -101: the sum keeps "undefined" visible.
    precision_sum = precision.sum(axis=1)
    return {
        "pycocotools": importlib.metadata.version("pycocotools"),
        "numpy": np.__version__,
        "stats": [float(v) for v in e.stats],
        "lines": [line for line in printed.splitlines() if line.startswith(" Average")],
        "per_category": per_category,
        "category_ids": [int(c) for c in e.params.catIds],
        "recall": recall.tolist(),
        "precision_sum": precision_sum.tolist(),
    }


def write_case(out: str, name: str, gt: dict, results: list) -> None:
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    gt_path = os.path.join(folder, "gt.json")
    with open(gt_path, "w") as f:
        f.write(dump_records(gt))
    with open(os.path.join(folder, "results.json"), "w") as f:
        f.write(dump_records(results))
    e, printed = evaluate(gt_path, json.loads(json.dumps(results)))
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected_numbers(e, printed), f, indent=1)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------------------
# Random cases


def random_box(rng: random.Random, width: int, height: int, min_side: float, max_side: float) -> list[float]:
    side = math.exp(rng.uniform(math.log(min_side), math.log(max_side)))
    aspect = math.exp(rng.uniform(-0.7, 0.7))
    w = min(side * math.sqrt(aspect), width - 1)
    h = min(side / math.sqrt(aspect), height - 1)
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    return [r2(x), r2(y), r2(w), r2(h)]


def jitter(rng: random.Random, box: list[float], amount: float) -> list[float]:
    x, y, w, h = box
    return [r2(x + rng.gauss(0, amount * w)), r2(y + rng.gauss(0, amount * h)),
            r2(max(0.5, w * math.exp(rng.gauss(0, amount)))), r2(max(0.5, h * math.exp(rng.gauss(0, amount))))]


def random_case(seed: int, images: int, categories: list[int], *, boxes_per_image: int, empty_share: float,
                crowd_share: float, miss: float, duplicate: float, false_positives: int, score_decimals: int,
                no_detections_for: list[int], no_boxes_for: list[int], sides: tuple[float, float],
                dense_image: bool = False) -> tuple[dict, list]:
    rng = random.Random(seed)
    gt_images, annotations, results = [], [], []
    with_boxes = [c for c in categories if c not in no_boxes_for]
    detectable = [c for c in categories if c not in no_detections_for]
    next_id = 1
    for i in range(images):
        image_id = 1000 + 7 * i  # sparse, not starting at 1
        width, height = rng.randint(200, 640), rng.randint(200, 640)
        gt_images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": width, "height": height})
        n_boxes = 0 if rng.random() < empty_share else rng.randint(1, boxes_per_image)
        if dense_image and i == 0:
            n_boxes = 40
        for _ in range(n_boxes):
            category = with_boxes[0] if dense_image and i == 0 else rng.choice(with_boxes)
            box = random_box(rng, width, height, *sides)
            crowd = rng.random() < crowd_share
            area = r2(box[2] * box[3] * rng.uniform(0.55, 0.95))  # a mask is smaller than its box
            annotations.append({"id": next_id, "image_id": image_id, "category_id": category, "bbox": box,
                                "area": area, "iscrowd": int(crowd)})
            next_id += 1
            if category in no_detections_for:
                continue
            copies = 0 if rng.random() < miss else 1 + (rng.random() < duplicate)
            if dense_image and i == 0:
                copies = 4 if len(annotations) % 2 else 3
            for c in range(copies):
                score = rng.uniform(0.3, 1.0) * (0.7 if c else 1.0)
                results.append({"image_id": image_id, "category_id": category, "bbox": jitter(rng, box, 0.08 + 0.1 * c),
                                "score": round(score, score_decimals)})
        for _ in range(rng.randint(0, false_positives)):
            results.append({"image_id": image_id, "category_id": rng.choice(detectable),
                            "bbox": random_box(rng, width, height, *sides),
                            "score": round(rng.uniform(0.01, 0.8), score_decimals)})
    rng.shuffle(results)  # detectors do not write in image order; ties then depend on file order
    gt = {"images": gt_images, "annotations": annotations,
          "categories": [{"id": c, "name": f"class{c}", "supercategory": "thing"} for c in categories]}
    return gt, results


# ---------------------------------------------------------------------------------------------------------------
# Hand-made cases


def crowd_case() -> tuple[dict, list]:
    images = [{"id": 1, "file_name": "a.jpg", "width": 400, "height": 300},
              {"id": 2, "file_name": "b.jpg", "width": 400, "height": 300},
              {"id": 3, "file_name": "c.jpg", "width": 400, "height": 300}]
    anns = [
        # image 1, person: a crowd region with two regular people in front of it
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 200, 150], "area": 25000, "iscrowd": 1},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [210, 20, 60, 120], "area": 6000, "iscrowd": 0},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [150, 100, 60, 120], "area": 5500, "iscrowd": 0},
        # image 2, person: a crowd region only; car: one regular box inside a crowd of cars
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [50, 50, 300, 200], "area": 50000, "iscrowd": 1},
        {"id": 5, "image_id": 2, "category_id": 2, "bbox": [0, 150, 400, 150], "area": 50000, "iscrowd": 1},
        {"id": 6, "image_id": 2, "category_id": 2, "bbox": [20, 200, 80, 50], "area": 3500, "iscrowd": 0},
        # image 3, bicycle: the category's only box is a crowd
        {"id": 7, "image_id": 3, "category_id": 3, "bbox": [10, 10, 100, 100], "area": 8000, "iscrowd": 1},
        # image 3, person: small regular box
        {"id": 8, "image_id": 3, "category_id": 1, "bbox": [300, 200, 20, 30], "area": 500, "iscrowd": 0},
    ]
    dets = [
        # inside the crowd of image 1: ignored, however many
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 80], "score": 0.95},
        {"image_id": 1, "category_id": 1, "bbox": [60, 20, 40, 80], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [100, 40, 40, 80], "score": 0.6},
        # the regular people
        {"image_id": 1, "category_id": 1, "bbox": [212, 22, 58, 116], "score": 0.85},
        {"image_id": 1, "category_id": 1, "bbox": [148, 98, 62, 125], "score": 0.5},
        # overlapping the crowd and a regular box: the regular box is preferred when free
        {"image_id": 1, "category_id": 1, "bbox": [155, 95, 55, 118], "score": 0.7},
        # a false positive outside everything
        {"image_id": 1, "category_id": 1, "bbox": [300, 200, 50, 50], "score": 0.8},
        # image 2: inside the person crowd; the car crowd and the car
        {"image_id": 2, "category_id": 1, "bbox": [100, 100, 50, 100], "score": 0.9},
        {"image_id": 2, "category_id": 1, "bbox": [200, 60, 50, 100], "score": 0.4},
        {"image_id": 2, "category_id": 2, "bbox": [25, 205, 75, 45], "score": 0.3},
        {"image_id": 2, "category_id": 2, "bbox": [150, 200, 80, 60], "score": 0.8},
        {"image_id": 2, "category_id": 2, "bbox": [300, 160, 80, 60], "score": 0.7},
        # image 3: the bicycle crowd, a half-overlap with it, the small person
        {"image_id": 3, "category_id": 3, "bbox": [20, 20, 50, 50], "score": 0.9},
        {"image_id": 3, "category_id": 3, "bbox": [80, 80, 60, 60], "score": 0.8},
        {"image_id": 3, "category_id": 1, "bbox": [301, 201, 19, 29], "score": 0.99},
        {"image_id": 3, "category_id": 1, "bbox": [290, 190, 40, 50], "score": 0.2},
    ]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}, {"id": 3, "name": "bicycle"}]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def quirks_case() -> tuple[dict, list]:
    images = [{"id": 30, "file_name": "c.jpg", "width": 200, "height": 200},
              {"id": 10, "file_name": "a.jpg", "width": 200, "height": 200},
              {"id": 20, "file_name": "b.jpg", "width": 200, "height": 200}]
    anns = [
        # id 0: a detection matched to it counts as a false positive in pycocotools
        {"id": 0, "image_id": 10, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0},
        # an `ignore` field is overwritten by iscrowd in pycocotools: this box still counts
        {"id": 1, "image_id": 10, "category_id": 1, "bbox": [100, 100, 50, 50], "area": 2500, "iscrowd": 0, "ignore": 1},
        # partly outside its image: not clipped
        {"id": 2, "image_id": 10, "category_id": 2, "bbox": [170, 170, 60, 60], "area": 3600, "iscrowd": 0},
        # zero size: matches nothing, still counts as a miss
        {"id": 3, "image_id": 10, "category_id": 2, "bbox": [5, 5, 0, 10], "area": 0, "iscrowd": 0},
        # `area` decides the size range, not the box: a large box with a small area, a small one with a large area
        {"id": 4, "image_id": 20, "category_id": 1, "bbox": [0, 0, 150, 150], "area": 900, "iscrowd": 0},
        {"id": 5, "image_id": 20, "category_id": 1, "bbox": [160, 160, 20, 20], "area": 20000, "iscrowd": 0},
        # area exactly 32^2 and 96^2: in both neighbouring ranges
        {"id": 6, "image_id": 20, "category_id": 2, "bbox": [10, 160, 32, 32], "area": 1024, "iscrowd": 0},
        {"id": 7, "image_id": 20, "category_id": 2, "bbox": [60, 60, 96, 96], "area": 9216, "iscrowd": 0},
        # identical boxes: a detection's IoU ties, the later box wins; different areas put them in different ranges
        {"id": 8, "image_id": 30, "category_id": 1, "bbox": [20, 20, 30, 30], "area": 800, "iscrowd": 0},
        {"id": 9, "image_id": 30, "category_id": 1, "bbox": [20, 20, 30, 30], "area": 1500, "iscrowd": 0},
        # iscrowd as a boolean
        {"id": 10, "image_id": 30, "category_id": 2, "bbox": [100, 20, 90, 90], "area": 7000, "iscrowd": True},
        # a category the file does not list: left out
        {"id": 11, "image_id": 30, "category_id": 99, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0},
    ]
    dets = [
        {"image_id": 10, "category_id": 1, "bbox": [11, 11, 50, 50], "score": 0.9},     # matches id 0
        {"image_id": 10, "category_id": 1, "bbox": [101, 99, 50, 50], "score": 0.8},    # matches the `ignore` box
        {"image_id": 10, "category_id": 2, "bbox": [170, 170, 30, 30], "score": 0.7},   # clipped part: IoU 0.25
        {"image_id": 10, "category_id": 2, "bbox": [165, 168, 62, 60], "score": 0.6},   # the unclipped box
        {"image_id": 10, "category_id": 2, "bbox": [5, 5, 1, 10], "score": 0.5},
        {"image_id": 20, "category_id": 1, "bbox": [2, 2, 148, 146], "score": 0.8},
        {"image_id": 20, "category_id": 1, "bbox": [160, 161, 20, 19], "score": 0.8},   # a score tie
        {"image_id": 20, "category_id": 2, "bbox": [10, 161, 32, 31], "score": 0.55},   # area 992: small
        {"image_id": 20, "category_id": 2, "bbox": [61, 60, 96, 96], "score": 0.65},    # area 9216: medium and large
        {"image_id": 20, "category_id": 2, "bbox": [0, 0, 32, 32], "score": 0.45},      # unmatched, area 1024
        {"image_id": 30, "category_id": 1, "bbox": [20, 20, 30, 30], "score": 0.7},
        {"image_id": 30, "category_id": 1, "bbox": [21, 21, 30, 30], "score": 0.7},
        {"image_id": 30, "category_id": 2, "bbox": [110, 30, 50, 50], "score": 0.9},    # inside the crowd
        {"image_id": 30, "category_id": 2, "bbox": [100, 20, 90, 90], "score": 0.3},
    ]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def no_ground_truth_case() -> tuple[dict, list]:
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 100, "height": 100} for i in (1, 2, 3)]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "car"}]
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 3, "category_id": 2, "bbox": [0, 0, 50, 50], "score": 0.4}]
    return {"images": images, "annotations": [], "categories": cats}, dets


def cases() -> dict[str, tuple[dict, list]]:
    mixed = random_case(1, 40, [1, 3, 7, 8, 12, 90], boxes_per_image=8, empty_share=0.15, crowd_share=0.05,
                        miss=0.2, duplicate=0.15, false_positives=5, score_decimals=2,
                        no_detections_for=[12], no_boxes_for=[90], sides=(4, 400))
    dense = random_case(2, 12, [1, 2, 5], boxes_per_image=12, empty_share=0.1, crowd_share=0.05,
                        miss=0.1, duplicate=0.3, false_positives=8, score_decimals=1,
                        no_detections_for=[], no_boxes_for=[], sides=(3, 60), dense_image=True)
    small_gt, _ = random_case(3, 6, [1, 2], boxes_per_image=5, empty_share=0.2, crowd_share=0.1,
                              miss=0, duplicate=0, false_positives=0, score_decimals=2,
                              no_detections_for=[], no_boxes_for=[], sides=(8, 150))
    return {
        "random-mixed": mixed,
        "random-dense": dense,
        "crowd": crowd_case(),
        "gt-quirks": quirks_case(),
        "no-detections": (small_gt, []),
        "no-ground-truth": no_ground_truth_case(),
    }


# ---------------------------------------------------------------------------------------------------------------
# COCO-scale timing case


def large_case(out: str, images: int) -> None:
    categories = list(range(1, 91))
    for gap in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83):  # COCO's 80 ids
        categories.remove(gap)
    gt, results = random_case(7, images, categories, boxes_per_image=14, empty_share=0.01, crowd_share=0.01,
                              miss=0.1, duplicate=0.3, false_positives=0, score_decimals=4,
                              no_detections_for=[], no_boxes_for=[], sides=(4, 500))
    # Fill every image up to 100 detections with low-scored false positives, as a detector's top-100 output.
    rng = random.Random(8)
    per_image: dict[int, int] = {}
    for r in results:
        per_image[r["image_id"]] = per_image.get(r["image_id"], 0) + 1
    for image in gt["images"]:
        for _ in range(max(0, 100 - per_image.get(image["id"], 0))):
            results.append({"image_id": image["id"], "category_id": rng.choice(categories),
                            "bbox": random_box(rng, image["width"], image["height"], 4, 500),
                            "score": round(rng.uniform(0.001, 0.3), 4)})
    os.makedirs(out, exist_ok=True)
    gt_path = os.path.join(out, "gt.json")
    with open(gt_path, "w") as f:
        json.dump(gt, f)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f)
    start = time.time()
    e, printed = evaluate(gt_path, results)
    seconds = time.time() - start
    numbers = expected_numbers(e, printed)
    numbers["pycocotools_seconds"] = seconds
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(numbers, f, indent=1)
    print(f"{len(gt['images'])} images, {len(gt['annotations'])} boxes, {len(results)} detections in {out}")
    print(f"pycocotools (loadRes + evaluate + accumulate + summarize): {seconds:.1f} s")
    print(printed, end="")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=OUT, help="where to write the cases (default: the test fixtures)")
    parser.add_argument("--check", action="store_true", help="write to a temporary folder and compare, byte for byte")
    parser.add_argument("--large", metavar="DIR", help="write a COCO-scale synthetic case to DIR and time pycocotools")
    parser.add_argument("--images", type=int, default=5000, help="images of the --large case (default 5000)")
    args = parser.parse_args()

    if args.large:
        large_case(args.large, args.images)
        return 0
    target = tempfile.mkdtemp() if args.check else args.out
    for name, (gt, results) in cases().items():
        write_case(target, name, gt, results)
    if not args.check:
        print(f"wrote {len(cases())} cases to {os.path.normpath(args.out)}")
        return 0
    different = []
    for name in cases():
        for file in ("gt.json", "results.json", "expected.json"):
            a, b = os.path.join(target, name, file), os.path.join(args.out, name, file)
            if not os.path.exists(b) or open(a, "rb").read() != open(b, "rb").read():
                different.append(f"{name}/{file}")
    print("identical" if not different else "different: " + ", ".join(different))
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
