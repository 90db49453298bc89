#!/usr/bin/env python3
"""The small detector of the trainability benchmark (tools/trainability.py, docs/trainability.md).

A CenterNet-style detector ("Objects as Points"), trained from scratch, deliberately unrelated to the project's
Detection-Adapter (an FCOS head on UNet features): a plain conv backbone on the RGB image, one output map at stride 4.

- Backbone: 4 stages of two 3x3 conv + BatchNorm + ReLU each (the first conv of a stage has stride 2), channels
  24 / 32 / 64 / 96 at strides 2 / 4 / 8 / 16; a top-down path (1x1 laterals, nearest upsampling, sum, a 3x3 conv)
  back to stride 4 with 48 channels; head: 3x3 conv 48 + ReLU, then 1x1 convs to K class heatmaps (sigmoid, bias
  -2.19), 2 log-size channels (log(w / 4), log(h / 4)) and 2 sub-cell offsets.
- Targets at stride 4: per box, an elliptical Gaussian on its class heatmap at the centre cell, sigma = (w, h) / 4 /
  6 (at least 0.5 cells); the centre cell carries the box's log size and centre offset (the smaller box wins a shared
  cell). Crowd boxes are ignored.
- Loss: CenterNet's penalty-reduced focal loss on the heatmaps (alpha 2, beta 4, normalised by the number of boxes),
  L1 on log size and offset at centre cells (weights 1 and 1).
- Decoding: 3x3 max-pool peaks, the top 100 over all classes and cells, boxes from offset + size, back to the
  original image's pixels.

For 128x128 inputs: 0.11 G multiply-adds per image, 0.29 M parameters (5 classes).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 4


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CenterNetSmall(nn.Module):
    CHANNELS = (24, 32, 64, 96)
    NECK = 48

    def __init__(self, num_classes):
        super().__init__()
        c1, c2, c3, c4 = self.CHANNELS
        n = self.NECK
        self.s1 = nn.Sequential(conv_bn(3, c1, 2), conv_bn(c1, c1))      # stride 2
        self.s2 = nn.Sequential(conv_bn(c1, c2, 2), conv_bn(c2, c2))     # stride 4
        self.s3 = nn.Sequential(conv_bn(c2, c3, 2), conv_bn(c3, c3))     # stride 8
        self.s4 = nn.Sequential(conv_bn(c3, c4, 2), conv_bn(c4, c4))     # stride 16
        self.l4 = nn.Conv2d(c4, n, 1)
        self.l3 = nn.Conv2d(c3, n, 1)
        self.l2 = nn.Conv2d(c2, n, 1)
        self.f3 = conv_bn(n, n)
        self.f2 = conv_bn(n, n)
        self.head = conv_bn(n, n)
        self.hm = nn.Conv2d(n, num_classes, 1)
        self.reg = nn.Conv2d(n, 4, 1)
        nn.init.constant_(self.hm.bias, -2.19)
        nn.init.normal_(self.reg.weight, std=0.01)
        nn.init.zeros_(self.reg.bias)

    def forward(self, x):
        x2 = self.s2(self.s1(x))
        x3 = self.s3(x2)
        x4 = self.s4(x3)
        p = self.l4(x4)
        p = self.f3(self.l3(x3) + F.interpolate(p, scale_factor=2, mode="nearest"))
        p = self.f2(self.l2(x2) + F.interpolate(p, scale_factor=2, mode="nearest"))
        p = self.head(p)
        return self.hm(p), self.reg(p)


def make_targets(boxes, labels, size, num_classes):
    """Dense targets for one image. boxes: (n, 4) x0, y0, x1, y1 in the resized image's pixels; labels: (n,) in
    0..K-1. Returns heatmap (K, s, s) float32, reg (4, s, s) float32 (log w/4, log h/4, dx, dy), mask (s, s) uint8."""
    s = size // STRIDE
    hm = np.zeros((num_classes, s, s), np.float32)
    reg = np.zeros((4, s, s), np.float32)
    mask = np.zeros((s, s), np.uint8)
    owner_area = np.full((s, s), np.inf, np.float32)
    ys, xs = np.mgrid[0:s, 0:s].astype(np.float32)
    for (x0, y0, x1, y1), c in zip(boxes, labels):
        w, h = x1 - x0, y1 - y0
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = min(max(int(cx), 0), s - 1), min(max(int(cy), 0), s - 1)
        sx, sy = max(w / STRIDE / 6, 0.5), max(h / STRIDE / 6, 0.5)
        g = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        np.maximum(hm[c], g, out=hm[c])
        hm[c, iy, ix] = 1.0
        if w * h < owner_area[iy, ix]:
            owner_area[iy, ix] = w * h
            reg[:, iy, ix] = (math.log(w / STRIDE), math.log(h / STRIDE), cx - ix, cy - iy)
            mask[iy, ix] = 1
    return hm, reg, mask


def losses(hm_logits, reg_pred, hm_t, reg_t, mask_t):
    """CenterNet focal loss + L1 regression. Returns (total, heatmap loss, regression loss)."""
    p = torch.sigmoid(hm_logits).clamp(1e-4, 1 - 1e-4)
    pos = hm_t.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p ** 2 * (1 - hm_t) ** 4 * neg
    num_pos = pos.sum().clamp(min=1)
    l_hm = -(pos_loss.sum() + neg_loss.sum()) / num_pos
    m = mask_t.unsqueeze(1).float()
    n_reg = m.sum().clamp(min=1)
    l_reg = (F.l1_loss(reg_pred, reg_t, reduction="none") * m).sum() / n_reg
    return l_hm + l_reg, l_hm, l_reg


@torch.no_grad()
def decode(hm_logits, reg_pred, top_k=100):
    """Per image: (boxes (k, 4) x0, y0, x1, y1 in network-input pixels, scores (k,), labels (k,))."""
    hm = torch.sigmoid(hm_logits)
    peaks = (F.max_pool2d(hm, 3, 1, 1) == hm).float() * hm
    b, k, s, _ = hm.shape
    scores, idx = peaks.reshape(b, -1).topk(min(top_k, k * s * s))
    labels = idx // (s * s)
    cell = idx % (s * s)
    iy, ix = (cell // s).float(), (cell % s).float()
    out = []
    for i in range(b):
        r = reg_pred[i].reshape(4, -1)[:, cell[i]]
        w, h = torch.exp(r[0].clamp(max=6)) * STRIDE, torch.exp(r[1].clamp(max=6)) * STRIDE
        cx, cy = (ix[i] + r[2]) * STRIDE, (iy[i] + r[3]) * STRIDE
        out.append((torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), scores[i], labels[i]))
    return out
