#!/usr/bin/env python3
"""Check that a COCO instances file is usable by pycocotools.

Usage: python3 tools/check_coco_output.py PATH/instances_xxx.json

Loads the file with pycocotools, prints image / annotation / category counts
(and annotations per category), runs a few structural checks, then runs
COCOeval (iouType=bbox) with the file's own non-crowd annotations used as
detections (score 1.0) and asserts that AP@[.5:.95] == 1.0.

Exit status: 0 on success, 1 on any failure (message on stderr).
"""

import contextlib
import io
import sys


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    return 1


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError as e:
        return fail(f"pycocotools not installed ({e}); pip install -r tools/requirements.txt")

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(path)
    except Exception as e:  # noqa: BLE001 - report anything pycocotools rejects
        return fail(f"pycocotools could not load {path}: {type(e).__name__}: {e}")

    ds = gt.dataset
    for key in ("images", "annotations", "categories"):
        if not isinstance(ds.get(key), list):
            return fail(f"'{key}' missing or not a list")
    images, anns, cats = ds["images"], ds["annotations"], ds["categories"]
    print(f"{path}: {len(images)} images, {len(anns)} annotations, {len(cats)} categories")

    # Structural checks pycocotools itself does not make (it silently
    # overwrites duplicate ids in its index).
    errors = []
    img_ids = [im.get("id") for im in images]
    ann_ids = [a.get("id") for a in anns]
    cat_ids = [c.get("id") for c in cats]
    for name, ids in (("image", img_ids), ("annotation", ann_ids), ("category", cat_ids)):
        if len(set(ids)) != len(ids):
            errors.append(f"duplicate {name} ids")
    img_by_id = {im.get("id"): im for im in images}
    cat_set = set(cat_ids)
    for a in anns:
        if a.get("image_id") not in img_by_id:
            errors.append(f"annotation {a.get('id')}: unknown image_id {a.get('image_id')}")
        if a.get("category_id") not in cat_set:
            errors.append(f"annotation {a.get('id')}: unknown category_id {a.get('category_id')}")
        b = a.get("bbox")
        if not (isinstance(b, list) and len(b) == 4 and all(isinstance(v, (int, float)) for v in b)):
            errors.append(f"annotation {a.get('id')}: bad bbox {b!r}")
            continue
        if b[2] <= 0 or b[3] <= 0:
            errors.append(f"annotation {a.get('id')}: non-positive bbox size {b}")
        im = img_by_id.get(a.get("image_id"))
        if im and "width" in im and "height" in im:
            eps = 1e-6
            if b[0] < -eps or b[1] < -eps or b[0] + b[2] > im["width"] + eps or b[1] + b[3] > im["height"] + eps:
                errors.append(f"annotation {a.get('id')}: bbox {b} outside image {im['width']}x{im['height']}")
        if "iscrowd" not in a or "area" not in a:
            errors.append(f"annotation {a.get('id')}: missing iscrowd/area")
    if errors:
        for e in errors[:20]:
            print(f"  {e}", file=sys.stderr)
        if len(errors) > 20:
            print(f"  ... and {len(errors) - 20} more", file=sys.stderr)
        return fail(f"{len(errors)} structural problem(s)")

    per_cat = {c["id"]: 0 for c in cats}
    for a in anns:
        per_cat[a["category_id"]] += 1
    for c in sorted(cats, key=lambda c: c["id"]):
        print(f"  category {c['id']:>4} {c.get('name', '?'):<20} {per_cat[c['id']]} annotations")

    dets = [{"image_id": a["image_id"], "category_id": a["category_id"],
             "bbox": list(a["bbox"]), "score": 1.0}
            for a in anns if not a.get("iscrowd", 0)]
    if not dets:
        return fail("no non-crowd annotations: nothing to evaluate")

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        dt = gt.loadRes(dets)
        ev = COCOeval(gt, dt, iouType="bbox")
        most = max(per_img_counts(anns).values())
        if most > 100:  # keep 100 so summarize() still works; add a limit covering every image
            ev.params.maxDets = [1, 10, 100, most]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # AP@[.5:.95], all areas, largest maxDets, straight from the accumulated
    # precision array (summarize() is hard-wired to maxDets=100).
    prec = ev.eval["precision"][:, :, :, 0, -1]
    valid = prec[prec > -1]
    ap = float(valid.mean()) if valid.size else -1.0
    print(f"  self-evaluation bbox AP@[.5:.95] = {ap:.6f} (summarize: AP {ev.stats[0]:.6f}, "
          f"AP50 {ev.stats[1]:.6f}, AR@100 {ev.stats[8]:.6f})")
    if ap != 1.0:
        print(out.getvalue(), file=sys.stderr)
        return fail(f"self-evaluation AP is {ap}, expected 1.0")
    print("OK")
    return 0


def per_img_counts(anns):
    counts = {0: 0}
    for a in anns:
        counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
    return counts


if __name__ == "__main__":
    sys.exit(main(sys.argv))
