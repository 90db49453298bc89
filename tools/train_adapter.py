#!/usr/bin/env python3
"""Train the Detection-Adapter (docs/adapter.md) on a frozen Stable-Diffusion-architecture model.

DiffusionEngine's recipe ("Learning Detection-Adapter"): each real image is encoded by the VAE (posterior mean), noised
to a timestep t with the model's training schedule and denoised once by the frozen UNet with the empty prompt; the
feature taps of that call (tools/taps.py, docs/taps.md) feed the adapter, trained on the dataset's boxes. The paper
uses t = 1; DPM-Solver++ ends its sampling near t = 1000 / steps, so t is drawn uniformly from [--t-min, --t-max]
(default [1, 50]) and the range is recorded in adapter/config.json (the Swift side warns outside it).

Losses (FCOS): sigmoid focal loss (alpha 0.25, gamma 2) over all locations, normalised by the positives; GIoU loss
weighted by the centerness targets; centerness BCE on positives. Targets: a location is positive for the smallest
non-crowd box whose centre region (1.5 strides around the box centre, inside the box) holds it and whose largest
distance falls in the level's range (0-64, 64-128, 128-256, 256-512, 512+ pixels for strides 8-128, times f/8 for a
VAE factor f). Crowd boxes are never positives. AdamW (weight decay 1e-4), lr --lr (2e-4) after a linear warm-up,
x0.1 at 8/9 of the iterations, as the paper's schedule.

--generated-prob P (issue 16 item 5: an adapter that reads generated images): labels are read from the last denoising
step of a generation, not from a real image noised to t. Per training image, --generated-pool img2img variants at
encode ratios from --generated-ratios (default 0.2-0.4, where the objects stay where the reference's boxes say) are
made once with the frozen model (DPM-Solver++ --generated-steps, guidance --generated-guidance, a caption from
--captions as the prompt) and their last-step taps cached under WORK/generated/; each training image is replaced by
one of them, with its boxes, with probability P. Not with --vae-encoder-tap.

--vae-encoder-tap appends the VAE encoder's mid block output to the stride1 group (config `vae_encoder_taps`,
docs/adapter.md): the detail of small objects that the 4-channel latent drops.

Data: COCO instances JSON + image folder (what `dataengine detect/eval` read), or a VOCdevkit split with --voc.
Images are used at their size rounded down to a multiple of the VAE factor (as the Swift engine does); images of the
same size are batched. Random horizontal flips (seeded).

Resumable: checkpoints (adapter, optimizer, step, RNG) under --work every --checkpoint-every iterations; the same
command continues where it stopped. Writes MODEL/adapter/ (config.json + fp16 model.safetensors) at the end, a log
with losses, and with --val-instances runs detection-only on the val split, writes COCO results and, when pycocotools
is installed, prints AP (compare with `dataengine eval`).

Examples:
  # the demo adapter (CPU, ~65 minutes on 2 threads; WORK/data is the 6,000 images of
  # `tools/train_demo_model.py --stage data`; data/demo/coco/train, 160 images, works too but overfits). The shipped
  # one ran this with --iters 4000, then 10000, then 14000 --recon-prob 0.5 (docs/adapter.md):
  python tools/train_adapter.py --model models/demo --instances WORK/data/coco/annotations/instances_train.json \\
      --images WORK/data/coco/train --val-instances data/demo/coco/annotations/instances_val.json \\
      --val-images data/demo/coco/val --channels 128 --tower-convs 4 --vae-encoder-tap --iters 10000 --batch 8
  # SD2-base on COCO (GPU; the paper trains 90k iterations at batch 64):
  python tools/train_adapter.py --model data/models/stable-diffusion-2-base \\
      --instances data/coco/annotations/instances_train2017.json --images data/coco/train2017 \\
      --channels 256 --tower-convs 4 --iters 90000 --batch 64 --device cuda --size 512
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taps as tap_defs  # noqa: E402
from adapter_model import DetectionAdapter  # noqa: E402


def log(path, msg):
    line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
    print(line, flush=True)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


# ---- data ---------------------------------------------------------------------------------------------------------

def load_coco(instances, images_dir):
    with open(instances, encoding="utf-8") as f:
        data = json.load(f)
    cats = sorted(data["categories"], key=lambda c: c["id"])
    boxes = {}
    for a in data["annotations"]:
        x, y, w, h = a["bbox"]
        if w > 0 and h > 0:
            boxes.setdefault(a["image_id"], []).append((x, y, x + w, y + h, a["category_id"], int(a.get("iscrowd", 0))))
    items = [{"id": im["id"], "path": os.path.join(images_dir, im["file_name"]), "boxes": boxes.get(im["id"], [])}
             for im in data["images"]]
    return items, [{"id": c["id"], "name": c["name"]} for c in cats]


def load_voc(root, split):
    import xml.etree.ElementTree as ET
    with open(os.path.join(root, "ImageSets", "Main", f"{split}.txt"), encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip()]
    items, classes = [], []
    for i, name in enumerate(names):
        tree = ET.parse(os.path.join(root, "Annotations", f"{name}.xml"))
        bxs = []
        for obj in tree.findall("object"):
            cls = obj.findtext("name")
            if cls not in classes:
                classes.append(cls)
            bb = obj.find("bndbox")
            x0, y0, x1, y1 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
            bxs.append((x0 - 1, y0 - 1, x1, y1, cls, int(obj.findtext("difficult") or 0)))
        fname = tree.findtext("filename") or f"{name}.jpg"
        items.append({"id": i + 1, "path": os.path.join(root, "JPEGImages", fname), "boxes": bxs})
    classes.sort()
    ids = {c: k + 1 for k, c in enumerate(classes)}
    for it in items:
        it["boxes"] = [(b[0], b[1], b[2], b[3], ids[b[4]], b[5]) for b in it["boxes"]]
    return items, [{"id": ids[c], "name": c} for c in classes]


def load_image(path, factor, size=None):
    """-> (tensor (3, H, W) in [-1, 1], scale_x, scale_y) at a multiple of the VAE factor (rounded down), or at
    `size` (longer side, aspect kept, then rounded down)."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if size:
        s = size / max(w, h)
        w2, h2 = max(factor, int(w * s) // factor * factor), max(factor, int(h * s) // factor * factor)
    else:
        w2, h2 = w // factor * factor, h // factor * factor
    if (w2, h2) != (w, h):
        im = im.resize((w2, h2), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1)
    return x, w2 / w, h2 / h


# ---- FCOS targets and losses --------------------------------------------------------------------------------------

def level_points(h, w, stride):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([(xs.reshape(-1) + 0.5) * stride, (ys.reshape(-1) + 0.5) * stride], dim=1)


def fcos_targets(points, strides, ranges, boxes, labels, num_classes, radius=1.5):
    """points: list per level (n_l, 2); boxes (g, 4) non-crowd; labels (g,) class indices.
    -> cls (N, K) one-hot, reg (N, 4) ltrb, positive mask (N,)."""
    all_pts = torch.cat(points)
    n = all_pts.shape[0]
    cls = torch.zeros(n, num_classes)
    reg = torch.zeros(n, 4)
    pos = torch.zeros(n, dtype=torch.bool)
    if boxes.shape[0] == 0:
        return cls, reg, pos
    lo = torch.cat([torch.full((p.shape[0],), r[0]) for p, r in zip(points, ranges)])
    hi = torch.cat([torch.full((p.shape[0],), r[1]) for p, r in zip(points, ranges)])
    st = torch.cat([torch.full((p.shape[0],), float(s)) for p, s in zip(points, strides)])
    px, py = all_pts[:, 0:1], all_pts[:, 1:2]
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    l, t, r, b = px - x0, py - y0, x1 - px, y1 - py
    ltrb = torch.stack([l, t, r, b], dim=2)  # (N, g, 4)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rad = st[:, None] * radius
    inside_center = ((px - torch.maximum(cx - rad, x0)) > 0) & ((torch.minimum(cx + rad, x1) - px) > 0) & \
                    ((py - torch.maximum(cy - rad, y0)) > 0) & ((torch.minimum(cy + rad, y1) - py) > 0)
    m = ltrb.max(dim=2).values
    in_range = (m >= lo[:, None]) & (m <= hi[:, None])
    area = ((x1 - x0) * (y1 - y0))[None, :].expand(n, -1).clone()
    area[~(inside_center & in_range)] = float("inf")
    best_area, best = area.min(dim=1)
    pos = torch.isfinite(best_area)
    idx = torch.nonzero(pos).flatten()
    cls[idx, labels[best[idx]]] = 1
    reg[idx] = ltrb[idx, best[idx]]
    return cls, reg, pos


def centerness_target(reg):
    lr, tb = reg[:, [0, 2]], reg[:, [1, 3]]
    return torch.sqrt((lr.min(1).values / lr.max(1).values).clamp(min=0) * (tb.min(1).values / tb.max(1).values).clamp(min=0))


def giou_loss(pred, target, points, weight):
    def boxes(d):
        return torch.stack([points[:, 0] - d[:, 0], points[:, 1] - d[:, 1], points[:, 0] + d[:, 2], points[:, 1] + d[:, 3]], 1)
    p, t = boxes(pred), boxes(target)
    ap = (p[:, 2] - p[:, 0]).clamp(min=0) * (p[:, 3] - p[:, 1]).clamp(min=0)
    at = (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    iw = (torch.minimum(p[:, 2], t[:, 2]) - torch.maximum(p[:, 0], t[:, 0])).clamp(min=0)
    ih = (torch.minimum(p[:, 3], t[:, 3]) - torch.maximum(p[:, 1], t[:, 1])).clamp(min=0)
    inter = iw * ih
    union = ap + at - inter + 1e-7
    iou = inter / union
    ew = torch.maximum(p[:, 2], t[:, 2]) - torch.minimum(p[:, 0], t[:, 0])
    eh = torch.maximum(p[:, 3], t[:, 3]) - torch.minimum(p[:, 1], t[:, 1])
    enclose = ew * eh + 1e-7
    giou = iou - (enclose - union) / enclose
    return ((1 - giou) * weight).sum()


# ---- the frozen model -------------------------------------------------------------------------------------------

class FrozenDiffusion:
    def __init__(self, folder, device, vae_encoder_tap=False):
        from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer
        self.device = device
        self.vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float32).to(device).eval()
        self.unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float32).to(device).eval()
        text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", torch_dtype=torch.float32).to(device).eval()
        tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer")
        self.scheduler = DDIMScheduler.from_pretrained(folder, subfolder="scheduler")
        for m in (self.vae, self.unet, text_encoder):
            m.requires_grad_(False)
        self.text_encoder, self.tokenizer = text_encoder, tokenizer
        with torch.no_grad():
            ids = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                            return_tensors="pt").input_ids.to(device)
            self.empty = text_encoder(ids)[0]
        self.factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.tap_channels = tap_defs.tap_channels(dict(self.unet.config))
        self.recorder = tap_defs.TapRecorder(self.unet)
        self.vae_encoder_tap = vae_encoder_tap
        if vae_encoder_tap:
            # The VAE encoder's mid block output (stride f in pixels, the latent's grid), which the adapter appends to
            # the stride1 group: it still holds the shape detail that the 4-channel latent drops (docs/adapter.md).
            self.tap_channels[1] += self.vae.config.block_out_channels[-1]
            self._encoder_feature = None
            self.vae.encoder.mid_block.register_forward_hook(lambda m, i, o: setattr(self, "_encoder_feature", o))

    @torch.no_grad()
    def reconstruct(self, images):
        """decode(encode(images)) through the VAE (posterior mean), clamped: what a generated image at a low encode
        ratio looks like at best (soft edges, blurred small shapes)."""
        return self.vae.decode(self.vae.encode(images).latent_dist.mean).sample.clamp(-1, 1)

    @torch.no_grad()
    def generated_taps(self, image, prompt, strength, steps, guidance, seed):
        """The label stage's input for one generated variant: img2img of `image` (3, H, W) in [-1, 1] at `strength`
        (DPM-Solver++ as the generate stage runs it, `steps`, `guidance`), the last denoising step's taps of the
        conditional batch element -> ({"stride1": (1, C, h, w), ...} in fp16, that step's timestep)."""
        from diffusers import DPMSolverMultistepScheduler, StableDiffusionImg2ImgPipeline
        if not hasattr(self, "_img2img"):
            sched = DPMSolverMultistepScheduler.from_config(self.scheduler.config, algorithm_type="dpmsolver++", solver_order=2,
                                                            final_sigmas_type="zero", timestep_spacing="linspace")
            self._img2img = StableDiffusionImg2ImgPipeline(vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer,
                                                           unet=self.unet, scheduler=sched, safety_checker=None,
                                                           feature_extractor=None, requires_safety_checker=False)
            self._img2img.set_progress_bar_config(disable=True)
        with self.recorder:
            self._img2img(prompt=prompt, image=((image[None] + 1) / 2).clamp(0, 1), strength=strength, num_inference_steps=steps,
                          guidance_scale=guidance, generator=torch.Generator().manual_seed(seed), output_type="latent")
            taps = self.recorder.taps()
        return {k: v.half() for k, v in taps.items()}, int(self._img2img.scheduler.timesteps[-1])

    @torch.no_grad()
    def taps(self, images, timesteps, generator):
        """images (N, 3, H, W) in [-1, 1]; timesteps (N,) ints -> {"stride1": (N, C, h, w), ...}."""
        x0 = self.vae.encode(images).latent_dist.mean * self.vae.config.scaling_factor
        noise = torch.randn(x0.shape, generator=generator).to(self.device)
        noised = self.scheduler.add_noise(x0, noise, timesteps.to(self.device))
        with self.recorder:
            self.unet(noised, timesteps.to(self.device), encoder_hidden_states=self.empty.expand(x0.shape[0], -1, -1))
            taps = self.recorder.taps(batch_index="all")
        if self.vae_encoder_tap:
            taps["vae_encoder.mid_block"] = self._encoder_feature
        return taps


