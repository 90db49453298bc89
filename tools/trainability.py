#!/usr/bin/env python3
"""Trainability benchmark: does a DataEngine output (COCO-DE) train a better detector? (docs/trainability.md)

The DiffusionEngine paper judges its data by the detector it trains (Table 2: real + DE beats real alone). This
script trains an independent small detector (tools/trainability_detector.py: CenterNet-style, from scratch, NOT the
project's Detection-Adapter) with the same recipe on

  a  the real training set;
  b  a + the DE output (generated images only: a DE set holding real images, e.g. written with
     `include_references: true`, is refused);
  c  the DE output alone;
  d  a + as many extra real images as the DE run generated (references x variants, before any drop; from the run's
     plan.json + report.json, or --generated). Demo data only: image i of a demo split does not depend on the split
     size, so the extra images are images N+1 ... N+G of the same seed;
  e  a + VAE reconstructions of the DE run's references with their true boxes, one per DE image (the DE image's
     reference, posterior sample seeded by (reference id, variant), decoded at the reference's size): DE must beat
     plain re-encoding;

and evaluates each on a held-out real split that no training uses (demo: `make_demo_dataset.py --seed 1 --train 0
--val 400`), over several seeds, with pycocotools' COCOeval (AP, AP50; mean and sample standard deviation).

THE FIXED RECIPE (chosen on real data only, before any DE measurement; do not tune it per DE run):
  - detector: tools/trainability_detector.py (CenterNetSmall, 0.29 M parameters), random init from the seed;
  - input: images resized to 128x128 (the demo's size: no resize), pixels (x / 255 - 0.5) / 0.25;
  - augmentation: horizontal flip with probability 0.5, nothing else;
  - sampling: epochs of a seeded permutation of the union of the config's images (every image equally likely);
  - optimiser: AdamW, lr 2e-3, weight decay 1e-4, betas (0.9, 0.999); linear warm-up over 100 iterations, cosine
    decay to 0; batch 32; 800 iterations (--iterations) for every config;
  - seeds 0, 1, 2 (--seeds 3): seed s fixes the initial weights (identical across configs) and the data order/flips;
  - evaluation: top 100 detections per image, COCOeval bbox on the held-out split;
  - demo defaults: real training set = the first 500 images of demo seed 0 (--real-train; they include the 160
    images of data/demo, the demo pipeline's references), evaluation set = 400 val images of demo seed 1;
  - torch on CPU, --threads 1 (another count changes the speed and the float summation order, not the recipe).

Everything is cached under --out WORK: generated demo sets (WORK/data), reconstructions (WORK/recon), one result JSON
per (config, seed) (WORK/results/<config>-seed<s>-<key>.json, key = hash of recipe + data), written as soon as a
training finishes; a killed run continues with the same command. The Markdown table is printed at the end (and
written to WORK/table.md).

Examples:
  /root/venv-ref/bin/python tools/trainability.py --de RUNDIR/output/demo_de --out WORK
  /root/venv-ref/bin/python tools/trainability.py --de RUNDIR/output/demo_de --out WORK --configs a,d --seeds 1
  # your own COCO data (config d is skipped):
  /root/venv-ref/bin/python tools/trainability.py --de RUNDIR/output/my_de --out WORK \\
      --real-instances train.json --real-images train/ --eval-instances val.json --eval-images val/ \\
      --vae MODEL/vae --size 256
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

GENERATED_ID_BASE = 10 ** 12
RECIPE_VERSION = 1
CONFIG_NAMES = {
    "a": "real",
    "b": "real + DE",
    "c": "DE only",
    "d": "real + as many more real",
    "e": "real + VAE reconstructions",
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def fail(msg):
    print(f"trainability: {msg}", file=sys.stderr)
    sys.exit(2)


def write_json_atomic(path, obj):
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- data sets ----------------------------------------------------------------------------------------------------
# A set is a list of records {"key": unique str, "path": image file, "boxes": [(x0, y0, x1, y1, category_name)],
# "width", "height", "id"}; category names are mapped to the real set's category ids.

def load_coco_set(instances, images_dir, tag, keep=None):
    with open(instances, encoding="utf-8") as f:
        data = json.load(f)
    names = {c["id"]: c["name"] for c in data["categories"]}
    boxes = {}
    for a in data["annotations"]:
        if a.get("iscrowd", 0):
            continue
        x, y, w, h = a["bbox"]
        if w > 0 and h > 0:
            boxes.setdefault(a["image_id"], []).append((x, y, x + w, y + h, names[a["category_id"]]))
    records = []
    for im in data["images"]:
        if keep is not None and not keep(im):
            continue
        records.append({"key": f"{tag}:{im['id']}", "id": im["id"], "path": os.path.join(images_dir, im["file_name"]),
                        "boxes": boxes.get(im["id"], []), "width": im["width"], "height": im["height"], "image": im})
    categories = sorted(data["categories"], key=lambda c: c["id"])
    return records, categories, data


def ensure_demo(work, seed, train, val):
    """A demo dataset (make_demo_dataset.py) with at least `train` train and exactly `val` val images, cached under
    WORK/data. Image i of a split does not depend on the split size, so a cached larger train split is reused."""
    root = os.path.join(work, "data")
    os.makedirs(root, exist_ok=True)
    best = None
    for name in sorted(os.listdir(root)):
        parts = name.split("-")
        if len(parts) == 4 and parts[0] == "demo" and parts[1] == f"seed{seed}" and parts[3] == f"val{val}" \
                and os.path.exists(os.path.join(root, name, "DONE")):
            n = int(parts[2][5:])
            if n >= train and (best is None or n < best[0]):
                best = (n, name)
    if best is None:
        name = f"demo-seed{seed}-train{train}-val{val}"
        out = os.path.join(root, name)
        log(f"generating demo data seed {seed}, {train} train + {val} val images -> {out}")
        subprocess.run([sys.executable, os.path.join(HERE, "make_demo_dataset.py"), "--out", out, "--seed", str(seed),
                        "--train", str(train), "--val", str(val), "--quiet"], check=True)
        open(os.path.join(out, "DONE"), "w").close()
        best = (train, name)
    return os.path.join(root, best[1], "coco")


def load_de(de_dir):
    ann = os.path.join(de_dir, "annotations")
    if not os.path.isdir(ann):
        fail(f"{de_dir} is not a COCO-DE output folder (no annotations/); pass RUNDIR/output/<write stage id>")
    files = [f for f in sorted(os.listdir(ann)) if f.startswith("instances_") and f.endswith(".json")]
    if len(files) != 1:
        fail(f"expected one annotations/instances_*.json in {de_dir}, found {files}")
    records, categories, data = load_coco_set(os.path.join(ann, files[0]), os.path.join(de_dir, "images"), "de")
    bad = []
    for r in records:
        im = r["image"]
        ref, var = im.get("reference_image_id"), im.get("variant")
        ok = (im["id"] >= GENERATED_ID_BASE and ref is not None and var is not None
              and im["id"] == GENERATED_ID_BASE + ref * 1000 + var and not im["file_name"].startswith("references/"))
        if not ok:
            bad.append(im)
    if bad:
        fail(f"{len(bad)} of {len(records)} images of {files[0]} are not generated images (e.g. id {bad[0]['id']}, "
             f"file {bad[0]['file_name']}): a DE set written with `include_references: true` also holds the real "
             f"references. The benchmark adds the real set itself; write the DE output without the references.")
    if not records:
        fail(f"{files[0]} has no images")
    return records, categories, os.path.join(ann, files[0])


def generated_count(de_dir):
    """References x variants of the run that wrote de_dir (RUNDIR/output/<id>), from plan.json and report.json."""
    run = os.path.dirname(os.path.dirname(os.path.abspath(de_dir)))
    plan_p, report_p = os.path.join(run, "plan.json"), os.path.join(run, "report.json")
    if not (os.path.exists(plan_p) and os.path.exists(report_p)):
        fail(f"no plan.json/report.json in {run} (the DE folder's run directory): pass --generated N")
    plan, report = json.load(open(plan_p)), json.load(open(report_p))
    kinds = [s["kind"] for s in plan["stages"]]
    if "quota" in kinds:
        fail("the run has a quota stage (extra variants): pass --generated N")
    gens = [s for s in plan["stages"] if s["kind"] == "generate"]
    if len(gens) != 1:
        fail(f"expected one generate stage in {plan_p}, found {len(gens)}: pass --generated N")
    variants = gens[0]["config"]["variants"]
    rows = [r for r in report["stages"] if r["id"] == gens[0]["id"]]
    if len(rows) != 1:
        fail(f"no row for stage {gens[0]['id']} in {report_p}: pass --generated N")
    row = rows[0]
    items_in = row.get("itemsIn", row.get("items_in"))
    items_out = row.get("itemsOut", row.get("items_out"))
    n = items_in * variants
    return n, f"{items_in} references x {variants} variants (generate stage out: {items_out})"


# ---- VAE reconstructions (config e) -------------------------------------------------------------------------------

def make_reconstructions(work, de_records, real_by_id, source_by_id, vae_dir, size):
    import torch
    from PIL import Image
    pairs = sorted({(r["image"]["reference_image_id"], r["image"]["variant"]) for r in de_records})
    refs = {}
    for ref, _ in pairs:
        rec = real_by_id.get(ref) or source_by_id.get(ref)
        if rec is None:
            fail(f"config e: reference image {ref} of the DE set is neither in the real training set nor in the run's "
                 f"source; pass the real set the DE run was made from")
        refs[ref] = rec
    h = hashlib.sha256()
    h.update(json.dumps([RECIPE_VERSION, pairs, size, os.path.abspath(vae_dir)]).encode())
    for ref in sorted(refs):
        h.update(file_digest(refs[ref]["path"]).encode())
    key = h.hexdigest()[:12]
    out = os.path.join(work, "recon", key)
    inst = os.path.join(out, "instances.json")
    if not os.path.exists(inst):
        from diffusers import AutoencoderKL
        from diffusers.utils import logging as diffusers_logging
        diffusers_logging.set_verbosity_error()   # not the notice that accelerate is missing
        log(f"config e: {len(pairs)} VAE reconstructions of {len(refs)} references ({vae_dir}) -> {out}")
        vae = AutoencoderKL.from_pretrained(vae_dir, torch_dtype=torch.float32).eval()
        os.makedirs(os.path.join(out, "images"), exist_ok=True)
        images, anns = [], []
        for ref, var in pairs:
            rec = refs[ref]
            img = Image.open(rec["path"]).convert("RGB")
            w8, h8 = img.width // 8 * 8, img.height // 8 * 8   # the VAE works on multiples of 8 (crop, no resize)
            img = img.crop((0, 0, w8, h8))
            x = torch.from_numpy(np.asarray(img, np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
            g = torch.Generator().manual_seed(ref * 1000 + var)
            with torch.no_grad():
                z = vae.encode(x).latent_dist.sample(generator=g)
                y = vae.decode(z).sample
            arr = ((y[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
            fname = f"{ref:012d}_r{var:03d}.jpg"
            Image.fromarray(arr).save(os.path.join(out, "images", fname), quality=95)
            iid = len(images) + 1
            images.append({"id": iid, "file_name": fname, "width": w8, "height": h8, "reference_image_id": ref,
                           "variant": var})
            for x0, y0, x1, y1, name in rec["boxes"]:
                x0, y0, x1, y1 = min(x0, w8), min(y0, h8), min(x1, w8), min(y1, h8)
                if x1 > x0 and y1 > y0:
                    anns.append({"id": len(anns) + 1, "image_id": iid, "category_name": name,
                                 "bbox": [x0, y0, x1 - x0, y1 - y0]})
        write_json_atomic(inst + ".tmp", {"images": images, "annotations": anns})
        os.replace(inst + ".tmp", inst)
    data = json.load(open(inst))
    boxes = {}
    for a in data["annotations"]:
        x, y, w, h = a["bbox"]
        boxes.setdefault(a["image_id"], []).append((x, y, x + w, y + h, a["category_name"]))
    return [{"key": f"recon:{im['reference_image_id']}:{im['variant']}", "id": im["id"],
             "path": os.path.join(out, "images", im["file_name"]), "boxes": boxes.get(im["id"], []),
             "width": im["width"], "height": im["height"]} for im in data["images"]], key


def file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---- training and evaluation --------------------------------------------------------------------------------------

RECIPE = {
    "detector": "CenterNetSmall",
    "lr": 2e-3,
    "weight_decay": 1e-4,
    "warmup": 100,
    "batch": 32,
    "flip": 0.5,
    "top_k": 100,
}


def load_pixels(records, size):
    from PIL import Image
    arr = np.zeros((len(records), size, size, 3), np.uint8)
    for i, r in enumerate(records):
        img = Image.open(r["path"]).convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.BILINEAR)
        arr[i] = np.asarray(img)
    return arr


def scaled_boxes(records, size, cat_index):
    out = []
    for r in records:
        sx, sy = size / r["width"], size / r["height"]
        b = np.array([(x0 * sx, y0 * sy, x1 * sx, y1 * sy) for x0, y0, x1, y1, _ in r["boxes"]], np.float32).reshape(-1, 4)
        c = np.array([cat_index[n] for *_, n in r["boxes"]], np.int64)
        out.append((b, c))
    return out


def train_and_eval(records, eval_records, eval_gt, categories, seed, iterations, size, threads, label):
    model, train_s, run_loss = train_detector(records, categories, seed, iterations, size, threads, label)
    t1 = time.time()
    stats = evaluate(model, eval_records, eval_gt, categories, size)
    return {"stats": stats, "AP": stats[0], "AP50": stats[1], "train_seconds": round(train_s, 1),
            "eval_seconds": round(time.time() - t1, 1), "final_loss": run_loss}


def train_detector(records, categories, seed, iterations, size, threads, label):
    """The recipe's detector trained on `records`: (model, training seconds, smoothed final loss)."""
    import torch
    from trainability_detector import CenterNetSmall, losses, make_targets
    torch.set_num_threads(threads)
    K = len(categories)
    cat_index = {c["name"]: i for i, c in enumerate(categories)}
    pixels = load_pixels(records, size)
    boxes = scaled_boxes(records, size, cat_index)
    torch.manual_seed(seed)
    model = CenterNetSmall(K).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=RECIPE["lr"], weight_decay=RECIPE["weight_decay"])
    warm = RECIPE["warmup"]
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: (i + 1) / warm if i < warm else 0.5 * (1 + math.cos(math.pi * (i - warm) / max(1, iterations - warm))))
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 7])))
    order, pos = rng.permutation(len(records)), 0
    B = RECIPE["batch"]
    model.train()
    t0 = time.time()
    run_loss = None
    for it in range(iterations):
        idx = []
        while len(idx) < B:
            if pos == len(order):
                order, pos = rng.permutation(len(records)), 0
            take = order[pos:pos + B - len(idx)]
            idx.extend(take.tolist())
            pos += len(take)
        flips = rng.random(B) < RECIPE["flip"]
        imgs = pixels[idx].copy()
        hms, regs, masks = [], [], []
        for j, i in enumerate(idx):
            b, c = boxes[i]
            if flips[j]:
                imgs[j] = imgs[j, :, ::-1]
                b = b.copy()
                b[:, [0, 2]] = size - b[:, [2, 0]]
            hm, reg, mask = make_targets(b, c, size, K)
            hms.append(hm), regs.append(reg), masks.append(mask)
        x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float().div_(255).sub_(0.5).div_(0.25)
        x = x.contiguous(memory_format=torch.channels_last)
        hm_logits, reg_pred = model(x)
        loss, l_hm, l_reg = losses(hm_logits, reg_pred, torch.from_numpy(np.stack(hms)), torch.from_numpy(np.stack(regs)),
                                   torch.from_numpy(np.stack(masks)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        if (it + 1) % 100 == 0 or it + 1 == iterations:
            el = time.time() - t0
            log(f"  {label}: iteration {it + 1}/{iterations}, loss {run_loss:.3f} (heatmap {l_hm.item():.3f}, "
                f"regression {l_reg.item():.3f}), {el:.0f} s, ETA {el / (it + 1) * (iterations - it - 1):.0f} s")
    return model, time.time() - t0, run_loss


def detect(model, records, categories, size):
    """COCO results of the detector on `records` (top RECIPE["top_k"] per image, boxes in each image's pixels)."""
    import torch
    from trainability_detector import decode
    model.eval()
    results = []
    for s in range(0, len(records), 50):
        chunk = records[s:s + 50]
        pixels = load_pixels(chunk, size)
        x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(255).sub_(0.5).div_(0.25)
        with torch.no_grad():
            hm, reg = model(x.contiguous(memory_format=torch.channels_last))
        for r, (b, sc, lab) in zip(chunk, decode(hm, reg, RECIPE["top_k"])):
            sx, sy = r["width"] / size, r["height"] / size
            b = b.numpy().astype(np.float64)
            b[:, [0, 2]] = np.clip(b[:, [0, 2]] * sx, 0, r["width"])
            b[:, [1, 3]] = np.clip(b[:, [1, 3]] * sy, 0, r["height"])
            for (x0, y0, x1, y1), score, l in zip(b, sc.tolist(), lab.tolist()):
                if x1 > x0 and y1 > y0:
                    results.append({"image_id": r["id"], "category_id": categories[l]["id"],
                                    "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
                                    "score": round(score, 5)})
    return results


def evaluate(model, records, gt, categories, size):
    import io
    import contextlib
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    results = detect(model, records, categories, size)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if not results:
            return [0.0] * 12
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.params.imgIds = [r["id"] for r in records]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


# ---- main ---------------------------------------------------------------------------------------------------------

def set_key(records):
    """The identity of a training or evaluation set: image keys, file contents and boxes (not paths, so a moved
    WORK folder keeps its cache)."""
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps([r["key"], file_digest(r["path"]), r["boxes"], r["width"], r["height"]]).encode())
    return h.hexdigest()[:16]


def fmt(values, digits=3):
    if not values:
        return "—"
    m = float(np.mean(values))
    if len(values) == 1:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {float(np.std(values, ddof=1)):.{digits}f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--de", help="a COCO-DE output folder (RUNDIR/output/<write stage id>); needed for b, c, e")
    ap.add_argument("--out", required=True, help="work folder (cache, results, table.md)")
    ap.add_argument("--configs", default="a,b,c,d,e", help="comma-separated subset of a,b,c,d,e")
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 .. N-1 (default 3)")
    ap.add_argument("--iterations", type=int, default=800, help="training iterations of every config (recipe: 800)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--size", type=int, default=128, help="network input size; images are resized to it (recipe: 128)")
    ap.add_argument("--real-train", type=int, default=500,
                    help="demo: the real training set is the first N train images of --real-seed (default 500)")
    ap.add_argument("--real-seed", type=int, default=0, help="demo seed of the real training set (data/demo: 0)")
    ap.add_argument("--eval-seed", type=int, default=1, help="demo seed of the held-out evaluation set (default 1)")
    ap.add_argument("--eval-size", type=int, default=400, help="demo evaluation images (default 400)")
    ap.add_argument("--generated", type=int, help="images the DE run generated (references x variants) for d; "
                                                   "default: from the run's plan.json and report.json")
    ap.add_argument("--real-instances", help="your own real training set (COCO instances JSON); skips d")
    ap.add_argument("--real-images", help="its image folder")
    ap.add_argument("--eval-instances", help="your own held-out evaluation set (COCO instances JSON)")
    ap.add_argument("--eval-images", help="its image folder")
    ap.add_argument("--vae", default=os.path.join(os.path.dirname(HERE), "models", "demo", "vae"),
                    help="diffusers AutoencoderKL folder for e (default models/demo/vae)")
    args = ap.parse_args(argv)

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if not configs or any(c not in CONFIG_NAMES for c in configs):
        ap.error("--configs is a comma-separated subset of a,b,c,d,e")
    if bool(args.real_instances) != bool(args.real_images) or bool(args.eval_instances) != bool(args.eval_images):
        ap.error("--real-instances needs --real-images, --eval-instances needs --eval-images")
    user = bool(args.real_instances)
    if user != bool(args.eval_instances):
        ap.error("with your own data pass both the real training set and the evaluation set")
    if any(c in configs for c in "bce") and not args.de:
        ap.error("configs b, c and e need --de")
    if user and "d" in configs:
        log("config d (more real images) needs the demo generator: skipped for your own data")
        configs.remove("d")
    work = os.path.abspath(args.out)
    os.makedirs(os.path.join(work, "results"), exist_ok=True)

    # -- the DE set
    de_records, de_categories = [], None
    if args.de:
        de_records, de_categories, de_file = load_de(args.de)
        log(f"DE set: {len(de_records)} generated images, {sum(len(r['boxes']) for r in de_records)} boxes ({de_file})")

    # -- the real training set (and the extra real images for d), the evaluation set
    generated = None
    if "d" in configs:
        if args.generated is not None:
            generated, why = args.generated, "--generated"
        elif args.de:
            generated, why = generated_count(args.de)
        else:
            ap.error("config d needs --de or --generated")
        log(f"config d adds {generated} real images ({why})")
    if user:
        real, categories, _ = load_coco_set(args.real_instances, args.real_images, "real")
        eval_records, eval_categories, eval_gt = load_coco_set(args.eval_instances, args.eval_images, "eval")
        extra = []
        shared = {os.path.realpath(r["path"]) for r in real} & {os.path.realpath(r["path"]) for r in eval_records}
        if shared:
            fail(f"{len(shared)} image files are in both the training and the evaluation set, e.g. {sorted(shared)[0]}")
    else:
        pool_n = args.real_train + (generated or 0)
        coco = ensure_demo(work, args.real_seed, pool_n, 0)
        pool, categories, _ = load_coco_set(os.path.join(coco, "annotations", "instances_train.json"),
                                            os.path.join(coco, "train"), "real", keep=lambda im: im["id"] <= pool_n)
        real, extra = pool[:args.real_train], pool[args.real_train:]
        ecoco = ensure_demo(work, args.eval_seed, 0, args.eval_size)
        eval_records, eval_categories, eval_gt = load_coco_set(os.path.join(ecoco, "annotations", "instances_val.json"),
                                                               os.path.join(ecoco, "val"), "eval")
    names = [c["name"] for c in categories]
    if [c["name"] for c in eval_categories] != names:
        fail(f"the evaluation set's categories {[c['name'] for c in eval_categories]} differ from the real set's {names}")
    if de_categories is not None:
        unknown = {n for r in de_records for *_, n in r["boxes"]} - set(names)
        if unknown:
            fail(f"the DE set has categories that the real set lacks: {sorted(unknown)}")
    eval_gt = {"images": eval_gt["images"], "annotations": eval_gt["annotations"], "categories": eval_gt["categories"]}
    for a in eval_gt["annotations"]:
        a.setdefault("iscrowd", 0)
        a.setdefault("area", a["bbox"][2] * a["bbox"][3])
    log(f"real training set: {len(real)} images; evaluation set: {len(eval_records)} images")

    # -- the references of the DE set: in the real set? (demo: the first 160 images of seed 0)
    real_by_id = {r["id"]: r for r in real}
    if de_records:
        refs = {r["image"]["reference_image_id"] for r in de_records}
        missing = refs - set(real_by_id)
        if missing:
            log(f"warning: {len(missing)} of the DE set's {len(refs)} references are not in the real training set "
                f"(e.g. image id {min(missing)}); config b then adds generated images of images that a lacks")
        else:
            log(f"the DE set's {len(refs)} references are all in the real training set")

    sets = {"a": real}
    if "b" in configs:
        sets["b"] = real + de_records
    if "c" in configs:
        sets["c"] = de_records
    if "d" in configs:
        if len(extra) != generated:
            fail(f"internal: {len(extra)} extra images instead of {generated}")
        sets["d"] = real + extra
    if "e" in configs:
        source_by_id = {}
        run = os.path.dirname(os.path.dirname(os.path.abspath(args.de)))
        plan_p = os.path.join(run, "plan.json")
        if os.path.exists(plan_p):
            src = json.load(open(plan_p)).get("source", {})
            if src.get("format") == "coco" and os.path.exists(src.get("instances", "")):
                recs, _, _ = load_coco_set(src["instances"], src["images"], "source")
                source_by_id = {r["id"]: r for r in recs}
                # the demo's references must be the same images as the real set's (same generator, same seed)
                same = [file_digest(real_by_id[i]["path"]) == file_digest(source_by_id[i]["path"])
                        for i in sorted(set(real_by_id) & set(source_by_id))[:20]]
                if same and not all(same):
                    log("warning: the run's source images differ from the real training set's images of the same id")
        recon, recon_key = make_reconstructions(work, de_records, real_by_id, source_by_id, args.vae, args.size)
        sets["e"] = real + recon

    eval_key = set_key(eval_records)
    todo = [(c, s) for s in range(args.seeds) for c in configs]   # seed-major: a partial run has whole seeds
    results = {}
    times = []
    for n, (c, s) in enumerate(todo):
        key = hashlib.sha256(json.dumps([RECIPE_VERSION, RECIPE, args.iterations, args.size, set_key(sets[c]),
                                         eval_key]).encode()).hexdigest()[:12]
        path = os.path.join(work, "results", f"{c}-seed{s}-{key}.json")
        label = f"[{n + 1}/{len(todo)}] {c} ({CONFIG_NAMES[c]}) seed {s}"
        if os.path.exists(path):
            results[(c, s)] = json.load(open(path))
            log(f"{label}: cached, AP {results[(c, s)]['AP']:.3f} AP50 {results[(c, s)]['AP50']:.3f}")
            continue
        log(f"{label}: training on {len(sets[c])} images, {args.iterations} iterations")
        r = train_and_eval(sets[c], eval_records, eval_gt, categories, s, args.iterations, args.size, args.threads, label)
        r.update({"config": c, "seed": s, "images": len(sets[c]), "boxes": sum(len(x["boxes"]) for x in sets[c]),
                  "iterations": args.iterations, "recipe": RECIPE, "recipe_version": RECIPE_VERSION, "size": args.size,
                  "threads": args.threads, "de": os.path.abspath(args.de) if args.de else None})
        write_json_atomic(path, r)
        results[(c, s)] = r
        times.append(r["train_seconds"])
        log(f"{label}: AP {r['AP']:.3f} AP50 {r['AP50']:.3f} (training {r['train_seconds']:.0f} s, "
            f"evaluation {r['eval_seconds']:.0f} s) -> {path}")

    # -- the table
    lines = [f"Trainability ({args.seeds} seed(s), {args.iterations} iterations of batch {RECIPE['batch']}, "
             f"evaluated on {len(eval_records)} held-out real images; mean ± sample std over seeds)", "",
             "| config | training images | boxes | AP | AP50 | ΔAP50 vs a | AP50 per seed | train s/run |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    base50 = [results[("a", s)]["AP50"] for s in range(args.seeds) if ("a", s) in results]
    for c in configs:
        rs = [results[(c, s)] for s in range(args.seeds) if (c, s) in results]
        if not rs:
            continue
        ap_, ap50 = [r["AP"] for r in rs], [r["AP50"] for r in rs]
        delta = "—" if c == "a" or not base50 else f"{np.mean(ap50) - np.mean(base50):+.3f}"
        desc = {"a": f"{len(real)} real", "b": f"{len(real)} real + {len(de_records)} DE",
                "c": f"{len(de_records)} DE", "d": f"{len(real)} + {len(extra)} real",
                "e": f"{len(real)} real + {len(sets.get('e', [])) - len(real)} recon"}[c]
        lines.append(f"| {c}: {CONFIG_NAMES[c]} | {desc} | {rs[0]['boxes']} | {fmt(ap_)} | {fmt(ap50)} | {delta} | "
                     f"{' / '.join(f'{v:.3f}' for v in ap50)} | {np.mean([r['train_seconds'] for r in rs]):.0f} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(work, "table.md"), "w", encoding="utf-8") as f:
        f.write(table)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
