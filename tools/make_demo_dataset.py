#!/usr/bin/env python3
"""Generate the DataEngine demo object-detection dataset (synthetic shapes).

Writes a small, fully deterministic dataset in both COCO and Pascal VOC layout:

    OUT/coco/annotations/instances_{train,val}.json
    OUT/coco/annotations/captions_{train,val}.json
    OUT/coco/{train,val}/<12-digit id>.jpg
    OUT/VOCdevkit/VOC2007/JPEGImages/<6-digit id>.jpg      (same bytes as COCO)
    OUT/VOCdevkit/VOC2007/Annotations/<6-digit id>.xml
    OUT/VOCdevkit/VOC2007/ImageSets/Main/{train,val,trainval}.txt
    OUT/README.md

Images are 128x128 RGB JPEGs (quality 95) with 1-5 antialiased shapes
(circle, square, triangle, star, ring) on smooth backgrounds (flat colour,
linear gradient or broad stripes).  Boxes are the visible extent of each
object's mask after occlusion.  Every image has 5 COCO-style captions that
describe exactly the annotated objects.

Determinism: every image has its own numpy Generator seeded with
SeedSequence([seed, split, index]); the global RNG is never used and no file
contains a timestamp, so the same arguments give byte-identical output
(independent of --workers).  Image `index` of a split is also independent of
the size of the split, so `--train 20000` starts with the same images as the
default `--train 160`.

OUT/coco and OUT/VOCdevkit are deleted and rewritten on every run (nothing else
under OUT is touched except README.md), so no stale files survive a smaller run.

Usage:
    python3 tools/make_demo_dataset.py --out data/demo --seed 0 --train 160 --val 40
    (add --workers N to use N processes; the output does not change)
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

W = H = 128
SS = 4  # supersampling factor for antialiased shape rasterisation
JPEG_QUALITY = 95

# Class name -> COCO category id.  Non-contiguous on purpose so that consumers
# cannot assume id == index + 1.
CATEGORIES = [
    ("circle", 1),
    ("square", 3),
    ("triangle", 7),
    ("star", 12),
    ("ring", 20),
]
CLASS_NAMES = [c for c, _ in CATEGORIES]
CATEGORY_ID = dict(CATEGORIES)
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles",
          "star": "stars", "ring": "rings"}

# Object colours (fixed RGB values).
OBJECT_COLORS = {
    "red": (220, 30, 35),
    "green": (30, 165, 60),
    "blue": (35, 75, 225),
    "yellow": (250, 220, 30),
    "orange": (250, 135, 20),
    "purple": (135, 45, 185),
    "white": (248, 248, 248),
    "black": (15, 15, 15),
    "cyan": (30, 210, 225),
    "pink": (250, 120, 190),
}
OBJECT_COLOR_NAMES = list(OBJECT_COLORS)
OBJECT_RGB = np.array([OBJECT_COLORS[n] for n in OBJECT_COLOR_NAMES], np.float32)

# Background colours (fixed RGB values, names used in captions).
BG_COLORS = {
    "white": (245, 245, 240),
    "black": (20, 20, 22),
    "gray": (128, 128, 128),
    "light gray": (200, 200, 200),
    "dark gray": (62, 62, 66),
    "beige": (228, 212, 170),
    "brown": (115, 72, 40),
    "navy": (22, 34, 96),
    "teal": (18, 122, 124),
    "olive": (122, 122, 42),
    "sky blue": (140, 196, 240),
    "lavender": (196, 176, 232),
    "mint": (172, 230, 194),
    "orange": (250, 135, 20),
    "yellow": (250, 220, 30),
    "red": (220, 30, 35),
    "green": (30, 165, 60),
    "blue": (35, 75, 225),
    "purple": (135, 45, 185),
}
BG_COLOR_NAMES = list(BG_COLORS)

NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five",
                6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}

MIN_VISIBLE_PX = 20          # drop rule: visible area below this -> not allowed
MIN_VISIBLE_FRACTION = 0.40  # drop rule: visible / unoccluded area
SMALL_UNOCCLUDED_PX = 300    # small objects must stay more visible to be recognisable
MIN_VISIBLE_FRACTION_SMALL = 0.60
DIFFICULT_PX = 150           # VOC difficult=1 below this visible area
MIN_IN_IMAGE_FRACTION = 0.55 # truncated objects keep at least this much inside
CONTRAST_MIN = 125.0         # min RGB distance (5th percentile) object vs local canvas

SPLIT_CODES = {"train": 0, "val": 1}


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------

def regular_polygon(cx, cy, r, n, theta):
    """Vertices (n, 2) of a regular polygon, first vertex pointing 'up' at theta=0."""
    a = theta - math.pi / 2 + np.arange(n) * (2 * math.pi / n)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def star_polygon(cx, cy, r_out, r_in, theta):
    a = theta - math.pi / 2 + np.arange(10) * (math.pi / 5)
    r = np.where(np.arange(10) % 2 == 0, r_out, r_in)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def circle_polygon(cx, cy, r):
    n = int(min(64, max(16, round(2 * math.pi * r / 2.0))))
    a = np.arange(n) * (2 * math.pi / n)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def polygon_area(pts):
    x, y = pts[:, 0], pts[:, 1]
    s = float(np.dot(x[:-1], y[1:]) - np.dot(y[:-1], x[1:])) + float(x[-1] * y[0] - y[-1] * x[0])
    return 0.5 * abs(s)


def clip_polygon(pts, xmin=0.0, ymin=0.0, xmax=float(W), ymax=float(H)):
    """Sutherland-Hodgman clipping of a polygon against the image rectangle."""
    def clip(poly, inside, intersect):
        out = []
        n = len(poly)
        for i in range(n):
            cur, prev = poly[i], poly[i - 1]
            cin, pin = inside(cur), inside(prev)
            if cin:
                if not pin:
                    out.append(intersect(prev, cur))
                out.append(cur)
            elif pin:
                out.append(intersect(prev, cur))
        return out

    def ix(p, q, x):
        t = (x - p[0]) / (q[0] - p[0])
        return (x, p[1] + t * (q[1] - p[1]))

    def iy(p, q, y):
        t = (y - p[1]) / (q[1] - p[1])
        return (p[0] + t * (q[0] - p[0]), y)

    poly = [(float(x), float(y)) for x, y in pts]
    poly = clip(poly, lambda p: p[0] >= xmin, lambda p, q: ix(p, q, xmin))
    if poly:
        poly = clip(poly, lambda p: p[0] <= xmax, lambda p, q: ix(p, q, xmax))
    if poly:
        poly = clip(poly, lambda p: p[1] >= ymin, lambda p, q: iy(p, q, ymin))
    if poly:
        poly = clip(poly, lambda p: p[1] <= ymax, lambda p, q: iy(p, q, ymax))
    return poly


class Shape:
    """One object's geometry in continuous pixel coordinates (pixel (r, c)
    covers [c, c+1) x [r, r+1))."""

    def __init__(self, cls, cx, cy, d, theta, ring_ratio):
        self.cls = cls
        self.cx, self.cy, self.d, self.theta = cx, cy, d, theta
        if cls in ("circle", "ring"):
            self.r = d / 2
            self.r_in = min(ring_ratio * self.r, self.r - 2.0) if cls == "ring" else 0.0
            self.poly = circle_polygon(cx, cy, self.r)
            self.area = math.pi * (self.r ** 2 - self.r_in ** 2)
            self.ext = (cx - self.r, cy - self.r, cx + self.r, cy + self.r)
        else:
            if cls == "square":
                self.poly = regular_polygon(cx, cy, 0.85 * d / math.sqrt(2), 4,
                                            theta + math.pi / 4)
            elif cls == "triangle":
                # centroid placed so the triangle's box is roughly centred on cy
                r = 0.6 * d
                self.poly = regular_polygon(cx, cy + 0.12 * r * math.cos(3 * theta), r, 3, theta)
            elif cls == "star":
                r = 0.6 * d
                self.poly = star_polygon(cx, cy, r, 0.45 * r, theta)
            else:
                raise ValueError(cls)
            self.area = polygon_area(self.poly)
            self.ext = (float(self.poly[:, 0].min()), float(self.poly[:, 1].min()),
                        float(self.poly[:, 0].max()), float(self.poly[:, 1].max()))

    @property
    def truncated(self):
        x0, y0, x1, y1 = self.ext
        return x0 < 0 or y0 < 0 or x1 > W or y1 > H

    def rasterize(self):
        """Return (alpha crop float32 in [0,1], (px0, py0)) or None if off-image."""
        x0, y0, x1, y1 = self.ext
        px0, py0 = max(0, int(math.floor(x0)) - 1), max(0, int(math.floor(y0)) - 1)
        px1, py1 = min(W, int(math.ceil(x1)) + 1), min(H, int(math.ceil(y1)) + 1)
        if px1 <= px0 or py1 <= py0:
            return None
        img = Image.new("L", ((px1 - px0) * SS, (py1 - py0) * SS), 0)
        dr = ImageDraw.Draw(img)
        # continuous coordinate x -> supersampled pixel-centre coordinate
        def tx(x):
            return (x - px0) * SS - 0.5

        def ty(y):
            return (y - py0) * SS - 0.5
        if self.cls in ("circle", "ring"):
            r = self.r
            dr.ellipse([tx(self.cx - r), ty(self.cy - r), tx(self.cx + r), ty(self.cy + r)], fill=255)
            if self.cls == "ring":
                ri = self.r_in
                dr.ellipse([tx(self.cx - ri), ty(self.cy - ri), tx(self.cx + ri), ty(self.cy + ri)], fill=0)
        else:
            dr.polygon([(tx(x), ty(y)) for x, y in self.poly], fill=255)
        small = img.reduce(SS)  # box filter == coverage of SS*SS samples
        a = np.asarray(small, dtype=np.float32) * (1.0 / 255.0)
        return a, (px0, py0)

    def segmentation(self):
        poly = clip_polygon(self.poly) if self.truncated else self.poly.tolist()
        flat = []
        for x, y in poly:
            flat.append(round(x, 2))
            flat.append(round(y, 2))
        return [flat]


# --------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------

_XS = np.arange(W, dtype=np.float32) + 0.5  # pixel-centre coordinates
_YS = np.arange(H, dtype=np.float32) + 0.5


def _project(phi, offset=0.0):
    """u = x cos(phi) + y sin(phi) + offset at every pixel centre, shape (H, W)."""
    return (_YS[:, None] * np.float32(math.sin(phi)) + np.float32(offset)) + _XS[None, :] * np.float32(math.cos(phi))


def _blend(c1, c2, t):
    """Channel-first (3, H, W) image c1 + (c2 - c1) * t.

    Images are kept channel-first while drawing: numpy broadcasting over a
    trailing axis of length 3 is several times slower."""
    img = np.empty((3,) + t.shape, np.float32)
    for k in range(3):
        np.multiply(t, np.float32(c2[k] - c1[k]), out=img[k])
        img[k] += np.float32(c1[k])
    return img


def pick_two_bg_colors(rng, min_dist=90.0):
    while True:
        a, b = rng.choice(len(BG_COLOR_NAMES), size=2, replace=False)
        ca, cb = np.array(BG_COLORS[BG_COLOR_NAMES[a]], np.float32), np.array(BG_COLORS[BG_COLOR_NAMES[b]], np.float32)
        if np.linalg.norm(ca - cb) >= min_dist:
            return BG_COLOR_NAMES[a], BG_COLOR_NAMES[b], ca, cb


def make_background(rng):
    kind = ["flat", "gradient", "stripes"][rng.choice(3, p=[0.3, 0.4, 0.3])]
    if kind == "flat":
        name = BG_COLOR_NAMES[rng.integers(len(BG_COLOR_NAMES))]
        img = np.empty((3, H, W), np.float32)
        img[:] = np.array(BG_COLORS[name], np.float32)[:, None, None]
        return img, {"kind": "flat", "colors": [name]}
    n1, n2, c1, c2 = pick_two_bg_colors(rng)
    if kind == "gradient":
        phi = rng.uniform(0, 2 * math.pi)
        u = _project(phi)
        lo, hi = float(u.min()), float(u.max())
        t = (u - np.float32(lo)) * np.float32(1.0 / (hi - lo))
        return _blend(c1, c2, t), {"kind": "gradient", "colors": [n1, n2]}
    # broad stripes, >= 16 px wide, antialiased edges
    orient = ["horizontal", "vertical", "diagonal", "diagonal"][rng.integers(4)]
    if orient == "horizontal":
        phi = math.pi / 2
    elif orient == "vertical":
        phi = 0.0
    else:
        phi = rng.choice([math.pi / 4, 3 * math.pi / 4]) + rng.uniform(-0.2, 0.2)
    w = float(rng.uniform(16, 32))
    period = 2 * w
    p = np.mod(_project(phi, rng.uniform(0, period)), np.float32(period))
    # signed distance to the nearest stripe edge, positive inside colour-2 stripes
    sd = np.where(p >= w, np.minimum(p - w, period - p), -np.minimum(p, w - p))
    cov = np.clip(sd + np.float32(0.5), 0.0, 1.0)
    return _blend(c1, c2, cov), {"kind": "stripes", "colors": [n1, n2], "orientation": orient}


# --------------------------------------------------------------------------
# Scene generation
# --------------------------------------------------------------------------

def sample_size(rng):
    r = rng.random()
    if r < 0.30:
        return float(rng.uniform(10, 16)), "small"
    if r < 0.75:
        return float(rng.uniform(18, 46)), "medium"
    return float(rng.uniform(50, 80)), "large"


def sample_shape(rng, cls, d, truncate):
    theta = 0.0
    if cls == "square":
        theta = 0.0 if rng.random() < 0.5 else float(rng.uniform(-0.45, 0.45))
    elif cls == "triangle":
        theta = 0.0 if rng.random() < 0.4 else float(rng.uniform(0, 2 * math.pi / 3))
    elif cls == "star":
        theta = float(rng.uniform(0, 2 * math.pi / 5))
    ring_ratio = float(rng.uniform(0.5, 0.65))
    # half extents from a probe at the origin
    probe = Shape(cls, 0.0, 0.0, d, theta, ring_ratio)
    lx, ly, hx, hy = probe.ext  # lx, ly negative
    cx = float(rng.uniform(-lx + 1, W - hx - 1)) if W - hx - 1 > -lx + 1 else W / 2
    cy = float(rng.uniform(-ly + 1, H - hy - 1)) if H - hy - 1 > -ly + 1 else H / 2
    if truncate:
        side = int(rng.integers(4))
        if side == 0:    # left: extends past x=0 by 2 .. 45% of width
            cx = -lx - float(rng.uniform(2, 0.45 * (hx - lx)))
        elif side == 1:  # right
            cx = W - hx + float(rng.uniform(2, 0.45 * (hx - lx)))
        elif side == 2:  # top
            cy = -ly - float(rng.uniform(2, 0.45 * (hy - ly)))
        else:            # bottom
            cy = H - hy + float(rng.uniform(2, 0.45 * (hy - ly)))
    return Shape(cls, cx, cy, d, theta, ring_ratio)


def pick_color(rng, canvas, sl):
    """Choose an object colour that contrasts with everything in its box."""
    region = canvas[:, sl[0], sl[1]]
    if region.shape[1] * region.shape[2] > 1024:
        region = region[:, ::2, ::2]
    region = region.reshape(3, -1)
    # squared distance of each palette colour to every pixel in the box
    d2 = np.zeros((len(OBJECT_RGB), region.shape[1]), np.float32)
    for k in range(3):
        diff = region[k][None, :] - OBJECT_RGB[:, k][:, None]
        d2 += diff * diff
    k = int(0.05 * (d2.shape[1] - 1))
    low = np.sqrt(np.partition(d2, k, axis=1)[:, k])  # ~5th percentile distance
    ok = np.flatnonzero(low >= CONTRAST_MIN)
    if len(ok) == 0:
        return OBJECT_COLOR_NAMES[int(np.argmax(low))]
    return OBJECT_COLOR_NAMES[int(ok[rng.integers(len(ok))])]


def min_visible(unocc):
    """Smallest allowed visible pixel count for an object of `unocc` unoccluded pixels."""
    frac = MIN_VISIBLE_FRACTION_SMALL if unocc < SMALL_UNOCCLUDED_PX else MIN_VISIBLE_FRACTION
    return max(MIN_VISIBLE_PX, frac * unocc)


def generate_scene(rng):
    canvas, bg = make_background(rng)
    n_target = int(rng.choice([1, 2, 3, 4, 5], p=[0.18, 0.25, 0.25, 0.18, 0.14]))
    # Each placed object keeps: its shape, the crop slice of its rasterisation,
    # its full-image coverage mask (>= 0.5), its visible coverage (H, W) after
    # later objects are drawn on top, and its visible / unoccluded pixel counts.
    objs = []
    for _ in range(n_target):
        placed = None
        for attempt in range(40):
            cls = CLASS_NAMES[rng.integers(len(CLASS_NAMES))]
            d, _ = sample_size(rng)
            if attempt >= 20:  # crowded image: fall back to smaller objects
                d = min(d, float(rng.uniform(10, 30)))
            truncate = rng.random() < 0.15
            shape = sample_shape(rng, cls, d, truncate)
            r = shape.rasterize()
            if r is None:
                continue
            a_crop, (px0, py0) = r
            if truncate and a_crop.sum() < MIN_IN_IMAGE_FRACTION * shape.area:
                continue
            unocc = int(np.count_nonzero(a_crop >= 0.5))
            if unocc < MIN_VISIBLE_PX:
                continue
            sl = (slice(py0, py0 + a_crop.shape[0]), slice(px0, px0 + a_crop.shape[1]))
            keep = 1.0 - a_crop
            # would this object hide too much of an earlier one?
            ok = True
            for o in objs:
                v = o["vis"][sl]
                n = o["n_vis"] - int(np.count_nonzero(v >= 0.5)) + int(np.count_nonzero(v * keep >= 0.5))
                if n < min_visible(o["unocc"]):
                    ok = False
                    break
            if not ok:
                continue
            placed = (shape, a_crop, sl, unocc)
            break
        if placed is None:
            continue
        shape, a_crop, sl, unocc = placed
        color = pick_color(rng, canvas, sl)
        rgb = np.array(OBJECT_COLORS[color], np.float32)
        keep = 1.0 - a_crop
        for k in range(3):
            c = canvas[k][sl]
            c *= keep
            c += rgb[k] * a_crop
        for o in objs:
            v = o["vis"][sl]
            before = int(np.count_nonzero(v >= 0.5))
            v *= keep
            o["n_vis"] += int(np.count_nonzero(v >= 0.5)) - before
        vis = np.zeros((H, W), np.float32)
        vis[sl] = a_crop
        objs.append({"shape": shape, "color": color, "vis": vis, "full": vis >= 0.5,
                     "sl": sl, "n_vis": unocc, "unocc": unocc})

    u8 = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    img = Image.merge("RGB", [Image.fromarray(u8[k], "L") for k in range(3)])
    out = []
    for i, o in enumerate(objs):
        m = o["vis"] >= 0.5
        area = int(np.count_nonzero(m))
        assert area == o["n_vis"]
        assert area >= min_visible(o["unocc"])
        rows = np.flatnonzero(m.any(axis=1))
        cols = np.flatnonzero(m.any(axis=0))
        x0, x1, y0, y1 = int(cols[0]), int(cols[-1]), int(rows[0]), int(rows[-1])
        # which later objects cover a noticeable part of this one
        covered_by = []
        for j in range(i + 1, len(objs)):
            sl = objs[j]["sl"]
            inter = np.count_nonzero(o["full"][sl] & objs[j]["full"][sl])
            if inter >= 0.1 * o["unocc"]:
                covered_by.append(j)
        out.append({
            "cls": o["shape"].cls,
            "color": o["color"],
            "bbox": (x0, y0, x1, y1),
            "area": area,
            "truncated": int(o["shape"].truncated),
            "difficult": int(area < DIFFICULT_PX),
            "segmentation": o["shape"].segmentation(),
            "covered_by": covered_by,
        })
    return img, bg, out


# --------------------------------------------------------------------------
# Captions
# --------------------------------------------------------------------------

def article(word):
    return "an" if word[0] in "aeiou" else "a"


def noun_phrase(count, cls, color=None, size=None):
    words = [w for w in (size, color) if w]
    if count == 1:
        head = " ".join(words + [cls])
        return f"{article(head)} {head}"
    return " ".join([NUMBER_WORDS[count]] + words + [PLURAL[cls]])


def join_list(items):
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def size_word(o):
    x0, y0, x1, y1 = o["bbox"]
    m = max(x1 - x0 + 1, y1 - y0 + 1)
    if m < 20:
        return "small"
    if m > 48:
        return "large"
    return None


def position_phrase(o):
    x0, y0, x1, y1 = o["bbox"]
    cx, cy = (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2
    h = "left" if cx < W / 3 else ("right" if cx > 2 * W / 3 else None)
    v = "top" if cy < H / 3 else ("bottom" if cy > 2 * H / 3 else None)
    if h and v:
        return f"in the {v} {h} corner"
    if h:
        return f"on the {h}"
    if v:
        return f"at the {v}"
    return "in the center"


def bg_phrases(bg):
    c = bg["colors"]
    if bg["kind"] == "flat":
        return [f"{article(c[0])} {c[0]} background", f"a plain {c[0]} background",
                f"a solid {c[0]} background"]
    if bg["kind"] == "gradient":
        return [f"{article(c[0])} {c[0]} to {c[1]} gradient",
                f"{article(c[0])} {c[0]} and {c[1]} gradient background",
                "a gradient background", "a smooth gradient background"]
    return ["a striped background", f"{c[0]} and {c[1]} stripes",
            f"{article(c[0])} {c[0]} and {c[1]} striped background",
            f"a background of {bg['orientation']} stripes",
            f"{article(bg['orientation'])} {bg['orientation']} striped background"]


def make_captions(rng, objs, bg):
    n = len(objs)
    # group by (colour, class) in order of first appearance
    groups = {}
    for o in objs:
        groups[(o["color"], o["cls"])] = groups.get((o["color"], o["cls"]), 0) + 1
    glist = list(groups.items())
    by_class = {}
    for o in objs:
        by_class[o["cls"]] = by_class.get(o["cls"], 0) + 1
    colors = []
    for o in objs:
        if o["color"] not in colors:
            colors.append(o["color"])

    def pick(seq):
        return seq[int(rng.integers(len(seq)))]

    def color_list():
        order = rng.permutation(len(glist))
        return join_list([noun_phrase(glist[i][1], glist[i][0][1], glist[i][0][0]) for i in order])

    def class_list():
        items = list(by_class.items())
        order = rng.permutation(len(items))
        return join_list([noun_phrase(items[i][1], items[i][0]) for i in order])

    def bgp():
        return pick(bg_phrases(bg))

    shapes_word = "a single shape" if n == 1 else f"{NUMBER_WORDS[n]} shapes"
    t = []
    t.append(lambda: color_list())
    t.append(lambda: f"{color_list()} on {bgp()}")
    t.append(lambda: f"a picture of {shapes_word}: {color_list()}")
    t.append(lambda: f"an image with {color_list()} on {bgp()}")
    t.append(lambda: f"{shapes_word} on {bgp()}")
    t.append(lambda: f"{shapes_word}: {class_list()}")
    t.append(lambda: f"{bgp()} with {color_list()}")
    t.append(lambda: f"this image contains {color_list()}")
    t.append(lambda: f"a simple drawing of {color_list()}")
    t.append(lambda: f"{class_list()} drawn on {bgp()}")
    if len(colors) > 1:
        t.append(lambda: f"{join_list(list(rng.permutation(colors)))} shapes on {bgp()}")
    else:
        t.append(lambda: f"{shapes_word} in {colors[0]} on {bgp()}" if n > 1
                 else f"{article(colors[0])} {colors[0]} shape on {bgp()}")
    if n == 1:
        o = objs[0]
        sz = size_word(o)
        t.append(lambda: f"{noun_phrase(1, o['cls'], o['color'], sz)} {position_phrase(o)}")
        t.append(lambda: f"{noun_phrase(1, o['cls'], o['color'], sz)} {position_phrase(o)} of the image on {bgp()}")
        t.append(lambda: f"{noun_phrase(1, o['cls'], o['color'], sz)} on {bgp()}")
    if n == 2:
        a, b = objs[0], objs[1]
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a["bbox"], b["bbox"]
        dx = (bx0 + bx1) / 2 - (ax0 + ax1) / 2
        dy = (by0 + by1) / 2 - (ay0 + ay1) / 2
        if max(abs(dx), abs(dy)) >= 12:
            if abs(dy) >= abs(dx):
                rel_ab = "above" if dy > 0 else "below"      # a relative to b
            else:
                rel_ab = "to the left of" if dx > 0 else "to the right of"
            inv = {"above": "below", "below": "above", "to the left of": "to the right of",
                   "to the right of": "to the left of"}
            na, nb = noun_phrase(1, a["cls"], a["color"]), noun_phrase(1, b["cls"], b["color"])
            t.append(lambda: f"{na} {rel_ab} {nb}")
            t.append(lambda: f"{nb} {inv[rel_ab]} {na} on {bgp()}")
    # occlusion: later objects drawn in front of earlier ones
    pairs = [(i, j) for i, o in enumerate(objs) for j in o["covered_by"]]
    if pairs:
        i, j = pairs[int(rng.integers(len(pairs)))]
        front = noun_phrase(1, objs[j]["cls"], objs[j]["color"])
        back = noun_phrase(1, objs[i]["cls"], objs[i]["color"])
        t.append(lambda: f"{front} partly covering {back}")
        t.append(lambda: f"{front} in front of {back}")
    if n >= 3:
        o = objs[int(rng.integers(n))]
        t.append(lambda: f"{noun_phrase(1, o['cls'], o['color'])} and {NUMBER_WORDS[n - 1]} other "
                         f"{'shape' if n == 2 else 'shapes'} on {bgp()}")
    if any(o["truncated"] for o in objs):
        t.append(lambda: f"{color_list()}, partly cut off by the edge of the image")

    captions = []
    order = list(rng.permutation(len(t)))
    tries = 0
    while len(captions) < 5:
        k = order[tries % len(order)]
        tries += 1
        c = t[k]()
        if c and c not in captions:
            captions.append(c)
        if tries > 200:  # extremely unlikely; pad with distinct variants
            captions.append(f"{color_list()} (view {len(captions) + 1})")
    return captions


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def voc_xml(stem, objs):
    lines = ["<annotation>",
             "\t<folder>VOC2007</folder>",
             f"\t<filename>{stem}.jpg</filename>",
             "\t<size>",
             f"\t\t<width>{W}</width>",
             f"\t\t<height>{H}</height>",
             "\t\t<depth>3</depth>",
             "\t</size>",
             "\t<segmented>0</segmented>"]
    for o in objs:
        x0, y0, x1, y1 = o["bbox"]
        lines += ["\t<object>",
                  f"\t\t<name>{o['cls']}</name>",
                  "\t\t<pose>Unspecified</pose>",
                  f"\t\t<truncated>{o['truncated']}</truncated>",
                  f"\t\t<difficult>{o['difficult']}</difficult>",
                  "\t\t<bndbox>",
                  f"\t\t\t<xmin>{x0 + 1}</xmin>",
                  f"\t\t\t<ymin>{y0 + 1}</ymin>",
                  f"\t\t\t<xmax>{x1 + 1}</xmax>",
                  f"\t\t\t<ymax>{y1 + 1}</ymax>",
                  "\t\t</bndbox>",
                  "\t</object>"]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_one(job):
    """Generate, encode and write one image. Returns its annotation records."""
    out, seed, split, index, image_id = job
    rng = np.random.default_rng(np.random.SeedSequence([seed, SPLIT_CODES[split], index]))
    img, bg, objs = generate_scene(rng)
    captions = make_captions(rng, objs, bg)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    data = buf.getvalue()
    coco_name = f"{image_id:012d}.jpg"
    stem = f"{image_id:06d}"
    write_bytes(os.path.join(out, "coco", split, coco_name), data)
    voc = os.path.join(out, "VOCdevkit", "VOC2007")
    write_bytes(os.path.join(voc, "JPEGImages", stem + ".jpg"), data)
    write_bytes(os.path.join(voc, "Annotations", stem + ".xml"), voc_xml(stem, objs).encode())
    for o in objs:
        del o["covered_by"]
    return {"image_id": image_id, "file_name": coco_name, "stem": stem, "split": split,
            "objects": objs, "captions": captions, "background": bg["kind"],
            "jpeg_bytes": len(data)}


INFO = {"description": "DataEngine demo dataset: synthetic shapes (circle, square, triangle, star, ring)",
        "url": "", "version": "1.0", "year": 2025, "contributor": "DataEngine tools/make_demo_dataset.py"}
LICENSES = [{"id": 1, "name": "CC0 1.0 Universal (public domain dedication)",
             "url": "https://creativecommons.org/publicdomain/zero/1.0/"}]


def dump_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=True)


def write_readme(out, args, results, command_out):
    lines = []
    per_split = {}
    for r in results:
        s = per_split.setdefault(r["split"], {"images": 0, "objects": 0, "captions": 0,
                                              "classes": {c: 0 for c in CLASS_NAMES},
                                              "truncated": 0, "difficult": 0,
                                              "bg": {"flat": 0, "gradient": 0, "stripes": 0},
                                              "ids": []})
        s["images"] += 1
        s["ids"].append(r["image_id"])
        s["captions"] += len(r["captions"])
        s["bg"][r["background"]] += 1
        for o in r["objects"]:
            s["objects"] += 1
            s["classes"][o["cls"]] += 1
            s["truncated"] += o["truncated"]
            s["difficult"] += o["difficult"]
    cmd = (f"python3 tools/make_demo_dataset.py --out {command_out} --seed {args.seed} "
           f"--train {args.train} --val {args.val}")
    lines += [
        "# DataEngine demo dataset (synthetic shapes)",
        "",
        "A small, fully synthetic object-detection dataset used by DataEngine's demos and",
        "tests. It contains the same images and objects in two layouts: COCO (instances +",
        "captions) and Pascal VOC 2007.",
        "",
        "## How it was made",
        "",
        "Generated (not hand-edited) by:",
        "",
        "```",
        cmd,
        "```",
        "",
        "The generator is seeded and deterministic: the same arguments give byte-identical",
        "files (no timestamps anywhere). Each image has its own numpy generator seeded with",
        "`SeedSequence([seed, split, index])` (split 0 = train, 1 = val), so image k of a",
        "split does not depend on the split sizes. Requirements: `tools/requirements.txt`.",
        "",
        "- Images: 128x128 RGB JPEG, quality 95, Pillow default chroma subsampling.",
        "- 1-5 objects per image of 5 classes, with sizes from ~10 px to ~80 px, random",
        "  positions and rotations, antialiased edges (4x supersampled, box-filtered).",
        "  Later objects are drawn on top of earlier ones (occlusion). Every object keeps",
        f"  >= {int(MIN_VISIBLE_FRACTION * 100)}% of its unoccluded in-image area (>= {int(MIN_VISIBLE_FRACTION_SMALL * 100)}% for objects",
        f"  under {SMALL_UNOCCLUDED_PX} px) and >= {MIN_VISIBLE_PX} visible pixels; an object that would break this",
        "  is re-placed or left out before drawing, so every drawn object is annotated.",
        "- Object colours (RGB): " + ", ".join(f"{n} {OBJECT_COLORS[n]}" for n in OBJECT_COLOR_NAMES[:3]) + ",",
        "  " + ", ".join(f"{n} {OBJECT_COLORS[n]}" for n in OBJECT_COLOR_NAMES[3:7]) + ",",
        "  " + ", ".join(f"{n} {OBJECT_COLORS[n]}" for n in OBJECT_COLOR_NAMES[7:]) + ".",
        "  Background colours: " + ", ".join(BG_COLOR_NAMES[:8]) + ",",
        "  " + ", ".join(BG_COLOR_NAMES[8:]) + ".",
        "  Each object's colour is chosen to contrast with everything inside its box",
        "  (background and earlier objects).",
        "- Backgrounds are smooth (no per-pixel noise): flat colours, linear gradients and",
        "  broad antialiased stripes (16-32 px wide).",
        "- Boxes are the visible extent (after occlusion and image clipping) of each object's",
        "  mask at 128x128 (pixel counted when coverage >= 0.5). COCO `bbox` =",
        "  `[x0, y0, x1-x0+1, y1-y0+1]` (integers); COCO `area` = visible mask pixel count;",
        "  COCO `segmentation` = one polygon of the shape's outline clipped to the image",
        "  (rings: outer circle only); `iscrowd` = 0.",
        "- VOC boxes are 1-based inclusive: `xmin = x0+1`, `xmax = x1+1` (same for y), so",
        "  `x = xmin-1, w = xmax-xmin+1` gives the COCO bbox exactly. `truncated` = 1 when",
        f"  the unclipped shape extends beyond the image; `difficult` = 1 when the visible",
        f"  area is < {DIFFICULT_PX} px.",
        "",
        "## Layout",
        "",
        "```",
        "coco/annotations/instances_{train,val}.json",
        "coco/annotations/captions_{train,val}.json",
        "coco/{train,val}/<12-digit image id>.jpg",
        "VOCdevkit/VOC2007/JPEGImages/<6-digit image id>.jpg   (same bytes as the COCO file)",
        "VOCdevkit/VOC2007/Annotations/<6-digit image id>.xml",
        "VOCdevkit/VOC2007/ImageSets/Main/{train,val,trainval}.txt",
        "```",
        "",
        "VOC stem `000001` is COCO image id 1 (`000000000001.jpg`).",
        "",
        "## Counts",
        "",
        "| split | image ids | images | objects | " + " | ".join(CLASS_NAMES) +
        " | truncated | difficult | captions |",
        "|---|---|---|---|" + "---|" * len(CLASS_NAMES) + "---|---|---|",
    ]
    for split in ("train", "val"):
        s = per_split.get(split)
        if not s:
            continue
        lines.append(f"| {split} | {min(s['ids'])}-{max(s['ids'])} | {s['images']} | {s['objects']} | " +
                     " | ".join(str(s["classes"][c]) for c in CLASS_NAMES) +
                     f" | {s['truncated']} | {s['difficult']} | {s['captions']} |")
    lines += ["", "Backgrounds: " + "; ".join(
        f"{split}: " + ", ".join(f"{k} {v}" for k, v in per_split[split]["bg"].items())
        for split in ("train", "val") if split in per_split) + ".", ""]
    lines += [
        "## Categories",
        "",
        "COCO category ids are deliberately non-contiguous (supercategory `shape`):",
        "",
        "| name | COCO id |",
        "|---|---|",
    ]
    lines += [f"| {c} | {i} |" for c, i in CATEGORIES]
    lines += [
        "",
        "## Captions",
        "",
        "Five COCO-style captions per image (`captions_<split>.json`), lower case, built from",
        "varied templates that count the annotated objects by class and colour with number",
        "words, sometimes mentioning the background, relative position, size or occlusion.",
        "They describe exactly the annotated objects. Examples:",
        "",
    ]
    shown = 0
    for r in results:
        if shown >= 3:
            break
        lines.append(f"- image {r['image_id']}:")
        for c in r["captions"]:
            lines.append(f"  - \"{c}\"")
        shown += 1
    lines += ["", "License: CC0 1.0 (synthetic data, public domain dedication).", ""]
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="data/demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=160)
    ap.add_argument("--val", type=int, default=40)
    ap.add_argument("--workers", type=int, default=1,
                    help="worker processes (output is identical for any value)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.train < 0 or args.val < 0 or args.train + args.val > 999999:
        ap.error("--train/--val must be >= 0 and total <= 999999 (6-digit VOC stems)")

    out = args.out
    # Remove only the trees this tool owns, so stale files from a larger run vanish.
    for sub in ("coco", "VOCdevkit"):
        p = os.path.join(out, sub)
        if os.path.isdir(p):
            shutil.rmtree(p)
    for split in ("train", "val"):
        os.makedirs(os.path.join(out, "coco", split), exist_ok=True)
    os.makedirs(os.path.join(out, "coco", "annotations"), exist_ok=True)
    voc = os.path.join(out, "VOCdevkit", "VOC2007")
    for sub in ("JPEGImages", "Annotations", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(voc, sub), exist_ok=True)

    jobs = [(out, args.seed, "train", i, i + 1) for i in range(args.train)]
    jobs += [(out, args.seed, "val", i, args.train + i + 1) for i in range(args.val)]

    t0 = time.perf_counter()
    if args.workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(args.workers) as pool:
            results = list(pool.imap(make_one, jobs, chunksize=64))
    else:
        results = [make_one(j) for j in jobs]
    t_img = time.perf_counter() - t0

    categories = [{"id": i, "name": c, "supercategory": "shape"} for c, i in CATEGORIES]
    ann_id = 0
    cap_id = 0
    for split in ("train", "val"):
        rs = [r for r in results if r["split"] == split]
        images = [{"id": r["image_id"], "file_name": r["file_name"], "width": W, "height": H,
                   "license": 1} for r in rs]
        anns, caps = [], []
        for r in rs:
            for o in r["objects"]:
                ann_id += 1
                x0, y0, x1, y1 = o["bbox"]
                anns.append({"id": ann_id, "image_id": r["image_id"],
                             "category_id": CATEGORY_ID[o["cls"]],
                             "bbox": [x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                             "area": o["area"], "iscrowd": 0,
                             "segmentation": o["segmentation"]})
            for c in r["captions"]:
                cap_id += 1
                caps.append({"id": cap_id, "image_id": r["image_id"], "caption": c})
        ann_dir = os.path.join(out, "coco", "annotations")
        dump_json(os.path.join(ann_dir, f"instances_{split}.json"),
                  {"info": INFO, "licenses": LICENSES, "images": images,
                   "annotations": anns, "categories": categories})
        dump_json(os.path.join(ann_dir, f"captions_{split}.json"),
                  {"info": INFO, "licenses": LICENSES, "images": images, "annotations": caps})
        with open(os.path.join(voc, "ImageSets", "Main", f"{split}.txt"), "w") as f:
            f.write("".join(r["stem"] + "\n" for r in sorted(rs, key=lambda r: r["stem"])))
    with open(os.path.join(voc, "ImageSets", "Main", "trainval.txt"), "w") as f:
        f.write("".join(r["stem"] + "\n" for r in sorted(results, key=lambda r: r["stem"])))

    write_readme(out, args, results, args.out)
    t_all = time.perf_counter() - t0
    if not args.quiet:
        n = len(results)
        n_obj = sum(len(r["objects"]) for r in results)
        print(f"wrote {n} images ({args.train} train, {args.val} val), {n_obj} objects to {out} "
              f"in {t_all:.2f}s ({n / max(t_img, 1e-9):.0f} images/s generation, "
              f"{1000 * t_all / max(n, 1):.2f} ms/image overall)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