# ---- training -----------------------------------------------------------------------------------------------------

def batches(items, batch, rng):
    """Yields lists of items of the same image size (sizes read once)."""
    by_size = {}
    for it in items:
        by_size.setdefault(it["size"], []).append(it)
    groups = list(by_size.values())
    while True:
        weights = [len(g) for g in groups]
        g = rng.choices(groups, weights=weights)[0]
        yield [g[rng.randrange(len(g))] for _ in range(min(batch, len(g)))]


def train(args):
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    os.makedirs(args.work, exist_ok=True)
    log_path = args.log or os.path.join(args.work, "train_adapter.log")
    if args.voc:
        items, classes = load_voc(args.voc, args.voc_split)
    else:
        items, classes = load_coco(args.instances, args.images)
    diff = FrozenDiffusion(args.model, device, args.vae_encoder_tap)
    f = diff.factor
    cat_index = {c["id"]: i for i, c in enumerate(classes)}
    for it in items:
        w, h = Image.open(it["path"]).size
        if args.size:
            s = args.size / max(w, h)
            it["size"] = (max(f, int(w * s) // f * f), max(f, int(h * s) // f * f))
        else:
            it["size"] = (w // f * f, h // f * f)
    config = {"channels": args.channels, "tower_convs": args.tower_convs, "norm_num_groups": 32,
              "tap_channels": {str(s): c for s, c in diff.tap_channels.items()}, "vae_scale_factor": f,
              "classes": classes, "timestep_range": [args.t_min, args.t_max]}
    if args.vae_encoder_tap:
        config["vae_encoder_taps"] = ["mid_block"]
    torch.manual_seed(args.seed)
    adapter = DetectionAdapter(config).to(device).train()
    params = [p for p in adapter.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    step = 0
    ckpt = os.path.join(args.work, "adapter_checkpoint.pt")
    rng = random.Random(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    if os.path.exists(ckpt):
        state = torch.load(ckpt, map_location=device, weights_only=False)
        adapter.load_state_dict(state["adapter"])
        opt.load_state_dict(state["optimizer"])
        step = state["step"]
        rng.setstate(state["rng"])
        gen.set_state(state["gen"])
        log(log_path, f"resumed from {ckpt} at iteration {step}; now {args.iters} iterations, recon-prob {args.recon_prob}")
    else:
        log(log_path, f"training the adapter: {len(items)} images, {len(classes)} classes, taps {diff.tap_channels}, "
                      f"C {args.channels}, towers {args.tower_convs}, t in [{args.t_min}, {args.t_max}], {args.iters} "
                      f"iterations of batch {args.batch}, lr {args.lr}, VAE encoder tap {args.vae_encoder_tap}, recon-prob {args.recon_prob}")
    pool = generated_pool(args, diff, items, cat_index, log_path) if args.generated_prob > 0 else {}
    strides = adapter.image_strides
    ranges = [(-1, 8 * strides[0])] + [(8 * s // 2, 8 * s) for s in strides[1:-1]] + [(8 * strides[-1] // 2, 1e8)]
    warmup = min(500, args.iters // 10)
    source = batches(items, args.batch, rng)
    start, seen = time.time(), 0
    while step < args.iters:
        lr = args.lr * (0.1 if step >= args.iters * 8 // 9 else 1.0) * min(1.0, (step + 1) / max(1, warmup))
        for g in opt.param_groups:
            g["lr"] = lr
        group = next(source)
        images, targets = [], []
        for it in group:
            x, sx, sy = load_image(it["path"], f, args.size)
            bxs = [b for b in it["boxes"] if b[5] == 0 and b[4] in cat_index]
            bt = torch.tensor([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for b in bxs], dtype=torch.float32).reshape(-1, 4)
            lt = torch.tensor([cat_index[b[4]] for b in bxs], dtype=torch.int64)
            if rng.random() < 0.5:
                x = x.flip(2)
                wpx = x.shape[2]
                bt = torch.stack([wpx - bt[:, 2], bt[:, 1], wpx - bt[:, 0], bt[:, 3]], 1) if len(bt) else bt
            images.append(x)
            targets.append((bt, lt))
        images = torch.stack(images).to(device)
        if args.recon_prob > 0:
            pick = [i for i in range(images.shape[0]) if rng.random() < args.recon_prob]
            if pick:
                images[pick] = diff.reconstruct(images[pick])
        t = torch.randint(args.t_min, args.t_max + 1, (images.shape[0],), generator=gen)
        taps = diff.taps(images, t, gen)
        if pool:
            # Some images are replaced by a generated variant of themselves: the taps the label stage reads (the
            # last denoising step's), with the reference's boxes (unflipped: generated taps are not mirrored).
            for i, it in enumerate(group):
                if rng.random() < args.generated_prob and it["id"] in pool:
                    variant = pool[it["id"]][rng.randrange(len(pool[it["id"]]))]
                    for k in taps:
                        taps[k][i] = variant["taps"][k][0].float().to(device)
                    targets[i] = variant["targets"]
        outputs = adapter(taps)
        n = images.shape[0]
        points = [level_points(o[0].shape[2], o[0].shape[3], s) for o, s in zip(outputs, strides)]
        cls_pred = torch.cat([o[0].permute(0, 2, 3, 1).reshape(n, -1, adapter.num_classes) for o in outputs], 1)
        reg_pred = torch.cat([o[1].permute(0, 2, 3, 1).reshape(n, -1, 4) for o in outputs], 1)
        ctr_pred = torch.cat([o[2].permute(0, 2, 3, 1).reshape(n, -1) for o in outputs], 1)
        all_points = torch.cat(points).to(device)
        cls_t, reg_t, pos_t = zip(*[fcos_targets(points, strides, ranges, b, l, adapter.num_classes) for b, l in targets])
        cls_t, reg_t, pos_t = torch.stack(cls_t).to(device), torch.stack(reg_t).to(device), torch.stack(pos_t).to(device)
        num_pos = max(1.0, float(pos_t.sum()))
        focal = sigmoid_focal_loss(cls_pred, cls_t).sum() / num_pos
        if pos_t.any():
            ctr_t = centerness_target(reg_t[pos_t])
            pts = all_points[None].expand(n, -1, -1)[pos_t]
            box = giou_loss(reg_pred[pos_t], reg_t[pos_t], pts, ctr_t) / max(float(ctr_t.sum()), 1e-6)
            ctr = F.binary_cross_entropy_with_logits(ctr_pred[pos_t], ctr_t, reduction="sum") / num_pos
        else:
            box = ctr = torch.zeros((), device=device)
        loss = focal + box + ctr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 35.0)
        opt.step()
        step += 1
        seen += n
        if step % args.log_every == 0 or step == args.iters:
            rate = (time.time() - start) / max(1, seen) * args.batch
            log(log_path, f"iter {step}/{args.iters}  loss {loss.item():.4f} (focal {focal.item():.4f}, giou {box.item():.4f}, "
                          f"ctr {ctr.item():.4f})  pos {int(num_pos)}  lr {lr:.2e}  {rate:.2f} s/iter  "
                          f"ETA {rate * (args.iters - step) / 60:.1f} min")
        if step % args.checkpoint_every == 0 or step == args.iters:
            tmp = ckpt + ".tmp"
            torch.save({"adapter": adapter.state_dict(), "optimizer": opt.state_dict(), "step": step,
                        "rng": rng.getstate(), "gen": gen.get_state()}, tmp)
            os.replace(tmp, ckpt)
    adapter.eval()
    out = os.path.join(args.model, "adapter") if args.out is None else args.out
    adapter.save_folder(out, dtype=torch.float16)
    log(log_path, f"wrote {out} ({os.path.getsize(os.path.join(out, 'model.safetensors')) / 1e6:.2f} MB)")
    if args.val_instances:
        evaluate(args, diff, DetectionAdapter.from_folder(out).to(device).eval(), log_path)


def generated_pool(args, diff, items, cat_index, log_path):
    """--generated-prob: per training image, --generated-pool img2img variants at encode ratios drawn from
    --generated-ratios, with the reference's boxes as their targets (at low ratios the objects stay where they
    were); their last-step taps are cached under WORK/generated/ (made once, reused on resume)."""
    if args.vae_encoder_tap:
        sys.exit("--generated-prob reads the UNet's taps only: it does not go with --vae-encoder-tap")
    captions = {}
    if args.captions:
        with open(args.captions, encoding="utf-8") as f:
            for a in json.load(f)["annotations"]:
                captions.setdefault(a["image_id"], []).append(a["caption"])
    folder = os.path.join(args.work, "generated")
    os.makedirs(folder, exist_ok=True)
    pool, made, start = {}, 0, time.time()
    for it in items:
        variants = []
        for v in range(args.generated_pool):
            path = os.path.join(folder, f"{it['id']}-{v}.pt")
            if not os.path.exists(path):
                rng = random.Random(it["id"] * 1000 + v)
                ratio = rng.uniform(*args.generated_ratios)
                caps = captions.get(it["id"], [""])
                x, _, _ = load_image(it["path"], diff.factor, args.size)
                taps, t = diff.generated_taps(x.to(diff.device), caps[rng.randrange(len(caps))], ratio, args.generated_steps,
                                              args.generated_guidance, it["id"] * 1000 + v)
                torch.save({"taps": taps, "timestep": t, "ratio": ratio}, path + ".tmp")
                os.replace(path + ".tmp", path)
                made += 1
                if made % 50 == 0:
                    log(log_path, f"generated variants: {made} made ({(time.time() - start) / made:.2f} s each)")
            variants.append(torch.load(path, weights_only=False))
        pool[it["id"]] = variants
    for it in items:
        sx, sy = load_image_scale(it)
        bxs = [b for b in it["boxes"] if b[5] == 0 and b[4] in cat_index]
        bt = torch.tensor([[b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy] for b in bxs], dtype=torch.float32).reshape(-1, 4)
        lt = torch.tensor([cat_index[b[4]] for b in bxs], dtype=torch.int64)
        for variant in pool[it["id"]]:
            variant["targets"] = (bt, lt)
    log(log_path, f"generated variants: {sum(len(v) for v in pool.values())} cached in {folder} (encode ratios "
                  f"{args.generated_ratios[0]}-{args.generated_ratios[1]}, {args.generated_steps} steps, guidance {args.generated_guidance}); "
                  f"each replaces its reference with probability {args.generated_prob}")
    return pool


def load_image_scale(item):
    """The scale load_image applies to an item's boxes (its size was set from the same rule)."""
    w, h = Image.open(item["path"]).size
    w2, h2 = item["size"]
    return w2 / w, h2 / h


def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    return (alpha * targets + (1 - alpha) * (1 - targets)) * loss


@torch.no_grad()
def evaluate(args, diff, adapter, log_path):
    items, _ = load_coco(args.val_instances, args.val_images)
    results = []
    t = adapter.config["timestep_range"][0]
    gen = torch.Generator().manual_seed(0)
    for it in items:
        x, sx, sy = load_image(it["path"], diff.factor, args.size)
        taps = diff.taps(x[None].to(diff.device), torch.tensor([t]), gen)
        det = adapter.detect(adapter({k: v.cpu() for k, v in taps.items()}), (x.shape[1], x.shape[2]))
        for b, s, l in zip(det["boxes"].tolist(), det["scores"].tolist(), det["labels"].tolist()):
            x0, y0, x1, y1 = b[0] / sx, b[1] / sy, b[2] / sx, b[3] / sy
            results.append({"image_id": it["id"], "category_id": adapter.config["classes"][l]["id"],
                            "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)], "score": round(s, 5)})
    path = os.path.join(args.work, "val_results.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f)
    log(log_path, f"val: {len(results)} detections on {len(items)} images at t = {t} -> {path}")
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        log(log_path, "pycocotools not installed: run `dataengine eval --gt VAL.json --pred " + path + "`")
        return
    gt = COCO(args.val_instances)
    dt = gt.loadRes(path) if results else None
    if dt is None:
        log(log_path, "no detections")
        return
    e = COCOeval(gt, dt, "bbox")
    e.evaluate()
    e.accumulate()
    e.summarize()
    log(log_path, f"val AP {e.stats[0]:.3f}  AP50 {e.stats[1]:.3f}  AP75 {e.stats[2]:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="diffusers folder (the adapter goes to MODEL/adapter unless --out)")
    ap.add_argument("--instances", help="COCO instances JSON of the training split")
    ap.add_argument("--images", help="image folder of --instances")
    ap.add_argument("--voc", help="a VOCdevkit year folder (e.g. data/VOCdevkit/VOC2007) instead of COCO")
    ap.add_argument("--voc-split", default="trainval")
    ap.add_argument("--val-instances")
    ap.add_argument("--val-images")
    ap.add_argument("--out", help="adapter folder to write (default MODEL/adapter)")
    ap.add_argument("--work", default="/tmp/train-adapter", help="checkpoints and log")
    ap.add_argument("--log", help="log file (default WORK/train_adapter.log)")
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--tower-convs", type=int, default=2)
    ap.add_argument("--vae-encoder-tap", action="store_true",
                    help="append the VAE encoder's mid block output to the stride1 group (detail the latent drops)")
    ap.add_argument("--recon-prob", type=float, default=0.0,
                    help="replace each training image by its VAE reconstruction with this probability (generated "
                         "images are decoded by that VAE: labels on them need features robust to its blur)")
    ap.add_argument("--generated-prob", type=float, default=0.0,
                    help="replace each training image by one of its generated img2img variants (their last denoising step's "
                         "taps, the label stage's input, with the image's boxes) with this probability (issue 16 item 5)")
    ap.add_argument("--generated-pool", type=int, default=2, help="variants made per training image for --generated-prob")
    ap.add_argument("--generated-ratios", type=float, nargs=2, default=[0.2, 0.4],
                    help="encode ratios of the variants (low: the objects stay where the boxes say)")
    ap.add_argument("--generated-steps", type=int, default=30)
    ap.add_argument("--generated-guidance", type=float, default=7.5)
    ap.add_argument("--captions", help="COCO captions JSON of the training split: the variants' prompts (else empty)")
    ap.add_argument("--t-min", type=int, default=1)
    ap.add_argument("--t-max", type=int, default=50)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--size", type=int, default=None, help="resize the longer side to this (multiple of the VAE factor)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--checkpoint-every", type=int, default=250)
    args = ap.parse_args()
    if not args.voc and not (args.instances and args.images):
        ap.error("give --instances and --images (COCO) or --voc")
    train(args)


if __name__ == "__main__":
    main()
