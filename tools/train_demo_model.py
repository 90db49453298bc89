#!/usr/bin/env python3
"""Train the embedded default's model: a tiny Stable-Diffusion-architecture model on the demo dataset (models/demo/).

A new user has no Stable Diffusion weights and nothing is downloaded at run time, so the project ships its own small
model of exactly the SD architecture, in the diffusers folder layout:

  tokenizer/     CLIP BPE (vocab.json + merges.txt), merges learned on the training captions (CLIP's construction:
                 256 byte symbols, the same with </w>, one token per merge, <|startoftext|>, <|endoftext|>)
  text_encoder/  CLIPTextModel (hidden 128, 3 layers, 77 positions, gelu)
  vae/           AutoencoderKL, 3 levels (4x downsampling: 128 px -> 32x32 latents), 4 latent channels,
                 scaling_factor = 1 / std of the latents
  unet/          UNet2DConditionModel with SD's block classes (DownBlock2D + CrossAttnDownBlock2D x2 + DownBlock2D,
                 UNetMidBlock2DCrossAttn, UpBlock2D + CrossAttnUpBlock2D x2 + UpBlock2D), linear projections as SD2
  scheduler/     SD2-base's scheduler config (scaled_linear betas 0.00085-0.012, 1000 steps, steps_offset 1)

Teacher independence (issue 16): the model learns from the first --train-images (500) images of demo seed 0 only,
the trainability benchmark's real set a (docs/trainability.md), which holds the shipped 160 (its first 160). The
UNet also sees each image's mirror image, with "left" and "right" swapped in its captions.
--unlabelled-images N adds the next N images of the same stream to what the VAE, UNet and text encoder learn from,
reading their pixels and captions and never their boxes (Stable Diffusion, too, learns from captioned images without
boxes); the adapter still learns from a alone.

Stages (each resumable from its own checkpoint under --work; rerun the same command after a stop):
  data      regenerate the training set with tools/make_demo_dataset.py (same seed: the shipped 160 train images are
            its first 160)
  tokenizer learn the BPE merges on the training captions
  vae       train the VAE (L1 + MSE + 1e-6 KL), then measure val PSNR and the latent std
  latents   encode every training image once (posterior mean and std)
  unet      train UNet + text encoder with the epsilon loss, 10 % empty prompts (for guidance), EMA of the weights
  export    write models/demo/ (fp16 safetensors), check diffusers loads it with no warnings
  untrained (only with --stage untrained) the shape with its initial weights, exported to --out: time a demo run
            of a new shape before training it
  sheet     the contact sheet docs/demo-model-contact-sheet.png (reference | strength 0.3 | 0.6 | 1.0, prompts),
            made by diffusers' StableDiffusionImg2ImgPipeline from the shipped folder at 128x128, DPM-Solver++ 30 steps,
            guidance 7.5

Usage:
  /root/venv-ref/bin/python tools/train_demo_model.py                      # everything, resumable
  /root/venv-ref/bin/python tools/train_demo_model.py --stage sheet        # one stage
  options: --work /work/demo-train --out models/demo --vae-iters N --unet-iters N --threads 2
The log (losses, PSNR, timings) goes to WORK/train.log and is copied to OUT/training_log.txt at export.
"""
import argparse
import copy
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))

# A VAE factor of 4 (three levels): the demo's objects of 10-30 px span 3-8 latent cells instead of 1-4, and the latent
# keeps their edges (the factor-8 VAE of the first demo model reached 26.6 dB and blurred small shapes).
VAE_CONFIG = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 3,
                  up_block_types=["UpDecoderBlock2D"] * 3, block_out_channels=[32, 64, 64], layers_per_block=1,
                  act_fn="silu", latent_channels=4, norm_num_groups=8, sample_size=128)
TEXT_CONFIG = dict(hidden_size=128, intermediate_size=512, num_hidden_layers=3, num_attention_heads=4,
                   max_position_embeddings=77, hidden_act="gelu", projection_dim=128, layer_norm_eps=1e-5)
# On the 32x32 latent, self-attention over 1,024 positions at the first level cost 40 % of a training step: that
# level is a DownBlock2D / UpBlock2D (resnets only), and text enters at 16x16, 8x8 and the mid block.
UNET_CONFIG = dict(sample_size=32, in_channels=4, out_channels=4,
                   down_block_types=["DownBlock2D"] + ["CrossAttnDownBlock2D"] * 2 + ["DownBlock2D"],
                   up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 2 + ["UpBlock2D"],
                   block_out_channels=[32, 64, 96, 96], layers_per_block=1, norm_num_groups=16,
                   attention_head_dim=[1, 2, 3, 3], use_linear_projection=True, cross_attention_dim=128,
                   flip_sin_to_cos=True, freq_shift=0, act_fn="silu")
