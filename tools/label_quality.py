#!/usr/bin/env python3
"""Label quality of a COCO-DE output against its reference boxes (issue 16's label and diversity targets).

A DE write stage writes `annotations/reference_boxes_<name>.json` beside `instances_<name>.json`: each generated
image's reference boxes moved into its frame. This tool matches the written labels to them (per image and class,
greedily by score, IoU >= --iou) and prints precision, recall, labels and reference boxes per image, by encode-ratio
bin, plus the diversity of the kept images (mean encode ratio, share made at >= 0.6).

Images the confidence stage dropped for lacking a confident box are not in the output. Their reference boxes count
as missed: their number is taken from the run's report.json (the confidence stage's `no-confident-boxes`), and their
boxes are estimated as that number times the kept images' mean reference boxes per image (reported on its own line;
they are not in any ratio bin, since the output does not say at which ratio they were made).

Usage: python3 tools/label_quality.py --de RUNDIR/output/demo_de [--bins 0.3 0.4 0.5 0.6 0.7] [--iou 0.5]
Standard library only.
"""
import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from calibrate_adapter import by_image, match_counts  # noqa: E402


def dropped_without_labels(de_dir):
    """Images the run's confidence stage dropped for lacking a confident box (0 when the report is not there)."""
    report = os.path.join(de_dir, "..", "..", "report.json")
    if not os.path.exists(report):
        return 0
    with open(report) as f:
        stages = json.load(f).get("stages", [])
    return sum(s.get("dropped", {}).get("no-confident-boxes", 0) for s in stages if s.get("kind") == "confidence")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--de", required=True, help="a COCO-DE output folder (RUNDIR/output/<write stage id>)")
    ap.add_argument("--bins", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    ap.add_argument("--iou", type=float, default=0.5)
    args = ap.parse_args()
    notes = os.path.join(args.de, "annotations")
    references = glob.glob(os.path.join(notes, "reference_boxes_*.json"))
    if len(references) != 1:
        sys.exit(f"label_quality: {notes} holds {len(references)} reference_boxes_*.json files, not one: is it a DE output?")
    name = os.path.basename(references[0])[len("reference_boxes_"):-len(".json")]
    with open(os.path.join(notes, f"instances_{name}.json")) as f:
        labels = json.load(f)
    with open(references[0]) as f:
        truth_set = json.load(f)
    ratio = {im["id"]: im.get("encode_ratio") for im in labels["images"]}
    if any(r is None for r in ratio.values()):
        sys.exit("label_quality: some images carry no encode_ratio: the DE set holds images that were not generated")
    label_map, truth = by_image(labels["annotations"]), by_image(truth_set["annotations"])

    def row(title, ids, extra_missed=0):
        subset = {i: label_map.get(i, []) for i in ids}
        tp, fp, fn = match_counts(subset, {i: truth.get(i, []) for i in ids}, 0, args.iou)
        fn += extra_missed
        n = max(1, len(ids))
        reference_boxes = sum(len(truth.get(i, [])) for i in ids)
        print(f"| {title} | {len(ids)} | {tp / max(1, tp + fp):.3f} | {tp / max(1, tp + fn):.3f} | "
              f"{sum(len(v) for v in subset.values()) / n:.2f} | {reference_boxes / n:.2f} |")

    print(f"Labels of {args.de} against their reference boxes (IoU >= {args.iou}, same class)")
    print("| encode ratio | images | precision | recall | labels per image | reference boxes per image |")
    print("|---|---:|---:|---:|---:|---:|")
    edges = sorted(args.bins)
    for lo, hi in zip(edges, edges[1:]):
        ids = [i for i, r in ratio.items() if lo <= r < hi or (hi == edges[-1] and r == hi)]
        if ids:
            row(f"{lo:g}-{hi:g}", ids)
    dropped = dropped_without_labels(args.de)
    kept = list(ratio)
    mean_reference = sum(len(truth.get(i, [])) for i in kept) / max(1, len(kept))
    row("all kept", kept)
    if dropped:
        missed = round(dropped * mean_reference)
        row(f"all, with {dropped} dropped images' ~{missed} boxes missed", kept, missed)
    values = list(ratio.values())
    print(f"\nDiversity of the {len(values)} kept images: mean encode ratio {sum(values) / max(1, len(values)):.3f}, "
          f"{sum(r >= 0.6 for r in values) / max(1, len(values)):.1%} made at >= 0.6 (issue 16: >= 0.5 and >= 30 %)")


if __name__ == "__main__":
    main()
