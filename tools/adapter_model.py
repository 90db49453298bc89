#!/usr/bin/env python3
"""The Detection-Adapter (docs/adapter.md): reference definition in PyTorch.

A neck (per tap group a 1x1 conv + GroupNorm, one extra level from a 3x3 stride-2 conv on the raw coarsest group)
and an FCOS-style dense head (shared conv towers with GroupNorm and ReLU, class logits, ltrb distances with a learned
per-level scale, centerness), plus the decoding the Swift `Adapter` target reproduces: score thresholding, per-level
top-k, clipping, class-wise NMS, at most `max_detections` boxes.

Used by tools/train_adapter.py (training) and tools/make_adapter_fixtures.py (Swift parity fixtures). Weight names
are the module names below; `DetectionAdapter.from_folder(DIR)` / `.save_folder(DIR)` read and write
`adapter/config.json` + `adapter/model.safetensors`.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULTS = {"_class_name": "DetectionAdapter", "head_type": "fcos", "channels": 64, "tower_convs": 2,
            "norm_num_groups": 32, "vae_scale_factor": 8, "timestep_range": [1, 50], "score_threshold": 0.05,
            "pre_nms_top_k": 1000, "nms_iou": 0.6, "max_detections": 100}
TAP_STRIDES = (1, 2, 4, 8)  # relative to the latent, docs/taps.md
PRIOR_PROB = 0.01


class ConvNorm(nn.Module):
    """Conv without bias, then GroupNorm (mmdetection's ConvModule with a GN norm_cfg); `relu` optional."""

    def __init__(self, cin, cout, kernel, stride, groups, relu):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        self.norm = nn.GroupNorm(groups, cout, eps=1e-5)
        self.relu = relu

    def forward(self, x):
        x = self.norm(self.conv(x))
        return F.relu(x) if self.relu else x


class AdapterNeck(nn.Module):
    def __init__(self, tap_channels, channels, groups):
        super().__init__()
        self.lateral = nn.ModuleList([ConvNorm(c, channels, 1, 1, groups, False) for c in tap_channels])
        self.extra = ConvNorm(tap_channels[-1], channels, 3, 2, groups, False)

    def forward(self, taps):
        """taps: list of (N, C_s, h_s, w_s) in ascending stride -> five (N, C, h, w) levels."""
        levels = [lateral(x) for lateral, x in zip(self.lateral, taps)]
        levels.append(self.extra(taps[-1]))
        return levels


class FCOSHead(nn.Module):
    def __init__(self, channels, num_classes, tower_convs, groups, num_levels=5):
        super().__init__()
        self.cls_tower = nn.ModuleList([ConvNorm(channels, channels, 3, 1, groups, True) for _ in range(tower_convs)])
        self.reg_tower = nn.ModuleList([ConvNorm(channels, channels, 3, 1, groups, True) for _ in range(tower_convs)])
        self.cls_logits = nn.Conv2d(channels, num_classes, 3, padding=1)
        self.bbox_pred = nn.Conv2d(channels, 4, 3, padding=1)
        self.centerness = nn.Conv2d(channels, 1, 3, padding=1)
        self.scales = nn.Parameter(torch.ones(num_levels))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_logits.bias, -math.log((1 - PRIOR_PROB) / PRIOR_PROB))

    def forward(self, levels, strides):
        """-> per level (cls_logits (N, K, h, w), ltrb (N, 4, h, w) in image pixels, centerness logits (N, 1, h, w))."""
        out = []
        for l, (x, s) in enumerate(zip(levels, strides)):
            c, r = x, x
            for m in self.cls_tower:
                c = m(c)
            for m in self.reg_tower:
                r = m(r)
            ltrb = F.relu(self.scales[l] * self.bbox_pred(r)) * s
            out.append((self.cls_logits(c), ltrb, self.centerness(r)))
        return out