SCHEDULER_CONFIG = {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                    "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
                    "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                    "trained_betas": None}


def log(args, msg):
    line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
    print(line, flush=True)
    with open(os.path.join(args.work, "train.log"), "a", encoding="utf-8") as f:
        f.write(line + "\n")


def save_checkpoint(path, state):
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def done_marker(args, stage):
    return os.path.join(args.work, f"{stage}.done")


# ---- data ---------------------------------------------------------------------------------------------------------

def data_dir(args):
    return os.path.join(args.work, "data", "coco")


def unlabelled_dir(args):
    return os.path.join(args.work, "data-unlabelled", "coco")


def stage_data(args):
    if args.unlabelled_images > 0 and not os.path.exists(os.path.join(unlabelled_dir(args), "annotations", "captions_train.json")):
        # Images after the labelled ones in the same stream (seed 0, never the benchmark's seed-1 held-out set): the UNet
        # reads only their captions and pixels, as Stable Diffusion learns from captioned images without boxes.
        total = args.train_images + args.unlabelled_images
        log(args, f"generating {args.unlabelled_images} unlabelled images (demo seed 0, images {args.train_images + 1}-{total})")
        subprocess.run([sys.executable, os.path.join(HERE, "make_demo_dataset.py"), "--out", os.path.join(args.work, "data-unlabelled"),
                        "--seed", "0", "--train", str(total), "--val", "0", "--workers", str(args.threads), "--quiet"], check=True)
    if os.path.exists(os.path.join(data_dir(args), "annotations", "captions_val.json")):
        return
    log(args, f"regenerating the demo dataset: {args.train_images} train, {args.val_images} val")
    subprocess.run([sys.executable, os.path.join(HERE, "make_demo_dataset.py"), "--out", os.path.join(args.work, "data"),
                    "--seed", "0", "--train", str(args.train_images), "--val", str(args.val_images), "--workers",
                    str(args.threads), "--quiet"], check=True)


def load_unlabelled(args):
    """The captioned images after the labelled ones (--unlabelled-images), or none; their boxes are never read."""
    if args.unlabelled_images <= 0:
        return []
    images = captioned_images(unlabelled_dir(args), "train")[args.train_images:]
    if len(images) != args.unlabelled_images:
        sys.exit(f"{unlabelled_dir(args)} holds {len(images)} images after the first {args.train_images}, not "
                 f"--unlabelled-images {args.unlabelled_images}: delete {os.path.dirname(unlabelled_dir(args))} and rerun")
    return images


def load_split(args, split):
    return captioned_images(data_dir(args), split)


def captioned_images(root, split):
    """(image path, its captions) of a demo COCO folder's split, by image id."""
    with open(os.path.join(root, "annotations", f"captions_{split}.json"), encoding="utf-8") as f:
        caps = json.load(f)
    by_image = {}
    for a in caps["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["caption"])
    images = sorted(caps["images"], key=lambda im: im["id"])
    return [(os.path.join(root, split, im["file_name"]), by_image.get(im["id"], [])) for im in images]


def load_pixels(paths):
    arr = np.stack([np.asarray(Image.open(p).convert("RGB"), dtype=np.uint8) for p in paths])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()  # uint8 (N, 3, 128, 128)


def to_unit(x):
    return x.float() / 127.5 - 1


# ---- tokenizer (CLIP BPE learned on the captions) -----------------------------------------------------------------

sys.path.insert(0, HERE)
from make_clip_vocab import bytes_to_unicode  # noqa: E402

WORD = re.compile(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-zA-Z]+|[0-9]|[^\sa-zA-Z0-9]+", re.I)


def stage_tokenizer(args):
    folder = os.path.join(args.work, "tokenizer")
    if os.path.exists(done_marker(args, "tokenizer")):
        return
    captions = [c for _, cs in load_split(args, "train") for c in cs]
    byte_encoder = bytes_to_unicode()
    counts = {}
    for cap in captions:
        for w in WORD.findall(" ".join(cap.lower().split())):
            sym = tuple(byte_encoder[b] for b in w.encode("utf-8"))
            sym = sym[:-1] + (sym[-1] + "</w>",)
            counts[sym] = counts.get(sym, 0) + 1
    merges = []
    words = dict(counts)
    while len(merges) < args.max_merges:
        pairs = {}
        for sym, n in words.items():
            for a, b in zip(sym, sym[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + n
        if not pairs:
            break
        (a, b), n = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        if n < 2:
            break
        merges.append((a, b))
        new = {}
        for sym, c in words.items():
            out, i = [], 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == a and sym[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(sym[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    base = list(byte_encoder.values())
    vocab_list = base + [v + "</w>" for v in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {}
    for tok in vocab_list:
        if tok not in vocab:
            vocab[tok] = len(vocab)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
               "pad_token": "<|endoftext|>"}
    with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump(special, f, indent=2)
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
                   "clean_up_tokenization_spaces": True, "errors": "replace", "add_prefix_space": False, **special},
                  f, indent=2)
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer.from_pretrained(folder)
    lengths = [len(tok(c).input_ids) for c in captions[:2000]]
    unk = sum(i == tok.unk_token_id for c in captions[:2000] for i in tok(c).input_ids[1:-1])
    log(args, f"tokenizer: {len(merges)} merges, {len(vocab)} tokens; captions take {np.mean(lengths):.1f} tokens on "
              f"average (max {max(lengths)}), {unk} unknown")
    open(done_marker(args, "tokenizer"), "w").close()


# ---- VAE ----------------------------------------------------------------------------------------------------------

def psnr(a, b):
    mse = ((a.float() - b.float()) ** 2).mean(dim=(1, 2, 3))
    return (10 * torch.log10(255.0 ** 2 / mse.clamp(min=1e-10))).mean().item()


def vae_val_psnr(args, vae):
    """PSNR as shipped: fp16 weights back to fp32, posterior mean, 8-bit output, over the val split."""
    vp = load_pixels([p for p, _ in load_split(args, "val")])
    with torch.no_grad():
        shipped = copy.deepcopy(vae).half().float()
        rec = torch.cat([((shipped.decode(shipped.encode(to_unit(vp[i:i + 50])).latent_dist.mean).sample.clamp(-1, 1) + 1)
                          * 127.5).round() for i in range(0, vp.shape[0], 50)])
    return psnr(rec, vp)


def stage_vae(args):
    from diffusers import AutoencoderKL
    ckpt = os.path.join(args.work, "vae.pt")
    if os.path.exists(done_marker(args, "vae")):
        return
    train = load_split(args, "train") + load_unlabelled(args)
    pixels = load_pixels([p for p, _ in train])
    torch.manual_seed(1)
    vae = AutoencoderKL(**VAE_CONFIG)
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    step, rng = 0, torch.Generator().manual_seed(2)
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        vae.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.set_state(state["rng"])
        log(args, f"vae: resumed at {step}")
    else:
        log(args, f"vae: {sum(p.numel() for p in vae.parameters()) / 1e6:.2f} M parameters, {args.vae_iters} iterations "
                  f"of batch {args.vae_batch}")
    start, t0 = step, time.time()
    vae.train()
    while step < args.vae_iters:
        lr = args.vae_lr * (0.5 * (1 + math.cos(math.pi * step / args.vae_iters)) * 0.9 + 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, pixels.shape[0], (args.vae_batch,), generator=rng)
        x = to_unit(pixels[idx])
        if args.vae_crop < x.shape[-1]:
            # convolutions are translation-equivariant: random crops train the same filters for less compute
            oy, ox = (int(v) for v in torch.randint(0, (x.shape[-1] - args.vae_crop) // 8 + 1, (2,), generator=rng) * 8)
            x = x[:, :, oy:oy + args.vae_crop, ox:ox + args.vae_crop]
        flip = torch.rand(x.shape[0], generator=rng) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=rng)
        rec = vae.decode(z).sample
        loss = (rec - x).abs().mean() + ((rec - x) ** 2).mean() + 1e-6 * post.kl().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0 or step == args.vae_iters:
            rate = (time.time() - t0) / (step - start)
            log(args, f"vae {step}/{args.vae_iters} loss {loss.item():.4f} lr {lr:.1e} {rate:.2f} s/it "
                      f"ETA {rate * (args.vae_iters - step) / 60:.0f} min")
        if step % 1000 == 0 and step < args.vae_iters:
            vae.eval()
            log(args, f"vae {step}: val PSNR {vae_val_psnr(args, vae):.2f} dB")
            vae.train()
        if step % 250 == 0 or step == args.vae_iters:
            save_checkpoint(ckpt, {"model": vae.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.get_state()})
    vae.eval()
    val = load_split(args, "val")
    value = vae_val_psnr(args, vae)
    with torch.no_grad():
        latents = torch.cat([vae.encode(to_unit(pixels[i:i + 64])).latent_dist.mean for i in range(0, min(2048, pixels.shape[0]), 64)])
        std = latents.std().item()
    log(args, f"vae: val PSNR {value:.2f} dB over {len(val)} images (fp16 weights, posterior mean); latent std {std:.4f} "
              f"-> scaling_factor {1 / std:.5f}")
    with open(os.path.join(args.work, "vae_stats.json"), "w") as f:
        json.dump({"psnr_db": value, "latent_std": std, "scaling_factor": 1 / std}, f)
    vae.register_to_config(scaling_factor=round(1 / std, 5))
    vae.save_pretrained(os.path.join(args.work, "vae"), safe_serialization=True)
    open(done_marker(args, "vae"), "w").close()


def stage_latents(args):
    from diffusers import AutoencoderKL
    path = os.path.join(args.work, "latents.pt")
    if os.path.exists(path):
        return
    vae = AutoencoderKL.from_pretrained(os.path.join(args.work, "vae")).eval()
    train = load_split(args, "train") + load_unlabelled(args)
    pixels = load_pixels([p for p, _ in train])
    # Each image and its mirror image (captions with left and right swapped): twice the layouts from the same labels.
    pixels = torch.cat([pixels, pixels.flip(3)])
    captions = [c for _, c in train] + [[mirror_caption(x) for x in c] for _, c in train]
    means, stds = [], []
    with torch.no_grad():
        for i in range(0, pixels.shape[0], 64):
            d = vae.encode(to_unit(pixels[i:i + 64])).latent_dist
            means.append(d.mean)
            stds.append(d.std)
    torch.save({"mean": torch.cat(means), "std": torch.cat(stds), "captions": captions}, path + ".tmp")
    os.replace(path + ".tmp", path)
    log(args, f"latents: {pixels.shape[0]} images encoded ({len(train)} and their mirror images; {args.unlabelled_images} of them unlabelled)")


def mirror_caption(text):
    swap = {"left": "right", "right": "left"}
    return re.sub(r"\b(left|right)\b", lambda m: swap[m.group(1)], text)


# ---- UNet + text encoder ------------------------------------------------------------------------------------------

def stage_unet(args):
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    if os.path.exists(done_marker(args, "unet")):
        return
    ckpt = os.path.join(args.work, "unet.pt")
    data = torch.load(os.path.join(args.work, "latents.pt"), weights_only=False)
    with open(os.path.join(args.work, "vae_stats.json")) as f:
        sf = round(json.load(f)["scaling_factor"], 5)
    tok = CLIPTokenizer.from_pretrained(os.path.join(args.work, "tokenizer"))
    captions = data["captions"]
    flat = [(i, c) for i, cs in enumerate(captions) for c in cs]
    ids_all = tok([c for _, c in flat], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    empty = tok([""], padding="max_length", max_length=77, return_tensors="pt").input_ids[0]
    image_of = torch.tensor([i for i, _ in flat])
    torch.manual_seed(3)
    text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id,
                                                eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, **TEXT_CONFIG))
    unet = UNet2DConditionModel(**UNET_CONFIG)
    noise_sched = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=args.unet_lr, weight_decay=1e-2)
    ema_u, ema_t = copy.deepcopy(unet).requires_grad_(False), copy.deepcopy(text_encoder).requires_grad_(False)
    step, rng = 0, torch.Generator().manual_seed(4)
    if os.path.exists(ckpt):
        state = torch.load(ckpt, weights_only=False)
        unet.load_state_dict(state["unet"])
        text_encoder.load_state_dict(state["text"])
        ema_u.load_state_dict(state["ema_unet"])
        ema_t.load_state_dict(state["ema_text"])
        opt.load_state_dict(state["opt"])
        step = state["step"]
        rng.set_state(state["rng"])
        log(args, f"unet: resumed at {step}")
    else:
        log(args, f"unet: {sum(p.numel() for p in unet.parameters()) / 1e6:.2f} M parameters, text encoder "
                  f"{sum(p.numel() for p in text_encoder.parameters()) / 1e6:.2f} M, {len(flat)} captions of "
                  f"{len(captions)} images, {args.unet_iters} iterations of batch {args.unet_batch}, scaling_factor {sf}")
    unet.train()
    text_encoder.train()
    start, t0 = step, time.time()
    warmup = 500
    while step < args.unet_iters:
        lr = args.unet_lr * min(1.0, (step + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * step / args.unet_iters)) * 0.9 + 0.1)
        for g in opt.param_groups:
            g["lr"] = lr
        pick = torch.randint(0, len(flat), (args.unet_batch,), generator=rng)
        img = image_of[pick]
        z0 = (data["mean"][img] + data["std"][img] * torch.randn(data["mean"][img].shape, generator=rng)) * sf
        ids = ids_all[pick].clone()
        drop = torch.rand(args.unet_batch, generator=rng) < 0.1
        ids[drop] = empty
        noise = torch.randn(z0.shape, generator=rng)
        t = torch.randint(0, 1000, (args.unet_batch,), generator=rng)
        zt = noise_sched.add_noise(z0, noise, t)
        pred = unet(zt, t, encoder_hidden_states=text_encoder(ids)[0]).sample
        loss = F.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for ema, model in ((ema_u, unet), (ema_t, text_encoder)):
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        if step % 100 == 0 or step == args.unet_iters:
            rate = (time.time() - t0) / (step - start)
            log(args, f"unet {step}/{args.unet_iters} loss {loss.item():.4f} lr {lr:.1e} {rate:.2f} s/it "
                      f"ETA {rate * (args.unet_iters - step) / 60:.0f} min")
        if step % 250 == 0 or step == args.unet_iters:
            save_checkpoint(ckpt, {"unet": unet.state_dict(), "text": text_encoder.state_dict(), "ema_unet": ema_u.state_dict(),
                                   "ema_text": ema_t.state_dict(), "opt": opt.state_dict(), "step": step,
                                   "rng": rng.get_state()})
    ema_u.save_pretrained(os.path.join(args.work, "unet"), safe_serialization=True)
    ema_t.save_pretrained(os.path.join(args.work, "text_encoder"), safe_serialization=True)
    open(done_marker(args, "unet"), "w").close()


# ---- export, contact sheet ----------------------------------------------------------------------------------------

def stage_export(args, src=None):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel
    src = src or args.work
    out = args.out
    tmp = out.rstrip("/") + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    # Weight files stay under 4 MB (the repository keeps files small): the UNet is written as two shards with a
    # safetensors index, the layout diffusers itself uses for large checkpoints.
    for name, cls in (("vae", AutoencoderKL), ("unet", UNet2DConditionModel)):
        cls.from_pretrained(os.path.join(src, name)).half().save_pretrained(os.path.join(tmp, name), safe_serialization=True,
                                                                                  max_shard_size="4MB")
    CLIPTextModel.from_pretrained(os.path.join(src, "text_encoder")).half().save_pretrained(
        os.path.join(tmp, "text_encoder"), safe_serialization=True)
    shutil.copytree(os.path.join(args.work, "tokenizer"), os.path.join(tmp, "tokenizer"))
    os.makedirs(os.path.join(tmp, "scheduler"))
    with open(os.path.join(tmp, "scheduler", "scheduler_config.json"), "w") as f:
        json.dump(SCHEDULER_CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(tmp, "model_index.json"), "w") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": __import__("diffusers").__version__,
                   "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
                   "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"]}, f, indent=2)
        f.write("\n")
    adapter = os.path.join(out, "adapter")
    if os.path.isdir(adapter):
        shutil.copytree(adapter, os.path.join(tmp, "adapter"))
    shutil.copy(os.path.join(args.work, "train.log"), os.path.join(tmp, "training_log.txt"))
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    log(args, f"export: {out} ({size / 1e6:.2f} MB)")
    check_loads(args)


def stage_untrained(args):
    """The model's shape with its initial (seeded, untrained) weights, exported to --out: to time a demo run of a new
    shape before spending hours training it (the issue's rule). Needs the tokenizer stage."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    src = os.path.join(args.work, "untrained")
    tok = CLIPTokenizer.from_pretrained(os.path.join(args.work, "tokenizer"))
    torch.manual_seed(1)
    AutoencoderKL(**VAE_CONFIG).save_pretrained(os.path.join(src, "vae"), safe_serialization=True)
    torch.manual_seed(3)
    CLIPTextModel(CLIPTextConfig(vocab_size=len(tok), bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                 pad_token_id=tok.pad_token_id, **TEXT_CONFIG)).save_pretrained(
        os.path.join(src, "text_encoder"), safe_serialization=True)
    UNet2DConditionModel(**UNET_CONFIG).save_pretrained(os.path.join(src, "unet"), safe_serialization=True)
    stage_export(args, src)


def check_loads(args):
    import logging
    import diffusers
    import transformers
    diffusers.utils.logging.set_verbosity_warning()
    transformers.utils.logging.set_verbosity_warning()
    records = []

    class Catch(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Catch(level=logging.WARNING)
    for name in ("diffusers", "transformers"):
        logging.getLogger(name).addHandler(handler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from diffusers import StableDiffusionImg2ImgPipeline
        StableDiffusionImg2ImgPipeline.from_pretrained(args.out)
    messages = records + [str(w.message) for w in caught]
    log(args, "diffusers loads the folder with no warnings" if not messages else
        f"diffusers warnings while loading: {messages}")


def stage_sheet(args):
    from diffusers import DPMSolverMultistepScheduler, StableDiffusionImg2ImgPipeline
    import diffusers
    diffusers.utils.logging.set_verbosity_error()
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(args.out, torch_dtype=torch.float32)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, algorithm_type="dpmsolver++",
                                                             solver_order=2, final_sigmas_type="zero",
                                                             timestep_spacing="linspace")
    pipe.set_progress_bar_config(disable=True)
    val = load_split(args, "val")[: args.sheet_rows]
    strengths = [0.3, 0.6, 1.0]
    cell, label_h, pad = 128, 30, 4
    width = pad + (1 + len(strengths)) * (cell + pad)
    sheet = Image.new("RGB", (width, 22 + len(val) * (cell + label_h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, title in enumerate(["reference"] + [f"strength {s}" for s in strengths]):
        draw.text((pad + j * (cell + pad) + 4, 6), title, fill="black")
    for i, (path, caps) in enumerate(val):
        prompt = caps[0]
        ref = Image.open(path).convert("RGB")
        y = 22 + i * (cell + label_h + pad)
        sheet.paste(ref, (pad, y))
        for j, s in enumerate(strengths):
            img = pipe(prompt=prompt, image=ref, strength=s, num_inference_steps=30, guidance_scale=7.5,
                       generator=torch.Generator().manual_seed(i)).images[0]
            sheet.paste(img, (pad + (j + 1) * (cell + pad), y))
        draw.text((pad, y + cell + 3), prompt[:95], fill="black")
        if len(prompt) > 95:
            draw.text((pad, y + cell + 15), prompt[95:190], fill="black")
    path = os.path.join(REPO, "docs", "demo-model-contact-sheet.png")
    sheet.save(path, optimize=True)
    log(args, f"contact sheet: {path} ({len(val)} val images; DPM-Solver++ 30 steps, guidance 7.5, seed = row)")


STAGES = ["data", "tokenizer", "vae", "latents", "unet", "export", "sheet"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/work/demo-train")
    ap.add_argument("--out", default=os.path.join(REPO, "models", "demo"))
    ap.add_argument("--stage", choices=STAGES + ["all", "untrained"], default="all")
    ap.add_argument("--train-images", type=int, default=500,
                    help="the first N images of demo seed 0: the trainability benchmark's real set a (docs/trainability.md), "
                         "so the generator learns from no labelled image outside it")
    ap.add_argument("--val-images", type=int, default=200)
    ap.add_argument("--unlabelled-images", type=int, default=0,
                    help="the VAE, UNet and text encoder also learn from this many captioned images after the labelled ones "
                         "(demo seed 0; their boxes are never read, so teacher independence holds)")
    ap.add_argument("--max-merges", type=int, default=600)
    ap.add_argument("--vae-iters", type=int, default=5500)
    ap.add_argument("--vae-batch", type=int, default=16)
    ap.add_argument("--vae-crop", type=int, default=64, help="train the VAE on random crops of this size")
    ap.add_argument("--vae-lr", type=float, default=1e-3)
    ap.add_argument("--unet-iters", type=int, default=5000)
    ap.add_argument("--unet-batch", type=int, default=32)
    ap.add_argument("--unet-lr", type=float, default=3e-4)
    ap.add_argument("--sheet-rows", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work, exist_ok=True)
    todo = STAGES if args.stage == "all" else [args.stage]
    if args.stage == "untrained":
        todo = ["data", "tokenizer", "untrained"]
    for stage in todo:
        globals()[f"stage_{stage}"](args)
    log(args, f"done: {', '.join(todo)}")


if __name__ == "__main__":
    main()