class DetectionAdapter(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = {**DEFAULTS, **config}
        c = self.config
        if c["head_type"] != "fcos":
            raise ValueError(f"head_type {c['head_type']!r}: supported: 'fcos'")
        self.tap_channels = [int(c["tap_channels"][str(s)]) for s in TAP_STRIDES]
        self.num_classes = len(c["classes"])
        self.neck = AdapterNeck(self.tap_channels, c["channels"], c["norm_num_groups"])
        self.head = FCOSHead(c["channels"], self.num_classes, c["tower_convs"], c["norm_num_groups"])

    @property
    def image_strides(self):
        f = self.config["vae_scale_factor"]
        return [f * s for s in (1, 2, 4, 8, 16)]

    def forward(self, taps):
        """taps: {"stride1": tensor, ...} (plus "vae_encoder.mid_block" when the config's vae_encoder_taps asks for
        it: appended to stride1 along channels) or a list in ascending stride (stride1 already holding it)."""
        if isinstance(taps, dict):
            groups = [taps[f"stride{s}"] for s in TAP_STRIDES]
            if self.config.get("vae_encoder_taps"):
                groups[0] = torch.cat([groups[0], taps["vae_encoder.mid_block"]], 1)
            taps = groups
        return self.head(self.neck(taps), self.image_strides)

    # ---- decoding (docs/adapter.md, "Decoding") ----------------------------------------------------------------

    def candidates(self, outputs, index=0):
        """Pre-NMS candidates of batch element `index`, in the stable order of docs/adapter.md (score descending
        within a level, after per-level thresholding and top-k), before clipping:
        dict of boxes (n, 4), scores (n,), labels (n,), levels (n,), locations (n,)."""
        c = self.config
        boxes, scores, labels, levels, locations = [], [], [], [], []
        for l, ((cls, ltrb, ctr), s) in enumerate(zip(outputs, self.image_strides)):
            k, h, w = cls.shape[1:]
            score = torch.sqrt(torch.sigmoid(cls[index]) * torch.sigmoid(ctr[index]))  # (K, h, w)
            flat = score.permute(1, 2, 0).reshape(-1)  # location-major, class-minor: index = loc * K + class
            keep = torch.nonzero(flat > c["score_threshold"]).flatten()
            order = torch.argsort(-flat[keep], stable=True)[: c["pre_nms_top_k"]]
            keep = keep[order]
            loc, cl = keep // k, keep % k
            ys, xs = loc // w, loc % w
            px, py = (xs.to(torch.float32) + 0.5) * s, (ys.to(torch.float32) + 0.5) * s
            d = ltrb[index].reshape(4, -1)[:, loc]
            boxes.append(torch.stack([px - d[0], py - d[1], px + d[2], py + d[3]], dim=1))
            scores.append(flat[keep])
            labels.append(cl)
            levels.append(torch.full_like(cl, l))
            locations.append(loc)
        cat = lambda xs, dt: torch.cat(xs) if xs else torch.zeros(0, dtype=dt)  # noqa: E731
        return {"boxes": cat(boxes, torch.float32).reshape(-1, 4), "scores": cat(scores, torch.float32),
                "labels": cat(labels, torch.int64), "levels": cat(levels, torch.int64),
                "locations": cat(locations, torch.int64)}

    def detect(self, outputs, image_size, index=0):
        """Final detections for an image of (height, width): boxes (n, 4) clipped, scores (n,), labels (n,), and
        `kept`: the indices into `candidates()` that survived, in output order."""
        c = self.config
        cand = self.candidates(outputs, index)
        height, width = image_size
        boxes = cand["boxes"].clone()
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        order = torch.argsort(-cand["scores"], stable=True)
        labels = cand["labels"][order]
        if c.get("nms", "classwise") == "agnostic":  # overlapping boxes of different classes are reduced to one
            labels = torch.zeros_like(labels)
        kept = nms_classwise(boxes[order], labels, c["nms_iou"])
        kept = order[kept][: c["max_detections"]]
        return {"boxes": boxes[kept], "scores": cand["scores"][kept], "labels": cand["labels"][kept], "kept": kept,
                "candidates": cand, "clipped": boxes}

    # ---- files --------------------------------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder):
        """`folder` is a model folder (with adapter/) or the adapter folder itself."""
        if os.path.isdir(os.path.join(folder, "adapter")):
            folder = os.path.join(folder, "adapter")
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            model = cls(json.load(f))
        import safetensors.torch
        state = safetensors.torch.load_file(os.path.join(folder, "model.safetensors"))
        model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
        return model

    def save_folder(self, folder, dtype=torch.float32):
        import safetensors.torch
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
            json.dump(self.config, f, indent=2)
            f.write("\n")
        state = {k: v.detach().to(dtype).contiguous() for k, v in self.state_dict().items()}
        safetensors.torch.save_file(state, os.path.join(folder, "model.safetensors"))


def nms_classwise(boxes, labels, iou_threshold):
    """Greedy NMS per class on boxes already sorted by score (descending); returns kept indices in that order.
    IoU on continuous coordinates; a box is suppressed when IoU > threshold with a kept box of its class."""
    n = boxes.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    x0, y0, x1, y1 = boxes.unbind(1)
    area = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
    suppressed = torch.zeros(n, dtype=torch.bool)
    kept = []
    for i in range(n):
        if suppressed[i]:
            continue
        kept.append(i)
        rest = torch.arange(i + 1, n)
        rest = rest[(~suppressed[rest]) & (labels[rest] == labels[i])]
        if rest.numel() == 0:
            continue
        iw = (torch.minimum(x1[i], x1[rest]) - torch.maximum(x0[i], x0[rest])).clamp(min=0)
        ih = (torch.minimum(y1[i], y1[rest]) - torch.maximum(y0[i], y0[rest])).clamp(min=0)
        inter = iw * ih
        union = area[i] + area[rest] - inter
        iou = torch.where(union > 0, inter / union, torch.zeros_like(inter))
        suppressed[rest[iou > iou_threshold]] = True
    return torch.tensor(kept, dtype=torch.int64)
