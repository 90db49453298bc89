#!/usr/bin/env python3
"""Build the numerical-parity fixtures of Tests/DiffusionTests/Fixtures/parity: tiny random-weight Stable Diffusion
components in the diffusers folder layout, and the reference outputs of transformers / diffusers (PyTorch) for them:
tokenizer, text encoder, VAE, UNet (with the feature taps of tools/taps.py) and whole img2img runs.

Needs the reference environment of tools/requirements-reference.txt (torch, diffusers, transformers, safetensors,
numpy; CPU only) and NOT ftfy (transformers would then clean text with ftfy). The tokenizer merges come from the real
CLIP BPE file that ships in the PyPI package open-clip-torch (only unzipped, never installed):

  pip download --no-deps -d /tmp/oc open-clip-torch
  /root/venv-ref/bin/python tools/make_fixtures.py --wheel /tmp/oc/open_clip_torch-*.whl
  # or --bpe path/to/bpe_simple_vocab_16e6.txt.gz ; --only sd1-like to rebuild one config
  # --check: rebuild in a temporary folder and compare byte for byte with the committed fixtures (writes nothing)
  # --transformers4-python /path/to/python: also check which strings transformers 4.x's slow tokenizer splits
  #   differently (TRANSFORMERS4_DIFFERS; needs only `pip install "transformers<5"` there, no torch)

Output: parity/README.md (what a Swift implementation must match) and, per config (parity/<config>/, deleted and
rewritten on every run):
  model_index.json                 StableDiffusionPipeline, listing the components present (no safety_checker /
                                   feature_extractor)
  tokenizer/                       vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json (the format
                                   of the published SD 1.x / 2.x tokenizer folders), a SMALL real BPE vocabulary:
                                   256 byte tokens, their `</w>` forms, the first N merges of the real CLIP merges file,
                                   <|startoftext|>, <|endoftext|>. Ids below 512 + N equal the real CLIP ids.
  text_encoder/                    config.json + model.safetensors (CLIPTextModel.save_pretrained, keys then renamed to
                                   the published `text_model.…` names, which transformers 5 no longer writes)
  vae/                             config.json + diffusion_pytorch_model.safetensors (AutoencoderKL.save_pretrained)
  unet/                            config.json + diffusion_pytorch_model.safetensors (UNet2DConditionModel, 4 blocks
                                   so that taps of strides 1, 2, 4, 8 occur; SD 1.x / SD 2.x / unusual flavours)
  scheduler/scheduler_config.json  PNDM like SD 1.5 (sd1-like), DDIM epsilon (sd2-like), DDIM v_prediction (odd)
  expected/tokens.json             ids of 33 awkward strings (padding="max_length", max_length=77, truncation=True)
  expected/text.safetensors        CLIPTextModel outputs for a batch of those ids (+ debug intermediates)
  expected/vae.safetensors         AutoencoderKL encode / sample / decode records (+ debug intermediates)
  expected/unet.safetensors        UNet outputs at t = 1, 33, 500, 999 (+ debug intermediates at t = 999, taps)
  expected/img2img.safetensors     StableDiffusionImg2ImgPipeline runs (DPM-Solver++ 2M, DDIM) step by step with
                                   given noise: timesteps, latents per step, decoded, image, 8-bit image, taps
  expected/manifest.json           every record: file, key, shape, dtype, meaning; the config numbers; versions

Weights: drawn from a seeded torch.Generator by this script (not the libraries' initialisers, whose defaults change
between versions and leave norms at weight 1 / bias 0), rounded to float16 and SAVED AS F16 to keep the folder small
(see parity/README.md). All reference outputs are computed in float32 by the models RELOADED from the saved folders
with from_pretrained(..., torch_dtype=torch.float32), i.e. with the fp16-rounded weights upcast to float32 exactly as
a float32 engine that upcasts F16 weights at load time sees them. Records are float32 safetensors (ids as float32).

Determinism: fixed seeds, one CPU thread, torch.use_deterministic_algorithms(True), no timestamps, one safetensors
metadata key; rerunning gives byte-identical files on the same machine and library versions.

The img2img runs are StableDiffusionImg2ImgPipeline.__call__ written out with diffusers' own pieces (encode_prompt,
vae.encode, get_timesteps, add_noise, unet, scheduler.step, vae.decode, image_processor.postprocess) so that the noise
can be given: posterior_noise, latent_noise and DDIM's per-step variance noise are records. Seeds: weights
seed*10 + 1 (text encoder), + 2 (VAE), + 4 (UNet); records + 3 (VAE), + 5 (UNet), + 6 (img2img), + 7.. (self-check).
Every component and recorder has its own generator, so adding one leaves the others' bytes unchanged.

Self-checks on every run: the folders load with from_pretrained without warnings (diffusers' notice that the optional
`accelerate` package is missing excepted); reloaded weights equal the in-memory ones; the explicit img2img loop
equals the real StableDiffusionImg2ImgPipeline.__call__ run with a seeded torch.Generator (its noise replayed from an
identically seeded generator: posterior sample, latent noise, DDIM variance noise per step) for one DPM and one
DDIM eta > 0 case; spec_check() recomputes the text, VAE, UNet and img2img records from the saved files with plain
tensor ops as parity/README.md describes them (fails above 1e-5; relative to the magnitude for UNet / img2img).
Also printed: the gap between PyTorch's attention paths (eager / SDPA, AttnProcessor / AttnProcessor2_0), for scale.

Extending: add a builder to COMPONENTS (it writes <config>/<component>/ and returns the object(s) the recorders need;
model_index.json then lists the component) and a recorder to RECORDERS (it returns Record objects; they are written
to expected/<file> and listed in manifest.json). Give it its own seeded generator.
"""
import argparse
import gzip
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import warnings
import zipfile
from dataclasses import dataclass

try:
    import ftfy  # noqa: F401

    sys.exit("ftfy is installed: transformers' CLIPTokenizer would then clean text with ftfy; uninstall it")
except ImportError:
    pass

import numpy as np
import safetensors
import safetensors.torch
import tokenizers
import torch

import diffusers
import transformers
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taps  # noqa: E402  (tools/taps.py: the feature-tap definition)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(REPO, "Tests", "DiffusionTests", "Fixtures", "parity")
MAX_LEN = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
WEIGHT_DTYPE = torch.float16  # storage dtype of every weight file (size budget, see parity/README.md)

# --------------------------------------------------------------------------------------------------------------------
# Configurations. Every number a Swift test might need is repeated in expected/manifest.json.

CROSS_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
CROSS_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
SD_BETAS = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}

CONFIGS = {
    # SD 1.x flavour: quick_gelu, pad with <|endoftext|>, two VAE levels, 32 groups, scaling 0.18215.
    "sd1-like": {
        "seed": 1001,
        "tokenizer": {"merges": 382, "pad": EOS},  # vocab 256 + 256 + 382 + 2 = 896
        "text_encoder": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-5,
        },
        "vae": {
            "block_out_channels": [32, 64],
            "layers_per_block": 1,
            "norm_num_groups": 32,
            "latent_channels": 4,
            "scaling_factor": 0.18215,
            "sample_size": 32,
        },
        "records": {
            "image": [2, 16, 16],  # batch, height, width of the encoded image
            "latent2": [1, 4, 5, 7],  # the independent latent that is decoded too
            "text_strings": ["astronaut", "empty", "long", "emoji_skin_tone"],
            "logvar_bias": {},
            "unet_sample": [2, 4, 8, 8],  # the UNet-alone record: batch (CFG pair), latent channels, h, w
            "img2img_image": [16, 16],  # img2img input image H x W (latent 8 x 8 through the VAE's factor 2)
        },
        # SD 1.x UNet flavour: conv 1x1 proj_in / proj_out, an int attention_head_dim (= number of heads in diffusers),
        # two resnets per level.
        "unet": {
            "down_block_types": CROSS_DOWN,
            "up_block_types": CROSS_UP,
            "block_out_channels": [8, 8, 16, 16],
            "layers_per_block": 2,
            # 4 groups (2 or 4 channels each): with 8 groups, 2-channel groups on the 1 x 1 deepest level make
            # GroupNorm ill-conditioned (float32 rounding differences grew to 1e-3 in the outputs)
            "norm_num_groups": 4,
            "norm_eps": 1e-5,
            "attention_head_dim": 2,
            "use_linear_projection": False,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "sample_size": 8,
        },
        # SD 1.5's scheduler_config.json: PNDM, with the `clip_sample: false` that DDIM / others read through
        # from_config (PNDMScheduler has no such argument; diffusers keeps it as a hidden config entry).
        "scheduler": {
            "class": "PNDMScheduler",
            "config": {**SD_BETAS, "skip_prk_steps": True, "set_alpha_to_one": False, "steps_offset": 1,
                       "prediction_type": "epsilon", "clip_sample": False},
        },
        "img2img_extra_cases": [],
    },
    # SD 2.x flavour: gelu (erf), pad with "!" (id 0), three VAE levels, two resnets per level.
    "sd2-like": {
        "seed": 2002,
        "tokenizer": {"merges": 382, "pad": "!"},  # the same vocabulary as sd1-like
        "text_encoder": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "hidden_act": "gelu",
            "layer_norm_eps": 1e-5,
        },
        "vae": {
            "block_out_channels": [8, 16, 24],  # 8 channels in 8 groups: one channel per group
            "layers_per_block": 2,
            "norm_num_groups": 8,
            "latent_channels": 4,
            "scaling_factor": 0.18215,
            "sample_size": 32,
        },
        "records": {
            "image": [1, 24, 32],
            "latent2": [2, 4, 3, 5],
            "text_strings": ["astronaut", "empty", "long", "whitespace_kinds"],
            "logvar_bias": {},
            "unet_sample": [2, 4, 8, 16],
            "img2img_image": [32, 32],  # latent 8 x 8 through the VAE's factor 4
        },
        # SD 2.x UNet flavour: Linear proj_in / proj_out, a per-block attention_head_dim list (numbers of heads: every
        # head has 4 channels, as SD 2's have 64; the mid block takes the last entry, up blocks the reversed list),
        # one resnet per level.
        "unet": {
            "down_block_types": CROSS_DOWN,
            "up_block_types": CROSS_UP,
            "block_out_channels": [8, 8, 16, 24],
            "layers_per_block": 1,
            "norm_num_groups": 2,  # 4 to 12 channels a group: small groups on the 1 x 1 level are ill-conditioned
            "norm_eps": 1e-5,
            "attention_head_dim": [2, 2, 4, 6],
            "use_linear_projection": True,
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "sample_size": 8,
        },
        "scheduler": {
            "class": "DDIMScheduler",
            "config": {**SD_BETAS, "set_alpha_to_one": False, "steps_offset": 1, "clip_sample": False,
                       "prediction_type": "epsilon"},
        },
        "img2img_extra_cases": ["dpm-s0.3-n30"],
    },
    # Everything unusual: odd vocab size, hidden 40 with 2 heads of 20, intermediate 75, a large layer-norm eps
    # (so that a hard-coded 1e-5 is caught), channels (20, 28) with 4 groups (5 and 7 channels per group), a
    # non-square image and an odd-sized one, SDXL's scaling factor, and a quant_conv bias that drives one logvar
    # channel around the -30 clamp.
    "odd": {
        "seed": 3003,
        "tokenizer": {"merges": 333, "pad": EOS},  # vocab 256 + 256 + 333 + 2 = 847
        "text_encoder": {
            "hidden_size": 40,
            "intermediate_size": 75,
            "num_hidden_layers": 3,
            "num_attention_heads": 2,
            "hidden_act": "quick_gelu",
            "layer_norm_eps": 1e-3,
        },
        "vae": {
            "block_out_channels": [20, 28],
            "layers_per_block": 1,
            "norm_num_groups": 4,
            "latent_channels": 4,
            "scaling_factor": 0.13025,
            "sample_size": 40,
        },
        "records": {
            "image": [1, 24, 40],
            "image_odd": [1, 21, 35],  # odd height and width through Downsample2D's (0, 1, 0, 1) padding
            "latent2": [1, 4, 7, 3],
            "text_strings": ["astronaut", "empty", "long", "accents"],
            "logvar_bias": {1: -30.0},  # latent channel 1: logvar = conv + (-30) -> about half clamped to -30
            "unet_sample": [2, 4, 6, 10],  # not a multiple of 8: diffusers forwards upsample_size (2 -> 3, 3 -> 5)
            "img2img_image": [12, 20],  # latent 6 x 10 through the VAE's factor 2
        },
        # Unusual UNet: channels 12 / 20 / 20 / 12 (not monotonic) in 4 groups of 3 or 5 channels, cross-attention
        # only in blocks 0 and 2 (down) / 1 and 3 (up), 2 heads of 6 or 10 channels, Linear projections,
        # flip_sin_to_cos FALSE with freq_shift 1, a non-default resnet GroupNorm eps, cross_attention_dim 40.
        "unet": {
            "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
            "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D"],
            "block_out_channels": [12, 20, 20, 12],
            "layers_per_block": 1,
            "norm_num_groups": 4,
            "norm_eps": 1e-4,
            "attention_head_dim": 2,
            "use_linear_projection": True,
            "flip_sin_to_cos": False,
            "freq_shift": 1,
            "sample_size": 8,
        },
        # SD 2.x 768-v flavour: v-prediction.
        "scheduler": {
            "class": "DDIMScheduler",
            "config": {**SD_BETAS, "set_alpha_to_one": False, "steps_offset": 1, "clip_sample": False,
                       "prediction_type": "v_prediction"},
        },
        "img2img_extra_cases": [],
    },
}

# --------------------------------------------------------------------------------------------------------------------
# Tokenizer corpus: (name, text). Names are stable handles for the Swift tests.

LONG_TEXT = (
    "a highly detailed oil painting of a lighthouse on a rocky cliff at sunset, waves crashing below, seagulls "
    "flying overhead, dramatic clouds, golden hour light, 8k resolution, trending on artstation, by greg rutkowski "
    "and alphonse mucha, intricate, elegant, sharp focus, illustration, concept art, matte painting, volumetric "
    "lighting, cinematic composition, 35mm film grain, award winning photograph of the year 2024"
)

STRINGS = [
    ("astronaut", "a photo of an astronaut riding a horse on mars"),
    ("empty", ""),
    ("case", "A Photo Of A CAT, ALL CAPS"),
    ("spaces", "   leading,  inner   and trailing spaces   "),
    ("whitespace_kinds", "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2003em\u3000ideographic space"),
    ("accents", "Café déjà vu, naïve façade, crème brûlée"),
    ("combining", "Cafe\u0301 combining acute (NFD) vs Caf\u00e9"),
    ("lone_combining", "\u0301 starts with a combining mark"),
    ("cjk", "東京タワーの夜景 and 北京烤鸭"),
    ("hangul", "한국어 텍스트 그림"),
    ("arabic_greek_cyrillic", "العربية Ελληνικά и русский текст"),
    ("emoji", "a cat 🐱 riding a rocket 🚀 with family 👩\u200d👩\u200d👧 and flags 🇯🇵🇫🇷"),
    ("emoji_skin_tone", "thumbs up 👍🏽 ok 👌🏿"),
    ("punct_runs", "wow!!! really??? ... ,,, ;;; ::: --- ___ ***"),
    ("brackets", "(masterpiece:1.2) [cat] {dog} <lora:foo:0.8> |pipe|"),
    ("numbers", "12345 3.14159 1,000,000 007 2nd 1990s -42 +7 1e-5"),
    ("apostrophes", "it's don't we're they've I'm you'll he'd"),
    ("apostrophes_upper", "IT'S DON'T WE'RE THEY'VE I'M YOU'LL HE'D"),
    ("quotes", "rock'n'roll 'single' ''double'' \"dq\" 's 't"),
    ("curly_quotes", "\u2019curly\u2019 isn\u2019t \u201cquoted\u201d \u2018x\u2019"),
    ("special_in_text", "<|startoftext|>special<|endoftext|> tokens <|endoftext|> in text"),
    ("zero_width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom"),
    ("control", "bell\x07 null\x00 escape\x1b delete\x7f"),
    ("compat", "\ufb01ne ligature \uff26\uff35\uff2c\uff2c\uff37\uff29\uff24\uff34\uff28 \u2460 \u00bd \u2122"),
    ("case_special", "İstanbul STRASSE straße ΣΊΣΥΦΟΣ ǅ"),
    ("single_char", "x"),
    ("single_punct", "!"),
    ("mixed_punct_letters", "a,b.c;d:e/f\\g|h"),
    ("underscores", "snake_case and kebab-case and CamelCase and dot.case"),
    ("symbols", "$100 @user #hashtag 50% a&b ~tilde `tick` ^caret =eq"),
    ("repeated", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("long", LONG_TEXT),
    ("long_digits", " ".join(str(i) for i in range(60))),
]

# Strings whose ids differ between this reference (transformers 5: tokenizers-backed CLIPTokenizer: NFC, \s+ -> " ",
# Rust lowercase, CLIP regex split) and transformers 4.x's slow CLIPTokenizer without ftfy (BasicTokenizer(
# strip_accents=False, do_split_on_punc=False), Python str.lower()). Written into tokens.json; verified against a real
# transformers 4 with --transformers4-python. The text-encoder batches use none of these strings.
TRANSFORMERS4_DIFFERS = {
    "cjk": "transformers 4 makes every CJK ideograph a word of its own (each ends in </w>); kana stay grouped",
    "emoji": "transformers 4 deletes U+200D ZERO WIDTH JOINER (a format character); transformers 5 keeps it",
    "zero_width": "transformers 4 deletes format characters (U+200B, U+200C, U+200D, U+FEFF), joining the words "
                  "around them; transformers 5 keeps them",
    "control": "transformers 4 deletes control characters (U+0000, U+0007, U+001B, U+007F); transformers 5 keeps them",
    "case_special": "Python's str.lower() lowercases a word-final capital sigma to U+03C2 (final sigma); transformers 5 "
                    "lowercases every capital sigma to U+03C3",
}

# --------------------------------------------------------------------------------------------------------------------
# Small helpers


@dataclass
class Record:
    file: str  # file under expected/
    key: str  # safetensors key (tensor records) or JSON key
    value: object  # torch.Tensor (saved as float32) or JSON-serialisable
    what: str  # meaning, for the manifest


def write_json(path, obj, indent=2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False, sort_keys=False, allow_nan=False)
        f.write("\n")


def write_tokens_json(path, obj):
    """Like write_json, but every entry of obj["strings"] on one line (the file stays small and diffable)."""
    head = {k: v for k, v in obj.items() if k != "strings"}
    lines = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "strings": [\n'
    lines += ",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in obj["strings"]) + "\n ]\n}\n"
    assert json.loads(lines) == obj
    with open(path, "w", encoding="utf-8") as f:
        f.write(lines)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def read_bpe(args):
    if args.bpe:
        with open(args.bpe, "rb") as f:
            raw = f.read()
    else:
        with zipfile.ZipFile(args.wheel) as z:
            raw = z.read(BPE_MEMBER)
    text = gzip.decompress(raw).decode("utf-8")
    lines = text.split("\n")
    assert "#version: 0.2" in lines[0], lines[0]
    merges = [tuple(line.split()) for line in lines[1:1001]]
    assert all(len(m) == 2 for m in merges), "unexpected merges file"
    return merges, hashlib.sha256(text.encode("utf-8")).hexdigest()


class Quiet:
    """Fails on any warning (python `warnings` or transformers / diffusers logging) raised inside the block."""

    ALLOWED = (
        # Not about the folder: diffusers' notice that the optional `accelerate` package is not installed.
        "Cannot initialize model with low cpu memory usage because `accelerate` was not found",
    )

    class _Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self._handler = self._Collect()
        self._loggers = [logging.getLogger("transformers"), logging.getLogger("diffusers")]
        for lg in self._loggers:
            lg.addHandler(self._handler)
        self._catch = warnings.catch_warnings(record=True)
        self._caught = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        for lg in self._loggers:
            lg.removeHandler(self._handler)
        if exc[0] is None:
            msgs = [str(w.message) for w in self._caught] + self._handler.messages
            msgs = [m for m in msgs if not m.startswith(self.ALLOWED)]
            if msgs:
                raise SystemExit(f"{self.what}: warnings were emitted:\n  " + "\n  ".join(msgs))
        return False


def randomize_(model, gen):
    """Overwrite every parameter with seeded random values (modules in registration order), then round to fp16.

    Linear / Conv2d weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1^2); LayerNorm / GroupNorm weights ~ 1 + N(0, 0.1^2),
    biases ~ N(0, 0.1^2) (non-trivial, so swapped or ignored affine parameters show); embeddings ~ N(0, 0.3^2)."""
    done = set()
    with torch.no_grad():
        for name, module in model.named_modules():
            params = dict(module.named_parameters(recurse=False))
            if not params:
                continue
            if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) / fan_in**0.5)
                if module.bias is not None:
                    module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
            elif isinstance(module, (torch.nn.LayerNorm, torch.nn.GroupNorm)):
                module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=gen))
            elif isinstance(module, torch.nn.Embedding):
                module.weight.copy_(0.3 * torch.randn(module.weight.shape, generator=gen))
            else:
                raise TypeError(f"no initialiser for {name} ({type(module).__name__}: {list(params)})")
            done.update(id(p) for p in params.values())
        missing = [n for n, p in model.named_parameters() if id(p) not in done]
        assert not missing, missing
        for p in model.parameters():
            p.copy_(p.to(WEIGHT_DTYPE).to(torch.float32))


def hook_outputs(modules):
    """Register forward hooks; returns (dict name -> captured output, list of handles)."""
    captured, handles = {}, []
    for name, module in modules.items():

        def hook(_m, _inp, out, name=name):
            captured[name] = (out[0] if isinstance(out, tuple) else out).detach().clone()

        handles.append(module.register_forward_hook(hook))
    return captured, handles


def first_only(t):
    return t[:1].contiguous()


# --------------------------------------------------------------------------------------------------------------------
# Components. A builder writes <folder>/<component>/, returns what the recorders need and the model_index entry.


def build_tokenizer(name, cfg, folder, ctx):
    n = cfg["tokenizer"]["merges"]
    merges = ctx["merges"][:n]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    known = set(vocab)
    for a, b in merges:
        assert a in known and b in known, f"merge {a} {b} uses a token not in the small vocabulary"
        known.add(a + b)
    vocab += ["".join(m) for m in merges] + [BOS, EOS]
    encoder = {tok: i for i, tok in enumerate(vocab)}
    assert len(encoder) == len(vocab) == 512 + n + 2
    pad = cfg["tokenizer"]["pad"]

    def added(content):
        return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}

    def legacy(content):
        return {"__type": "AddedToken", **added(content)}

    path = os.path.join(folder, "tokenizer")
    os.makedirs(path)
    with open(os.path.join(path, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False)
    with open(os.path.join(path, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    # The format of the published SD 1.x / 2.x tokenizer folders (written by transformers < 4.34).
    write_json(os.path.join(path, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "bos_token": legacy(BOS),
        "do_lower_case": True,
        "eos_token": legacy(EOS),
        "errors": "replace",
        "model_max_length": MAX_LEN,
        "name_or_path": f"parity/{name}/tokenizer",
        "pad_token": pad,
        "special_tokens_map_file": "./special_tokens_map.json",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": legacy(EOS),
    })
    write_json(os.path.join(path, "special_tokens_map.json"), {
        "bos_token": added(BOS),
        "eos_token": added(EOS),
        "pad_token": pad,
        "unk_token": added(EOS),
    })
    with Quiet(f"{name}: CLIPTokenizer.from_pretrained"):
        tok = CLIPTokenizer.from_pretrained(path)
    assert len(tok) == len(vocab), (len(tok), len(vocab))
    assert tok.bos_token_id == encoder[BOS] and tok.eos_token_id == encoder[EOS] and tok.pad_token_id == encoder[pad]
    assert tok.model_max_length == MAX_LEN
    ctx["tokenizer"] = tok
    ctx["token_ids"] = {"vocab_size": len(vocab), "bos": encoder[BOS], "eos": encoder[EOS], "pad": encoder[pad]}
    return ["transformers", "CLIPTokenizer"]


def build_text_encoder(name, cfg, folder, ctx):
    ids = ctx["token_ids"]
    te = cfg["text_encoder"]
    config = CLIPTextConfig(
        vocab_size=ids["vocab_size"],
        hidden_size=te["hidden_size"],
        intermediate_size=te["intermediate_size"],
        projection_dim=te["hidden_size"],
        num_hidden_layers=te["num_hidden_layers"],
        num_attention_heads=te["num_attention_heads"],
        max_position_embeddings=MAX_LEN,
        hidden_act=te["hidden_act"],
        layer_norm_eps=te["layer_norm_eps"],
        attention_dropout=0.0,
        initializer_range=0.02,
        initializer_factor=1.0,
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        pad_token_id=ids["pad"],
    )
    torch.manual_seed(cfg["seed"])
    model = CLIPTextModel(config).eval()
    randomize_(model, torch.Generator().manual_seed(cfg["seed"] * 10 + 1))
    path = os.path.join(folder, "text_encoder")
    model.to(WEIGHT_DTYPE).save_pretrained(path, safe_serialization=True)
    # transformers 5's CLIPTextModel is flat and save_pretrained writes `embeddings.…`, `encoder.…`; every published
    # SD text_encoder (and transformers 4) has `text_model.embeddings.…`: rename to that (transformers 5 loads both).
    weights = os.path.join(path, "model.safetensors")
    with safetensors.safe_open(weights, "pt") as f:
        metadata = f.metadata()
        tensors = {f"text_model.{k}": f.get_tensor(k) for k in f.keys()}
    safetensors.torch.save_file(tensors, weights, metadata=metadata)
    with Quiet(f"{name}: CLIPTextModel.from_pretrained"):
        CLIPTextModel.from_pretrained(path)
    # The reference model: reloaded from disk, float32, plain (eager) attention.
    ref = CLIPTextModel.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager").eval()
    for (k, a), (k2, b) in zip(ref.state_dict().items(), model.state_dict().items()):
        assert k == k2 and a.dtype == torch.float32 and torch.equal(a, b.float()), k
    ctx["text_encoder"] = ref
    ctx["text_encoder_sdpa"] = CLIPTextModel.from_pretrained(
        path, torch_dtype=torch.float32, attn_implementation="sdpa").eval()  # only to print the eager / SDPA gap
    return ["transformers", "CLIPTextModel"]


def build_vae(name, cfg, folder, ctx):
    v = cfg["vae"]
    levels = len(v["block_out_channels"])
    model = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        block_out_channels=v["block_out_channels"],
        layers_per_block=v["layers_per_block"],
        act_fn="silu",
        latent_channels=v["latent_channels"],
        norm_num_groups=v["norm_num_groups"],
        sample_size=v["sample_size"],
        scaling_factor=v["scaling_factor"],
    ).eval()
    randomize_(model, torch.Generator().manual_seed(cfg["seed"] * 10 + 2))
    with torch.no_grad():
        for channel, bias in cfg["records"]["logvar_bias"].items():
            model.quant_conv.bias[v["latent_channels"] + channel] += bias
    path = os.path.join(folder, "vae")
    level = diffusers.utils.logging.get_verbosity()
    diffusers.utils.logging.set_verbosity_error()  # the "keep modules in float32: []" notice of .to(float16)
    model = model.to(WEIGHT_DTYPE)
    diffusers.utils.logging.set_verbosity(level)
    model.save_pretrained(path, safe_serialization=True)
    with Quiet(f"{name}: AutoencoderKL.from_pretrained"):
        AutoencoderKL.from_pretrained(path)
    ref = AutoencoderKL.from_pretrained(path, torch_dtype=torch.float32, low_cpu_mem_usage=False).eval()
    for (k, a), (k2, b) in zip(ref.state_dict().items(), model.state_dict().items()):
        assert k == k2 and a.dtype == torch.float32 and torch.equal(a, b.float()), k
    ctx["vae_default_attn"] = AutoencoderKL.from_pretrained(  # only to print the AttnProcessor / 2_0 gap
        path, torch_dtype=torch.float32, low_cpu_mem_usage=False).eval()
    ref.set_default_attn_processor()  # plain AttnProcessor: explicit scores, softmax, weighted sum
    ctx["vae"] = ref
    return ["diffusers", "AutoencoderKL"]


def unet_kwargs(cfg):
    u = cfg["unet"]
    return dict(
        sample_size=u["sample_size"],
        in_channels=4,
        out_channels=4,
        down_block_types=u["down_block_types"],
        up_block_types=u["up_block_types"],
        block_out_channels=u["block_out_channels"],
        layers_per_block=u["layers_per_block"],
        norm_num_groups=u["norm_num_groups"],
        norm_eps=u["norm_eps"],
        attention_head_dim=u["attention_head_dim"],
        use_linear_projection=u["use_linear_projection"],
        flip_sin_to_cos=u["flip_sin_to_cos"],
        freq_shift=u["freq_shift"],
        cross_attention_dim=cfg["text_encoder"]["hidden_size"],
        act_fn="silu",
    )


def build_unet(name, cfg, folder, ctx):
    model = UNet2DConditionModel(**unet_kwargs(cfg)).eval()
    randomize_(model, torch.Generator().manual_seed(cfg["seed"] * 10 + 4))
    path = os.path.join(folder, "unet")
    level = diffusers.utils.logging.get_verbosity()
    diffusers.utils.logging.set_verbosity_error()  # the "keep modules in float32: []" notice of .to(float16)
    model = model.to(WEIGHT_DTYPE)
    diffusers.utils.logging.set_verbosity(level)
    model.save_pretrained(path, safe_serialization=True)
    with Quiet(f"{name}: UNet2DConditionModel.from_pretrained"):
        UNet2DConditionModel.from_pretrained(path)
    ref = UNet2DConditionModel.from_pretrained(path, torch_dtype=torch.float32, low_cpu_mem_usage=False).eval()
    for (k, a), (k2, b) in zip(ref.state_dict().items(), model.state_dict().items()):
        assert k == k2 and a.dtype == torch.float32 and torch.equal(a, b.float()), k
    ctx["unet_default_attn"] = UNet2DConditionModel.from_pretrained(  # only to print the AttnProcessor / 2_0 gap
        path, torch_dtype=torch.float32, low_cpu_mem_usage=False).eval()
    ref.set_default_attn_processor()  # plain AttnProcessor: explicit scores, softmax, weighted sum
    ctx["unet"] = ref
    return ["diffusers", "UNet2DConditionModel"]


def build_scheduler(name, cfg, folder, ctx):
    sc = cfg["scheduler"]
    cls = getattr(diffusers, sc["class"])
    # from_config keeps entries the class does not take (SD 1.5's `clip_sample` of a PNDM config) as hidden config
    # entries, which save_pretrained writes too (sorted keys, like every diffusers config).
    with Quiet(f"{name}: {sc['class']}.from_config"):
        scheduler = cls.from_config(sc["config"])
    path = os.path.join(folder, "scheduler")
    scheduler.save_pretrained(path)
    with open(os.path.join(path, "scheduler_config.json"), encoding="utf-8") as f:
        saved = json.load(f)
    assert all(saved[k] == v for k, v in sc["config"].items()), saved
    with Quiet(f"{name}: {sc['class']}.from_pretrained"):
        cls.from_pretrained(path)
    ctx["scheduler"] = cls.from_pretrained(path)
    ctx["scheduler_config"] = saved  # the folder's scheduler_config.json, as read from disk
    return ["diffusers", sc["class"]]


COMPONENTS = [
    ("tokenizer", build_tokenizer),
    ("text_encoder", build_text_encoder),
    ("vae", build_vae),
    ("unet", build_unet),
    ("scheduler", build_scheduler),
]

# --------------------------------------------------------------------------------------------------------------------
# Records


def record_tokens(name, cfg, ctx):
    tok = ctx["tokenizer"]
    entries, ids_by_name = [], {}
    for key, text in STRINGS:
        enc = tok(text, padding="max_length", max_length=MAX_LEN, truncation=True)
        ids = enc["input_ids"]
        assert len(ids) == MAX_LEN
        full = tok(text, verbose=False)["input_ids"]
        length = min(len(full), MAX_LEN)
        entry = {
            "name": key,
            "text": text,
            "ids": ids,
            "tokens": tok.convert_ids_to_tokens(ids[:length]),
            "length": length,
            "truncated": len(full) > MAX_LEN,
            "untruncated_length": len(full),
        }
        if key in TRANSFORMERS4_DIFFERS:
            entry["transformers4_differs"] = TRANSFORMERS4_DIFFERS[key]
        entries.append(entry)
        ids_by_name[key] = ids
    assert any(e["truncated"] for e in entries)
    ctx["ids_by_name"] = ids_by_name
    ids = ctx["token_ids"]
    return [Record("tokens.json", "tokens", {
        "tokenizer": f"transformers {transformers.__version__} CLIPTokenizer (tokenizers backend), no ftfy",
        "call": 'tokenizer(text, padding="max_length", max_length=77, truncation=True)',
        "transformers4_differs": "present on the strings whose ids differ with transformers 4.x's slow CLIPTokenizer "
                                 "(no ftfy), with the reason; all other strings give the same ids there",
        "vocab_size": ids["vocab_size"],
        "bos_token_id": ids["bos"],
        "eos_token_id": ids["eos"],
        "pad_token_id": ids["pad"],
        "strings": entries,
    }, "per string: name, text, ids (77, padded), tokens (up to eos), length (non-pad, incl. bos/eos), truncated")]


def record_text(name, cfg, ctx):
    model = ctx["text_encoder"]
    names = cfg["records"]["text_strings"]
    input_ids = torch.tensor([ctx["ids_by_name"][n] for n in names], dtype=torch.long)
    layers = model.encoder.layers
    n_layers = len(layers)
    taps = {
        "debug.embeddings": model.embeddings,
        "debug.layers.0.self_attn": layers[0].self_attn,
        "debug.layers.0.mlp": layers[0].mlp,
    }
    for i, layer in enumerate(layers):
        taps[f"debug.layers.{i}"] = layer
    captured, handles = hook_outputs(taps)
    with torch.no_grad():
        out = model(input_ids=input_ids)
    for h in handles:
        h.remove()
    with torch.no_grad():
        sdpa = ctx["text_encoder_sdpa"](input_ids=input_ids).last_hidden_state
        # consistency of the taps: residual adds and the final layer norm
        assert torch.equal(model.final_layer_norm(captured[f"debug.layers.{n_layers - 1}"]), out.last_hidden_state)
        h = captured["debug.embeddings"] + captured["debug.layers.0.self_attn"]
        assert torch.equal(h + captured["debug.layers.0.mlp"], captured["debug.layers.0"])
    print(f"  text: max |eager - sdpa| = {(sdpa - out.last_hidden_state).abs().max().item():.3g}")
    rows = ", ".join(names)
    recs = [
        Record("text.safetensors", "input_ids", input_ids.float(),
               f"token ids (as float) of tokens.json strings [{rows}]"),
        Record("text.safetensors", "last_hidden_state", out.last_hidden_state,
               "CLIPTextModel last_hidden_state: after final_layer_norm, causal mask, no attention_mask"),
        Record("text.safetensors", "pooler_output", out.pooler_output,
               "last_hidden_state at the first eos_token_id position of each row"),
        Record("text.safetensors", "debug.embeddings", first_only(captured["debug.embeddings"]),
               "row 0 only: token_embedding(ids) + position_embedding(0..76)"),
        Record("text.safetensors", "debug.layers.0.self_attn", first_only(captured["debug.layers.0.self_attn"]),
               "row 0 only: layer 0 out_proj(causal self-attention(layer_norm1(x))), before the residual add"),
        Record("text.safetensors", "debug.layers.0", first_only(captured["debug.layers.0"]),
               "row 0 only: output of encoder layer 0 = x + self_attn + mlp(layer_norm2(x + self_attn))"
               + (" (also the penultimate layer)" if n_layers == 2 else "")),
    ]
    if n_layers > 2:
        i = n_layers - 2
        recs.append(Record("text.safetensors", f"debug.layers.{i}", first_only(captured[f"debug.layers.{i}"]),
                           f"row 0 only: output of encoder layer {i}, the penultimate layer (SDXL / clip-skip "
                           "features), before final_layer_norm"))
    return recs


def image_pattern(batch, height, width):
    """Smooth deterministic test images in [-1, 1], shape (batch, 3, height, width): gradients, a soft disc, a soft
    rectangle and a diagonal wave, different per batch element (computed in float64, rounded to float32)."""
    y, x = np.meshgrid((np.arange(height) + 0.5) / height, (np.arange(width) + 0.5) / width, indexing="ij")
    images = []
    for b in range(batch):
        cx, cy, r = 0.35 + 0.3 * b, 0.4 + 0.2 * b, 0.22
        disc = 1 / (1 + np.exp((np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r) * 40))
        rect = 1 / (1 + np.exp((np.maximum(np.abs(x - 0.7 + 0.4 * b) - 0.15, np.abs(y - 0.7) - 0.12)) * 40))
        wave = np.sin((x + (2 - b) * y) * 2 * np.pi * (1.5 + b))
        red = -0.8 + 1.6 * x + 0.9 * disc - 0.5 * rect
        green = 0.9 - 1.7 * y + 0.3 * wave + 0.6 * rect
        blue = 0.5 * wave - 0.7 * disc + 0.4 * (x - y)
        images.append(np.stack([red, green, blue]))
    return torch.from_numpy(np.clip(np.stack(images), -1, 1).astype(np.float32))


def record_vae(name, cfg, ctx):
    vae = ctx["vae"]
    rc = cfg["records"]
    sf = vae.config.scaling_factor
    gen = torch.Generator().manual_seed(cfg["seed"] * 10 + 3)
    batch, height, width = rc["image"]
    image = image_pattern(batch, height, width)
    taps = {
        "debug.encoder.down_blocks.0": vae.encoder.down_blocks[0],
        "debug.encoder.mid_block": vae.encoder.mid_block,
        "debug.encoder.out": vae.encoder,
        "debug.decoder.post_quant_conv": vae.post_quant_conv,
        "debug.decoder.mid_block": vae.decoder.mid_block,
    }
    captured, handles = hook_outputs(taps)
    with torch.no_grad():
        moments = vae._encode(image)  # encoder + quant_conv, before chunk / clamp
        dist = vae.encode(image).latent_dist
        noise = torch.randn(dist.mean.shape, generator=gen, dtype=torch.float32)
        sample = dist.mean + dist.std * noise
        assert torch.equal(sample, dist.sample(generator=torch.Generator().manual_seed(cfg["seed"] * 10 + 3)))
        latent = sample * sf
        decoded = vae.decode(latent / sf).sample
    for h in handles:
        h.remove()
    with torch.no_grad():
        latent2 = torch.randn(rc["latent2"], generator=gen, dtype=torch.float32)
        decoded2 = vae.decode(latent2 / sf).sample
        other = ctx["vae_default_attn"]
        d1 = (other.decode(latent / sf).sample - decoded).abs().max().item()
        d2 = (other.encode(image).latent_dist.mean - dist.mean).abs().max().item()
    print(f"  vae: max |AttnProcessor - default processor| decode {d1:.3g}, encode mean {d2:.3g}")
    lc = vae.config.latent_channels
    clamped = int(((moments[:, lc:] < -30) | (moments[:, lc:] > 20)).sum())
    if rc["logvar_bias"]:
        assert clamped > 0, "the logvar bias should push some values past the clamp"
    recs = [
        Record("vae.safetensors", "image", image, "encoder input in [-1, 1], (B, 3, H, W)"),
        Record("vae.safetensors", "moments", moments,
               "quant_conv(encoder(image)): channels [0, C) mean, [C, 2C) raw logvar (NOT clamped)"),
        Record("vae.safetensors", "posterior_mean", dist.mean, "latent_dist.mean"),
        Record("vae.safetensors", "posterior_logvar", dist.logvar,
               f"latent_dist.logvar = clamp(raw logvar, -30, 20) ({clamped} values clamped in this config)"),
        Record("vae.safetensors", "posterior_std", dist.std, "latent_dist.std = exp(0.5 * logvar)"),
        Record("vae.safetensors", "noise", noise, "the given standard-normal noise"),
        Record("vae.safetensors", "sample", sample, "mean + std * noise (= latent_dist.sample with that noise)"),
        Record("vae.safetensors", "latent", latent, f"sample * scaling_factor ({sf})"),
        Record("vae.safetensors", "decoded", decoded, "vae.decode(latent / scaling_factor).sample (not clamped)"),
        Record("vae.safetensors", "latent2", latent2, "an independent standard-normal latent (scaled space)"),
        Record("vae.safetensors", "decoded2", decoded2, "vae.decode(latent2 / scaling_factor).sample"),
        Record("vae.safetensors", "debug.encoder.down_blocks.0", first_only(captured["debug.encoder.down_blocks.0"]),
               "batch element 0 only: output of encoder.down_blocks[0] (resnets, then Downsample2D)"),
        Record("vae.safetensors", "debug.encoder.mid_block", first_only(captured["debug.encoder.mid_block"]),
               "batch element 0 only: output of encoder.mid_block (resnet, attention, resnet)"),
        Record("vae.safetensors", "debug.encoder.out", first_only(captured["debug.encoder.out"]),
               "batch element 0 only: encoder output (conv_out), before quant_conv"),
        Record("vae.safetensors", "debug.decoder.post_quant_conv", first_only(captured["debug.decoder.post_quant_conv"]),
               "batch element 0 only: post_quant_conv(latent / scaling_factor), the decoder's input"),
        Record("vae.safetensors", "debug.decoder.mid_block", first_only(captured["debug.decoder.mid_block"]),
               "batch element 0 only: output of decoder.mid_block when decoding `latent`"),
    ]
    if "image_odd" in rc:
        b, h, w = rc["image_odd"]
        image_odd = image_pattern(b, h, w)
        with torch.no_grad():
            dist_odd = vae.encode(image_odd).latent_dist
        recs += [
            Record("vae.safetensors", "image_odd", image_odd, "a second encoder input with odd height and width"),
            Record("vae.safetensors", "posterior_mean_odd", dist_odd.mean, "latent_dist.mean of image_odd"),
            Record("vae.safetensors", "posterior_logvar_odd", dist_odd.logvar,
                   "latent_dist.logvar of image_odd (clamped)"),
        ]
    return recs


UNET_TIMESTEPS = [1, 33, 500, 999]


def first_cross_attn_block(unet):
    return next(i for i, b in enumerate(unet.down_blocks) if getattr(b, "has_cross_attention", False))


def record_unet(name, cfg, ctx):
    unet = ctx["unet"]
    gen = torch.Generator().manual_seed(cfg["seed"] * 10 + 5)
    shape = cfg["records"]["unet_sample"]
    sample = torch.randn(shape, generator=gen, dtype=torch.float32)
    ehs = torch.randn([shape[0], MAX_LEN, unet.config.cross_attention_dim], generator=gen, dtype=torch.float32)
    recs = [
        Record("unet.safetensors", "sample", sample, "UNet input latents (B=2, 4, h, w), standard normal"),
        Record("unet.safetensors", "encoder_hidden_states", ehs,
               "UNet cross-attention input (2, 77, cross_attention_dim), standard normal"),
    ]
    outs, taps_by_t = {}, {}
    with torch.no_grad(), taps.TapRecorder(unet) as rec:
        for t in UNET_TIMESTEPS:
            outs[t] = unet(sample, torch.tensor(t, dtype=torch.int64), encoder_hidden_states=ehs).sample
            taps_by_t[t] = rec.taps(batch_index=1)
            recs.append(Record("unet.safetensors", f"out.t{t}", outs[t],
                               f"unet(sample, timestep={t} (scalar int64, both batch elements), "
                               "encoder_hidden_states).sample"))
    # debug intermediates at t = 999
    c = first_cross_attn_block(unet)
    modules = {"debug.t999.time_embedding": unet.time_embedding, "debug.t999.conv_in": unet.conv_in}
    for i, b in enumerate(unet.down_blocks):
        modules[f"debug.t999.down_blocks.{i}"] = b
    modules["debug.t999.mid_block"] = unet.mid_block
    for j, b in enumerate(unet.up_blocks):
        modules[f"debug.t999.up_blocks.{j}"] = b
    modules[f"debug.t999.down_blocks.{c}.resnets.0"] = unet.down_blocks[c].resnets[0]
    modules[f"debug.t999.down_blocks.{c}.attentions.0"] = unet.down_blocks[c].attentions[0]
    captured, handles = hook_outputs(modules)
    with torch.no_grad():
        again = unet(sample, torch.tensor(999, dtype=torch.int64), encoder_hidden_states=ehs).sample
        other = ctx["unet_default_attn"]
        gap = max((other(sample, torch.tensor(t), encoder_hidden_states=ehs).sample - outs[t]).abs().max().item()
                  for t in UNET_TIMESTEPS)
    for h in handles:
        h.remove()
    assert torch.equal(again, outs[999])
    print(f"  unet: max |AttnProcessor - default processor| {gap:.3g}; |out| max "
          f"{max(o.abs().max().item() for o in outs.values()):.3g}")
    what = {
        "debug.t999.time_embedding": "time_embedding(time_proj(999)): after linear_2 (no activation after it)",
        "debug.t999.conv_in": "conv_in(sample)",
        "debug.t999.mid_block": "output of mid_block (resnet, transformer, resnet)",
        f"debug.t999.down_blocks.{c}.resnets.0": f"output of down_blocks[{c}].resnets[0] (first resnet, with temb)",
        f"debug.t999.down_blocks.{c}.attentions.0": f"output of down_blocks[{c}].attentions[0] (Transformer2DModel "
                                                    "incl. its residual add)",
    }
    for key, tensor in captured.items():
        if key.startswith("debug.t999.down_blocks.") and key.count(".") == 3:
            i = int(key.rsplit(".", 1)[1])
            down = "after its downsampler" if unet.down_blocks[i].downsamplers is not None else "no downsampler"
            meaning = f"element 0 of down_blocks[{i}]'s output tuple ({down})"
        elif key.startswith("debug.t999.up_blocks."):
            j = int(key.rsplit(".", 1)[1])
            up = "after its upsampler" if unet.up_blocks[j].upsamplers is not None else "no upsampler"
            meaning = f"output of up_blocks[{j}] ({up})"
        else:
            meaning = what[key]
        recs.append(Record("unet.safetensors", key, first_only(tensor), f"t = 999, batch element 0 only: {meaning}"))
    for t in (1, 999):
        for key, tensor in taps_by_t[t].items():
            recs.append(Record("unet.safetensors", f"taps.t{t}.{key}", tensor,
                               f"tools/taps.py feature taps of the t = {t} call, conditional element (index 1), "
                               f"{key}: {tap_members(unet, key)}"))
    return recs


def tap_members(unet, key):
    stride = int(key.replace("stride", ""))
    return " + ".join(f"{t.name} ({t.channels})" for t in taps.tap_layout(unet.config) if t.stride == stride)


# --------------------------------------------------------------------------------------------------------------------
# img2img: StableDiffusionImg2ImgPipeline, step by step with given noise

PROMPT = "a photo of an astronaut riding a horse"
NEGATIVE_PROMPT = ""
GUIDANCE_SCALE = 7.5
DPM_KWARGS = {"algorithm_type": "dpmsolver++", "solver_order": 2, "solver_type": "midpoint", "lower_order_final": True,
              "final_sigmas_type": "zero", "timestep_spacing": "linspace", "use_karras_sigmas": False}
DDIM_KWARGS = {"timestep_spacing": "leading"}
IMG2IMG_CASES = {  # name -> (scheduler, strength, num_inference_steps, eta)
    "dpm-s0.65-n10": ("dpm", 0.65, 10, None),
    "dpm-s1.0-n10": ("dpm", 1.0, 10, None),
    "ddim-s0.3-n10-eta0.0": ("ddim", 0.3, 10, 0.0),
    "ddim-s0.65-n10-eta0.3": ("ddim", 0.65, 10, 0.3),
    "dpm-s0.3-n30": ("dpm", 0.3, 30, None),
}
IMG2IMG_COMMON = ["dpm-s0.65-n10", "dpm-s1.0-n10", "ddim-s0.3-n10-eta0.0", "ddim-s0.65-n10-eta0.3"]
IMG2IMG_SELF_CHECK = ["dpm-s0.65-n10", "ddim-s0.65-n10-eta0.3"]  # also run through the real pipeline __call__


def img2img_cases(cfg):
    return IMG2IMG_COMMON + cfg["img2img_extra_cases"]


def make_scheduler(kind, folder_config):
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if kind == "dpm":
        return DPMSolverMultistepScheduler.from_config(folder_config, **DPM_KWARGS)
    return DDIMScheduler.from_config(folder_config, **DDIM_KWARGS)


def img2img_pipeline(ctx, scheduler):
    level = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()  # importing the pipelines: notices that torchvision is missing
    from diffusers import StableDiffusionImg2ImgPipeline

    transformers.utils.logging.set_verbosity(level)
    pipe = StableDiffusionImg2ImgPipeline(vae=ctx["vae"], text_encoder=ctx["text_encoder"], tokenizer=ctx["tokenizer"],
                                          unet=ctx["unet"], scheduler=scheduler, safety_checker=None,
                                          feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_img2img(pipe, image, prompt_embeds, strength, steps, eta, posterior_noise, latent_noise, step_noise):
    """StableDiffusionImg2ImgPipeline.__call__ written out with diffusers' own pieces, the noise given.
    step_noise(i) gives DDIM's variance noise of step i (eta > 0). Returns a dict of tensors."""
    from diffusers import DDIMScheduler

    vae, unet, scheduler = pipe.vae, pipe.unet, pipe.scheduler
    sf = vae.config.scaling_factor
    dist = vae.encode(image).latent_dist
    init = (dist.mean + dist.std * posterior_noise) * sf
    scheduler.set_timesteps(steps, device="cpu")
    timesteps, _ = pipe.get_timesteps(steps, strength, "cpu")  # also scheduler.set_begin_index(t_start * order)
    latents = scheduler.add_noise(init, latent_noise, timesteps[:1])
    out = {"reference_latent": init, "timesteps": timesteps, "noised": latents, "steps": [], "step_noise": []}
    with taps.TapRecorder(unet) as rec:
        for i, t in enumerate(timesteps):
            model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
            noise_pred = unet(model_input, t, encoder_hidden_states=prompt_embeds).sample
            uncond, cond = noise_pred.chunk(2)
            noise_pred = uncond + GUIDANCE_SCALE * (cond - uncond)
            extra = {}
            if isinstance(scheduler, DDIMScheduler):
                extra["eta"] = eta
                if eta > 0:
                    extra["variance_noise"] = step_noise(i)
                    out["step_noise"].append(extra["variance_noise"])
            latents = scheduler.step(noise_pred, t, latents, **extra).prev_sample
            out["steps"].append(latents)
        out["taps"] = rec.taps(batch_index=1)
    out["taps_timestep"] = timesteps[-1:]
    out["final_latent"] = latents
    out["decoded"] = vae.decode(latents / sf).sample
    image_np = pipe.image_processor.postprocess(out["decoded"], output_type="np")  # (1, H, W, 3) float32 in [0, 1]
    out["image_np"] = image_np
    out["image"] = torch.from_numpy(image_np).permute(0, 3, 1, 2)
    out["image_u8"] = torch.from_numpy((image_np * 255).round().astype(np.float32)).permute(0, 3, 1, 2)
    return out


def img2img_self_check(ctx, case, image, prompt_embeds, seed):
    """The real StableDiffusionImg2ImgPipeline.__call__ with a seeded torch.Generator against run_img2img with the
    same noise, drawn from an identically seeded generator in the pipeline's order (posterior sample, latent noise,
    DDIM variance noise per step). Returns the largest differences."""
    kind, strength, steps, eta = IMG2IMG_CASES[case]
    pipe = img2img_pipeline(ctx, make_scheduler(kind, ctx["scheduler_config"]))
    seen = []

    def on_step_end(_pipe, _i, _t, kwargs):
        seen.append(kwargs["latents"].clone())
        return {}

    with taps.TapRecorder(pipe.unet) as rec, warnings.catch_warnings():
        # a [-1, 1] tensor is passed on unchanged (not normalised again), with a FutureWarning
        warnings.filterwarnings("ignore", message="Passing `image` as torch tensor with value range in",
                                category=FutureWarning)
        result = pipe(prompt=PROMPT, negative_prompt=NEGATIVE_PROMPT, image=image, strength=strength,
                      num_inference_steps=steps, guidance_scale=GUIDANCE_SCALE, eta=0.0 if eta is None else eta,
                      generator=torch.Generator().manual_seed(seed), output_type="np",
                      callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=["latents"])
        real_taps = rec.taps(batch_index=1)
    gen = torch.Generator().manual_seed(seed)
    shape = [1, 4, image.shape[2] // pipe.vae_scale_factor, image.shape[3] // pipe.vae_scale_factor]
    posterior_noise = torch.randn(shape, generator=gen)
    latent_noise = torch.randn(shape, generator=gen)
    mine = run_img2img(img2img_pipeline(ctx, make_scheduler(kind, ctx["scheduler_config"])), image, prompt_embeds,
                       strength, steps, eta, posterior_noise, latent_noise, lambda i: torch.randn(shape, generator=gen))
    assert len(seen) == len(mine["steps"])
    return {
        "image": float(np.abs(result.images - mine["image_np"]).max()),
        "latents": max((a - b).abs().max().item() for a, b in zip(seen, mine["steps"])),
        "taps": max((real_taps[k] - mine["taps"][k]).abs().max().item() for k in real_taps),
    }


def record_img2img(name, cfg, ctx):
    vae = ctx["vae"]
    gen = torch.Generator().manual_seed(cfg["seed"] * 10 + 6)
    height, width = cfg["records"]["img2img_image"]
    image = image_pattern(1, height, width)
    pipe = img2img_pipeline(ctx, ctx["scheduler"])
    with torch.no_grad():
        prompt_embeds, negative_embeds = pipe.encode_prompt(PROMPT, "cpu", 1, True, negative_prompt=NEGATIVE_PROMPT)
    prompt_embeds = torch.cat([negative_embeds, prompt_embeds])  # the pipeline's CFG batch: [uncond, cond]
    factor = pipe.vae_scale_factor
    assert height % factor == 0 and width % factor == 0
    shape = [1, vae.config.latent_channels, height // factor, width // factor]
    posterior_noise = torch.randn(shape, generator=gen, dtype=torch.float32)
    latent_noise = torch.randn(shape, generator=gen, dtype=torch.float32)
    recs = [
        Record("img2img.safetensors", "image", image, f"img2img input image (1, 3, {height}, {width}) in [-1, 1]"),
        Record("img2img.safetensors", "posterior_noise", posterior_noise,
               "given noise of the VAE posterior sample: init = (mean + std * posterior_noise) * scaling_factor"),
        Record("img2img.safetensors", "latent_noise", latent_noise,
               "given noise of scheduler.add_noise(init, latent_noise, timesteps[:1])"),
        Record("img2img.safetensors", "prompt_embeds", prompt_embeds,
               f"[negative {NEGATIVE_PROMPT!r}, prompt {PROMPT!r}] text-encoder last_hidden_state (pipeline "
               "encode_prompt + CFG concatenation), the UNet's encoder_hidden_states"),
    ]
    recs.append(Record("img2img.safetensors", "alphas_cumprod", ctx["scheduler"].alphas_cumprod,
                       "the schedulers' alphas_cumprod table (num_train_timesteps,), float32 as diffusers computes it"))
    reference_latent = None
    cases = {}
    for case in img2img_cases(cfg):
        kind, strength, steps, eta = IMG2IMG_CASES[case]
        pipe.scheduler = make_scheduler(kind, ctx["scheduler_config"])
        with torch.no_grad():
            out = run_img2img(pipe, image, prompt_embeds, strength, steps, eta, posterior_noise, latent_noise,
                              lambda i: torch.randn(shape, generator=gen, dtype=torch.float32))
        if reference_latent is None:
            reference_latent = out["reference_latent"]
            recs.append(Record("img2img.safetensors", "reference_latent", reference_latent,
                               "init latent: (posterior mean + std * posterior_noise) * scaling_factor"))
        assert torch.equal(out["reference_latent"], reference_latent)
        sched = pipe.scheduler
        n = len(out["timesteps"])
        recs += [
            Record("img2img.safetensors", f"{case}.timesteps", out["timesteps"].float(),
                   f"the {n} kept timesteps (get_timesteps({steps}, {strength}))"),
            Record("img2img.safetensors", f"{case}.noised", out["noised"],
                   "scheduler.add_noise(reference_latent, latent_noise, timesteps[:1]): the initial latents"),
        ]
        if steps == 10:
            recs += [Record("img2img.safetensors", f"{case}.step.{i}", s, f"latents after step {i} (t = "
                            f"{int(out['timesteps'][i])})") for i, s in enumerate(out["steps"])]
        recs += [
            Record("img2img.safetensors", f"{case}.final_latent", out["final_latent"], "latents after the last step"),
            Record("img2img.safetensors", f"{case}.decoded", out["decoded"],
                   "vae.decode(final_latent / scaling_factor).sample (raw, not clamped)"),
            Record("img2img.safetensors", f"{case}.image", out["image"],
                   "image_processor.postprocess(decoded, 'np'): clamp(decoded / 2 + 0.5, 0, 1), as (1, 3, H, W)"),
            Record("img2img.safetensors", f"{case}.image_u8", out["image_u8"],
                   "round(image * 255) (numpy_to_pil's 8-bit values, as float32)"),
        ]
        recs += [Record("img2img.safetensors", f"{case}.taps.{k}", v,
                        f"taps of the last step's UNet call, conditional element: {tap_members(ctx['unet'], k)}")
                 for k, v in out["taps"].items()]
        recs.append(Record("img2img.safetensors", f"{case}.taps_timestep", out["taps_timestep"].float(),
                           "timestep of the last step's UNet call (the taps' call)"))
        recs += [Record("img2img.safetensors", f"{case}.step_noise.{i}", s,
                        f"given DDIM variance noise of step {i} (eta {eta})") for i, s in enumerate(out["step_noise"])]
        resolved = {k: sched.config[k] for k in (
            "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type", "timestep_spacing",
            "steps_offset") if k in sched.config}
        if kind == "dpm":
            resolved.update({k: sched.config[k] for k in DPM_KWARGS})
            resolved.update({k: sched.config[k] for k in ("thresholding", "euler_at_final", "lambda_min_clipped",
                                                          "variance_type", "use_lu_lambdas", "final_sigmas_type")})
        else:
            resolved.update({k: sched.config[k] for k in ("set_alpha_to_one", "clip_sample", "thresholding",
                                                          "rescale_betas_zero_snr")})
        # JSON has no infinities (DPMSolverMultistepScheduler's lambda_min_clipped is -inf): write them as strings
        resolved = {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v) for k, v in resolved.items()}
        assert torch.equal(sched.alphas_cumprod, ctx["scheduler"].alphas_cumprod)
        cases[case] = {
            "scheduler": type(sched).__name__,
            "from_config": "scheduler/scheduler_config.json",
            "kwargs": DPM_KWARGS if kind == "dpm" else DDIM_KWARGS,
            "resolved_config": resolved,
            "strength": strength,
            "num_inference_steps": steps,
            "eta": eta,
            "timesteps": [int(t) for t in out["timesteps"]],
            "step_records": steps == 10,
            "step_noise_records": len(out["step_noise"]),
            "final_latent_absmax": round(out["final_latent"].abs().max().item(), 3),
        }
        if kind == "dpm":
            cases[case]["sigmas"] = [float(x) for x in sched.sigmas]
        # the gap between PyTorch's two attention paths over the whole run (UNet / VAE / text encoder)
        other = img2img_pipeline({**ctx, "unet": ctx["unet_default_attn"], "vae": ctx["vae_default_attn"]},
                                 make_scheduler(kind, ctx["scheduler_config"]))
        noises = iter(out["step_noise"])
        with torch.no_grad():
            other_embeds = torch.cat(img2img_pipeline({**ctx, "text_encoder": ctx["text_encoder_sdpa"]},
                                                      ctx["scheduler"]).encode_prompt(
                PROMPT, "cpu", 1, True, negative_prompt=NEGATIVE_PROMPT)[::-1])
            alt = run_img2img(other, image, other_embeds, strength, steps, eta, posterior_noise, latent_noise,
                              lambda i: next(noises))
        gaps = {k: (alt[k] - out[k]).abs().max().item() for k in ("final_latent", "decoded", "image")}
        print(f"  img2img {case}: {n} steps, |final latent| max {out['final_latent'].abs().max().item():.3g}; "
              "AttnProcessor vs default processors: " + ", ".join(f"{k} {v:.3g}" for k, v in gaps.items()))
    with torch.no_grad():
        for i, case in enumerate(IMG2IMG_SELF_CHECK):
            diffs = img2img_self_check(ctx, case, image, prompt_embeds, cfg["seed"] * 10 + 7 + i)
            print(f"  img2img self-check {case} (real pipeline __call__ vs the explicit loop): "
                  + ", ".join(f"{k} {v:.3g}" for k, v in diffs.items()))
            assert all(v <= 1e-5 for v in diffs.values()), diffs
    ctx["img2img_manifest"] = {
        "prompt": PROMPT,
        "negative_prompt": NEGATIVE_PROMPT,
        "guidance_scale": GUIDANCE_SCALE,
        "image_size": [height, width],
        "latent_size": shape[2:],
        "vae_scale_factor": factor,
        "cases": cases,
    }
    return recs


RECORDERS = [record_tokens, record_text, record_vae, record_unet, record_img2img]

README_TEXT = """# Parity fixtures (generated: do not edit)

Written by `tools/make_fixtures.py` (see its docstring and `tools/README.md`); `--check` rebuilds them in a temporary
folder and compares byte for byte. Every number and record is also listed in `<config>/expected/manifest.json`.

Each `<config>/` is a diffusers-layout folder of tiny random-weight components (`model_index.json`: class
StableDiffusionPipeline, listing only the components present; `tokenizer/`, `text_encoder/`, `vae/`, `unet/`,
`scheduler/`; no safety_checker / feature_extractor entries) plus `expected/` with the reference outputs of
transformers / diffusers (PyTorch, CPU, float32).

## Weights are float16

To stay within the size budget every weight file stores **F16** tensors (`text_encoder/config.json` says
`"dtype": "float16"`; diffusers' `vae/config.json` and `unet/config.json` have no dtype field).
The weights were drawn in float32, rounded to float16 and saved; all reference outputs were computed in **float32**
by the models reloaded from these folders with `from_pretrained(..., torch_dtype=torch.float32)`, i.e. with the
fp16-rounded weights upcast to float32. An engine that upcasts F16 weights to float32 at load time and computes in
float32 must reproduce the records up to float32 rounding; for scale, PyTorch's own two attention paths (eager vs
SDPA in the text encoder, AttnProcessor vs AttnProcessor2_0 in the VAE and the UNet) differ by up to about 3e-6 on
the text / VAE records and 5e-6 on the UNet outputs, whose magnitudes are O(1) (up to about 10 in the VAE mid blocks,
about 14 inside the UNet). Note that transformers 5 loads `text_encoder/` as float16 unless asked for float32,
diffusers loads `vae/` and `unet/` as float32.

The img2img runs amplify such differences: guidance 7.5 on a random UNet drives the latents to |x| ~ 10 (up to ~70
in the strength-1.0 DPM runs, whose x0 predictions divide by alpha ~ 0.07 at t = 999). Running them with PyTorch's
other attention paths (SDPA text encoder, AttnProcessor2_0 UNet and VAE) changes `final_latent` by up to 1.2e-4
(relative 2e-6), `decoded` by up to 1e-5 and `image` by up to 5e-6; `image_u8` may then differ by 1 where
image * 255 lies near a half-integer. Compare img2img latents relative to their largest magnitude.

## Configurations

{table}

Common to all: CLIP text encoders with max_position_embeddings 77, attention dropout 0; VAEs with in/out channels
3, latent_channels 4, act_fn silu, GroupNorm eps 1e-6 everywhere (hard-coded in diffusers' Encoder / Decoder, not
in config.json), mid-block attention on, quant_conv and post_quant_conv present, shift_factor null.
UNets (UNet2DConditionModel): in/out channels 4, act_fn silu, 4 blocks (every down block but the last downsamples,
every up block but the last upsamples), conv_in / conv_out 3x3, downsample_padding 1, mid block
UNetMidBlock2DCrossAttn, one transformer layer per attention (transformer_layers_per_block 1), GEGLU feed-forward,
time_embedding_type positional, no class / addition embeddings, only_cross_attention false, upcast_attention false,
resnet_time_scale_shift default, center_input_sample false, dropout 0. cross_attention_dim = the text encoder's
hidden size. `expected/manifest.json` has the full `unet/config.json` and derived numbers under
`numbers.unet`, the scheduler config under `numbers.scheduler`, and the img2img settings under `img2img`.

| UNet | {unet_head} |
|---|{unet_rule}
{unet_table}

## Records (`expected/`)

- `tokens.json`: 33 awkward strings, their 77 ids from `tokenizer(text, padding="max_length", max_length=77,
  truncation=True)`, the tokens up to the eos, `length` (non-pad tokens incl. bos / eos), `truncated`.
  The reference is transformers 5's CLIPTokenizer (tokenizers backend, no ftfy). Five strings (`cjk`, `emoji`,
  `zero_width`, `control`, `case_special`) tokenize differently with transformers 4.x's slow CLIPTokenizer; they carry
  a `transformers4_differs` field with the reason. All other strings agree with transformers 4.57.6.
- `text.safetensors`: `input_ids` (4 x 77, as float), `last_hidden_state` (after final_layer_norm), `pooler_output`,
  and for row 0 only: `debug.embeddings`, `debug.layers.0.self_attn` (before the residual add), `debug.layers.0`,
  and `debug.layers.<n-2>` (the penultimate layer) when it is not layer 0.
- `vae.safetensors`: `image` (B, 3, H, W) in [-1, 1]; `moments` (quant_conv output, logvar NOT clamped);
  `posterior_mean`, `posterior_logvar` (clamped to [-30, 20]), `posterior_std`; `noise`; `sample` = mean + std *
  noise; `latent` = sample * scaling_factor; `decoded` = decode(latent / scaling_factor); `latent2` / `decoded2`
  (an independent latent of another shape); debug taps for batch element 0: `debug.encoder.down_blocks.0`,
  `debug.encoder.mid_block`, `debug.encoder.out` (before quant_conv), `debug.decoder.post_quant_conv`,
  `debug.decoder.mid_block`. `odd` also has `image_odd` (21 x 35) with `posterior_mean_odd` / `posterior_logvar_odd`.
- `unet.safetensors` (the UNet alone): `sample` (2, 4, h, w) and `encoder_hidden_states` (2, 77, cross_attention_dim),
  both standard normal; `out.t<t>` = unet(sample, t, encoder_hidden_states).sample for t in 1, 33, 500, 999 (t a
  scalar int64 tensor: the same timestep for both batch elements). For t = 999, batch element 0 only, shape (1, ...):
  `debug.t999.time_embedding` (after time_embedding.linear_2), `debug.t999.conv_in`, `debug.t999.down_blocks.<i>`
  (element 0 of the block's output tuple: after its downsampler if any), `debug.t999.mid_block`,
  `debug.t999.up_blocks.<j>` (after its upsampler if any), and for down block 0 (the first CrossAttnDownBlock2D in
  every config) `debug.t999.down_blocks.0.resnets.0` and `debug.t999.down_blocks.0.attentions.0` (the
  Transformer2DModel output, residual included). `taps.t1.stride<s>` / `taps.t999.stride<s>`: the feature taps of
  `tools/taps.py` (below) of the t = 1 / t = 999 calls, conditional element (batch index 1), shape (1, C_s, h_s, w_s).
- `img2img.safetensors`: StableDiffusionImg2ImgPipeline runs (prompt "a photo of an astronaut riding a horse",
  negative prompt "", guidance 7.5) written out step by step with GIVEN noise. Shared: `image` (1, 3, H, W) in
  [-1, 1]; `posterior_noise`, `latent_noise` (1, 4, h, w); `prompt_embeds` (2, 77, hidden) = [negative, prompt]
  last_hidden_state as the pipeline's encode_prompt + CFG concatenation gives it; `reference_latent` = (posterior
  mean + std * posterior_noise) * scaling_factor; `alphas_cumprod` (1000,), the schedulers' table (an addition, for
  checking a scheduler on its own). Per case `<case>.`: `timesteps` (the kept timesteps, as float), `noised`
  (add_noise(reference_latent, latent_noise, timesteps[0])), `step.<i>` (latents after step i; the n10 cases only),
  `final_latent`, `decoded` (vae.decode(final_latent / scaling_factor), raw), `image` (clamp(decoded * 0.5 + 0.5, 0,
  1), the pipeline's output_type "np" image as (1, 3, H, W)), `image_u8` (round(image * 255), numpy's round half to
  even as diffusers' numpy_to_pil, as float), `taps.stride<s>` (taps of the LAST step's UNet call, conditional
  element), `taps_timestep` (1,) (that call's timestep), and `step_noise.<i>` (DDIM's variance noise of step i) in
  the eta > 0 cases. Cases: `dpm-s0.65-n10`, `dpm-s1.0-n10`, `ddim-s0.3-n10-eta0.0`, `ddim-s0.65-n10-eta0.3` in every
  config, plus `dpm-s0.3-n30` in `sd2-like` (no step records). `s` is the strength, `n` num_inference_steps. DPM:
  `DPMSolverMultistepScheduler.from_config(scheduler/scheduler_config.json, algorithm_type="dpmsolver++",
  solver_order=2, solver_type="midpoint", lower_order_final=True, final_sigmas_type="zero",
  timestep_spacing="linspace", use_karras_sigmas=False)`; DDIM: `DDIMScheduler.from_config(scheduler/
  scheduler_config.json, timestep_spacing="leading")` (steps_offset 1, set_alpha_to_one false, clip_sample false and
  prediction_type from the folder). manifest.json `img2img.cases` has, per case, the kwargs, the resolved scheduler
  config, the timesteps and (DPM) the sigmas. The generator checks the explicit loop against the real
  `StableDiffusionImg2ImgPipeline.__call__` (seeded torch.Generator, the same noise drawn in the pipeline's order:
  posterior sample, latent noise, DDIM variance noise per step) for `dpm-s0.65-n10` and `ddim-s0.65-n10-eta0.3`:
  images, per-step latents and taps agree exactly (difference 0).

## Feature taps (`tools/taps.py`)

Forward-hook outputs of every `down_blocks[i]` (element 0 of its output tuple: after its downsampler), `mid_block`
and every `up_blocks[j]` (after its upsampler). Level = number of downsamplings applied: down block i: the number
of down blocks 0..i with a downsampler; mid block: the deepest level L; up block j: L minus the number of up blocks
0..j with an upsampler. Stride = 2 ** level. Taps of one stride are concatenated along channels in forward order
(down blocks, mid, up blocks) as `stride<s>`; all taps of a stride have the same spatial size (also for `odd`'s
6 x 10 latent, thanks to the upsample-size forwarding). One batch element: index 1 (conditional) of a CFG batch
[uncond, cond], index 0 for a batch of 1. SD 1.x / 2.x (320/640/1280/1280): stride1 960, stride2 1600, stride4
1920, stride8 3840 channels.

## Tokenizer folders

`tokenizer/` has the four files of the published SD 1.x / 2.x folders, in their format (AddedToken dicts, pad_token
`<|endoftext|>` or `!`, model_max_length 77), but a SMALL real vocabulary: the 256 byte-level tokens in CLIP's
bytes_to_unicode order, the same 256 with `</w>`, one token per merge for the first N merges of the real CLIP
merges file (open-clip-torch's bpe_simple_vocab_16e6.txt; manifest.json has its sha256), then `<|startoftext|>`,
`<|endoftext|>`. So every id below 512 + N is the real CLIP id of the same token; bos / eos are 512 + N and 513 + N
(49406 / 49407 in the real vocabulary); every string stays encodable (byte tokens) even where merges are missing.

## What an implementation must match

The generator checks this section: `spec_check()` recomputes every config's text, VAE, UNet and img2img records
from the saved files with plain tensor ops following the points below, and fails above 1e-5 (for the UNet and img2img
records: 1e-5 relative to max(1, the record's largest magnitude)). It reaches at most about 3e-6. The img2img steps
are recomputed from the recorded latents of the previous step (`noised`, `step.<i-1>`), with noise_pred from the
plain-op UNet; `dpm-s0.3-n30`, without step records, is recomputed end to end.

- Text encoder weights use the published key names `text_model.embeddings.*`, `text_model.encoder.layers.N.*`,
  `text_model.final_layer_norm.*` (transformers 5 itself would save them without `text_model.`; it loads both).
  There is no `text_model.embeddings.position_ids` tensor (older published checkpoints have one, int64: ignore it).
  `text_encoder/config.json` is transformers 5's: the dtype is under `dtype` (transformers 4 wrote `torch_dtype`).
- CLIP text: embeddings = token_embedding[ids] + position_embedding[0..76]; pre-LN layers
  `x += out_proj(attn(layer_norm1(x)))`, `x += fc2(act(fc1(layer_norm2(x))))`; then final_layer_norm.
  Attention: heads of hidden/heads, scores q.k^T * head_dim^-0.5, causal mask (position i sees j <= i) added
  before a float32 softmax; NO padding mask (Stable Diffusion passes none), so pad positions are ordinary tokens.
  `quick_gelu` is x * sigmoid(1.702 x); `gelu` is the exact erf GELU (not tanh). LayerNorm eps from config
  (`odd` uses 1e-3 on purpose). pooler_output: first position of eos_token_id in each row.
- VAE encoder: conv_in 3x3 (pad 1); per level `layers_per_block` ResnetBlock2D (GroupNorm, SiLU, conv3x3, GroupNorm,
  SiLU, conv3x3, plus a 1x1 `conv_shortcut` when channels change; output = shortcut + h), then, except on the last
  level, Downsample2D = zero pad (left 0, right 1, top 0, bottom 1) and conv3x3 stride 2 padding 0; mid block =
  resnet, attention, resnet; GroupNorm, SiLU, conv_out 3x3 to 2 x latent_channels; quant_conv 1x1.
- VAE mid-block attention: ONE head of dim C (C = last block_out_channels); GroupNorm (same groups, eps 1e-6) on the
  input, flatten to (B, H*W, C), to_q / to_k / to_v Linear(C, C) with bias, softmax(q k^T / sqrt(C)) v, to_out.0
  Linear, back to (B, C, H, W), plus the un-normalised input (residual), divided by 1.0.
- Posterior: moments split in half along channels (mean first), logvar clamped to [-30, 20], std = exp(0.5 logvar).
  `odd` drives latent channel 1's logvar around -30 so that part of it is clamped.
- VAE decoder: post_quant_conv 1x1, conv_in 3x3, mid block, levels in reverse channel order with
  `layers_per_block + 1` resnets each, Upsample2D (nearest x2 then conv3x3 pad 1) on all but the last, GroupNorm,
  SiLU, conv_out 3x3. No clamp or tanh on the output. Latents are divided by scaling_factor before decoding.

### UNet (UNet2DConditionModel)

- Keys: `conv_in`, `time_embedding.linear_1`, `time_embedding.linear_2`, `down_blocks.<i>.resnets.<k>.*`,
  `down_blocks.<i>.attentions.<k>.*` (CrossAttn blocks only), `down_blocks.<i>.downsamplers.0.conv` (i < 3),
  `mid_block.resnets.0`, `mid_block.attentions.0`, `mid_block.resnets.1`, `up_blocks.<j>.resnets.<k>.*`,
  `up_blocks.<j>.attentions.<k>.*`, `up_blocks.<j>.upsamplers.0.conv` (j < 3), `conv_norm_out`, `conv_out`.
  Resnet: `norm1`, `conv1`, `time_emb_proj`, `norm2`, `conv2`, `conv_shortcut` (only when in != out channels: in
  up blocks always). Transformer2DModel: `norm`, `proj_in`, `transformer_blocks.0.{norm1, attn1, norm2, attn2,
  norm3, ff.net.0.proj, ff.net.2}`, `proj_out`; attentions `to_q`, `to_k`, `to_v` (NO bias), `to_out.0` (bias).
- Timestep embedding (diffusers' Timesteps + get_timestep_embedding): dim = block_out_channels[0], half = dim // 2,
  freq_k = exp(-ln(10000) * k / (half - freq_shift)) for k = 0 .. half - 1 (freq_shift is get_timestep_embedding's
  downscale_freq_shift; `odd` uses 1), arg_k = t * freq_k, emb = [sin(arg), cos(arg)], and with flip_sin_to_cos
  true [cos(arg), sin(arg)] (`odd`: false). diffusers computes it in float32 (float32(-ln 10000) * k, divided,
  exp, product, sin / cos all float32); arguments reach ~1000, so one ulp of freq_k moves sin / cos by up to ~6e-5
  at t = 999 with SD's 320 channels (up to ~5e-6 with these 8- and 12-channel embeddings): torch's float32 exp is
  not always correctly rounded, and float64 arithmetic differs from torch by about as much. The timestep is the
  same for every batch element. Then time_embedding: linear_1 (dim -> 4 dim), SiLU, linear_2 (4 dim -> 4 dim) = temb
  (time_embed_dim = 4 * block_out_channels[0]); no activation after linear_2 (`debug.t999.time_embedding`).
- ResnetBlock2D: h = conv1(SiLU(GroupNorm(x))); h += time_emb_proj(SiLU(temb))[:, :, None, None]; h =
  conv2(SiLU(GroupNorm(h))); out = (conv_shortcut(x) or x) + h (output_scale_factor 1). Resnet GroupNorms and
  conv_norm_out use norm_num_groups and **norm_eps from config.json** (`odd`: 1e-4).
- Down path: h = conv_in(sample) (3x3, pad 1); skips = [h]. Per down block i: layers_per_block times (resnet, then
  the transformer if CrossAttnDownBlock2D; append h to skips); then, for i < 3, Downsample2D = conv 3x3 stride 2
  **padding 1** (symmetric; unlike the VAE's asymmetric pad) and append h to skips. Channels: block_out_channels[i].
- Mid block: resnet, transformer (heads = the LAST attention_head_dim entry), resnet; channels block_out_channels[-1].
- Up path: up block j has channels reversed(block_out_channels)[j] and heads reversed(heads)[j]; it runs
  layers_per_block + 1 times: h = concat([h, skips.pop()], channels) (h first, the LAST skip first), resnet, then
  the transformer if CrossAttnUpBlock2D. For j < 3, Upsample2D: nearest-neighbour resize to the spatial size of the
  next skip connection (skips[-1]), then conv 3x3 pad 1. For latents whose height and width are multiples of 8 that
  is exactly x2 (index >> 1); otherwise diffusers forwards `upsample_size` to every up block and
  F.interpolate(mode="nearest", size=...) takes source index floor(dst * in / out) (float32 in / out, clamped to
  in - 1): `odd`'s 6 x 10 latent goes 6x10 -> 3x5 -> 2x3 -> 1x2 down, and back up 1x2 -> 2x3 (rows 0 0, cols 0 0 1)
  -> 3x5 (rows 0 0 1, cols 0 0 1 1 2) -> 6x10.
- Output: conv_out(SiLU(GroupNorm(h))) (conv_norm_out, eps norm_eps), 3x3 pad 1, 4 channels.
- Conditioning: norm_num_groups were chosen so that every GroupNorm group holds at least 4 values, also on the
  1 x 1 deepest level of an 8 x 8 latent. With 2-value groups (`sd1-like` with 8 groups) float32 rounding
  differences of 1e-6 grew to 1e-3 in the outputs; as they are, the plain-op recomputation stays within 2e-6.
- attention_head_dim is the NUMBER OF HEADS (diffusers' legacy naming): an int applies to every block, a list is
  per down block (mid: last entry, up: reversed). Head dim = channels / heads. `sd2-like` uses [2, 2, 4, 6]: 4
  channels per head everywhere, as SD 2's [5, 10, 20, 20] gives 64.
- Transformer2DModel (continuous input): residual = x; h = GroupNorm(norm_num_groups, **eps 1e-6**, affine)(x);
  use_linear_projection false (`sd1-like`, SD 1.x): proj_in is a Conv2d 1x1 (weight (C, C, 1, 1)) applied BEFORE
  flattening; true (`sd2-like`, `odd`, SD 2.x): proj_in is a Linear (weight (C, C)) applied AFTER flattening.
  Flattening: (B, C, H, W) -> (B, H*W, C), row-major over (H, W). One BasicTransformerBlock; proj_out mirrors
  proj_in (Linear then unflatten, or unflatten then conv 1x1); out = h + residual.
- BasicTransformerBlock: LayerNorms norm1 / norm2 / norm3 with **eps 1e-5** (Transformer2DModel's default; the UNet's
  norm_eps is not passed on) and affine weights; h += attn1(n1, n1) with n1 = norm1(h) (self-attention); h +=
  attn2(norm2(h), encoder_hidden_states) (cross-attention: keys / values from the 77 text tokens, to_k / to_v map
  cross_attention_dim -> C); h += ff(norm3(h)). Attention: q, k, v projections without bias, split into heads,
  softmax(q k^T * head_dim^-0.5) v in float32, no mask, heads concatenated, to_out.0 (with bias).
- GEGLU feed-forward: ff.net.0.proj Linear(C, 8C) with bias; split the output in two halves along the last axis:
  value = first 4C, gate = last 4C; value * GELU(gate) with the exact erf GELU; ff.net.2 Linear(4C, C) with bias.

### Schedulers and img2img

- alphas_cumprod (the `alphas_cumprod` record): betas = linspace(sqrt(0.00085), sqrt(0.012), 1000) ** 2 ("scaled_
  linear"), alphas_cumprod = cumprod(1 - betas). diffusers computes it in float32; float64 arithmetic rounded to
  float32 differs by up to ~1e-6 relative (harmless here; the spec check uses it).
- get_timesteps(N, strength): init_timestep = min(int(N * strength), N) (a double product, truncated: 10 * 0.3 =
  3.0000000000000004 -> 3), t_start = N - init_timestep, timesteps = all_timesteps[t_start:], and the scheduler's step
  index starts at t_start (set_begin_index). scale_model_input is the identity for both schedulers.
- Each step: noise_pred = unet(concat([x, x]), t, prompt_embeds) (batch [uncond, cond]); noise_pred = uncond + 7.5 *
  (cond - uncond); x = scheduler.step(noise_pred, t, x).
- DDIM, timestep_spacing "leading": all_timesteps = (N - 1 - i) * (1000 // N) + steps_offset, i = 0 .. N-1 (N = 10:
  901, 801, ..., 1). add_noise: sqrt(a) * init + sqrt(1 - a) * noise with a = alphas_cumprod[timesteps[0]]. Step at
  t: prev = t - 1000 // N; a_t = alphas_cumprod[t]; a_prev = alphas_cumprod[prev] if prev >= 0 else
  alphas_cumprod[0] (set_alpha_to_one false). epsilon: x0 = (x - sqrt(1 - a_t) e) / sqrt(a_t), eps = e; v_prediction
  (`odd`): x0 = sqrt(a_t) x - sqrt(1 - a_t) v, eps = sqrt(a_t) v + sqrt(1 - a_t) x. No clipping (clip_sample false).
  std = eta * sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)); x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev -
  std^2) eps, plus std * step_noise.<i> when eta > 0.
- DPM-Solver++ 2M (midpoint), timestep_spacing "linspace": all_timesteps = round(linspace(0, 999, N + 1)) reversed,
  without its last element, with numpy's round half to even (N = 10: 999, 899, 799, 699, 599, 500, 400, 300, 200, 100:
  499.5 -> 500). sigma(t) = sqrt((1 - alphas_cumprod[t]) / alphas_cumprod[t]) (float32); sigmas = [sigma(t) for
  all_timesteps] + [0] (final_sigmas_type "zero"; manifest.json lists them). For a sigma s: alpha_s = 1 / sqrt(s^2 +
  1), sigma_s = s * alpha_s, lambda_s = ln(alpha_s) - ln(sigma_s). add_noise: alpha * init + sigma * noise at sigmas[
  t_start]. Step k = t_start + i (current s0 = sigmas[k], next t = sigmas[k + 1]): x0 = (x - sigma_s0 e) / alpha_s0
  (epsilon) or alpha_s0 x - sigma_s0 v (v_prediction); h = lambda_t - lambda_s0. First order — the first step of the
  run (even when t_start > 0) and the last step (final_sigmas_type "zero" forces it): x = (sigma_t / sigma_s0) x -
  alpha_t (exp(-h) - 1) x0. Second order otherwise, with x0_prev of the previous step and s1 = sigmas[k - 1]: r0 =
  (lambda_s0 - lambda_s1) / h, D1 = (x0 - x0_prev) / r0, x = (sigma_t / sigma_s0) x - alpha_t (exp(-h) - 1) x0 - 0.5
  alpha_t (exp(-h) - 1) D1. The last step has sigma 0: alpha_t = 1, sigma_t = 0, lambda_t = +inf, exp(-h) = 0, so x =
  x0 (keep IEEE infinities, or special-case it).
- Init and output: reference_latent = (posterior mean + exp(0.5 * clamped logvar) * posterior_noise) *
  scaling_factor; decoded = VAE decode of final_latent / scaling_factor; image = clamp(decoded * 0.5 + 0.5, 0, 1)
  (no other processing; diffusers returns it as (1, H, W, 3)); image_u8 = round half to even (image * 255).
"""


def write_readme(out):
    rows = ["| | " + " | ".join(CONFIGS) + " |", "|---|" + "---|" * len(CONFIGS)]

    def row(label, fn):
        rows.append(f"| {label} | " + " | ".join(str(fn(c)) for c in CONFIGS.values()) + " |")

    row("tokenizer merges / vocab_size", lambda c: f"{c['tokenizer']['merges']} / {512 + c['tokenizer']['merges'] + 2}")
    row("bos / eos ids", lambda c: f"{512 + c['tokenizer']['merges']} / {513 + c['tokenizer']['merges']}")
    row("pad token (id)", lambda c: "`{}` ({})".format(c["tokenizer"]["pad"].replace("|", "\\|"),
                                                    0 if c["tokenizer"]["pad"] == "!" else 513 + c["tokenizer"]["merges"]))
    row("text hidden / heads / layers",
        lambda c: "{hidden_size} / {num_attention_heads} / {num_hidden_layers}".format(**c["text_encoder"]))
    row("text intermediate", lambda c: c["text_encoder"]["intermediate_size"])
    row("text hidden_act", lambda c: c["text_encoder"]["hidden_act"])
    row("text layer_norm_eps", lambda c: c["text_encoder"]["layer_norm_eps"])
    row("vae block_out_channels", lambda c: tuple(c["vae"]["block_out_channels"]))
    row("vae layers_per_block", lambda c: c["vae"]["layers_per_block"])
    row("vae norm_num_groups", lambda c: c["vae"]["norm_num_groups"])
    row("vae scaling_factor", lambda c: c["vae"]["scaling_factor"])
    row("image (B, H, W)", lambda c: tuple(c["records"]["image"]))
    row("latent2 shape", lambda c: tuple(c["records"]["latent2"]))
    row("text batch (tokens.json names)", lambda c: ", ".join(c["records"]["text_strings"]))

    urows = []

    def urow(label, fn):
        urows.append(f"| {label} | " + " | ".join(str(fn(c)) for c in CONFIGS.values()) + " |")

    def short(types):
        return ", ".join(t.replace("CrossAttnDownBlock2D", "CrossAttnDown").replace("CrossAttnUpBlock2D", "CrossAttnUp")
                         .replace("DownBlock2D", "Down").replace("UpBlock2D", "Up") for t in types)

    def heads(c):
        h = c["unet"]["attention_head_dim"]
        return h if isinstance(h, int) else tuple(h)

    def head_dims(c):
        u = c["unet"]
        h = u["attention_head_dim"]
        h = h if isinstance(h, list) else [h] * len(u["block_out_channels"])
        return tuple(ch // n for ch, n in zip(u["block_out_channels"], h))

    urow("block_out_channels", lambda c: tuple(c["unet"]["block_out_channels"]))
    urow("down_block_types", lambda c: short(c["unet"]["down_block_types"]))
    urow("up_block_types", lambda c: short(c["unet"]["up_block_types"]))
    urow("layers_per_block", lambda c: c["unet"]["layers_per_block"])
    urow("norm_num_groups (channels per group)", lambda c: "{} ({})".format(
        c["unet"]["norm_num_groups"], ", ".join(str(ch // c["unet"]["norm_num_groups"])
                                                for ch in sorted(set(c["unet"]["block_out_channels"])))))
    urow("norm_eps (resnets, conv_norm_out)", lambda c: c["unet"]["norm_eps"])
    urow("attention_head_dim (= heads)", heads)
    urow("head dim per down block", head_dims)
    urow("use_linear_projection", lambda c: str(c["unet"]["use_linear_projection"]).lower())
    urow("flip_sin_to_cos / freq_shift",
         lambda c: f"{str(c['unet']['flip_sin_to_cos']).lower()} / {c['unet']['freq_shift']}")
    urow("cross_attention_dim", lambda c: c["text_encoder"]["hidden_size"])
    urow("time_embed_dim (sinusoid dim)",
         lambda c: f"{4 * c['unet']['block_out_channels'][0]} ({c['unet']['block_out_channels'][0]})")
    urow("tap channels (stride 1 / 2 / 4 / 8)",
         lambda c: " / ".join(str(v) for v in taps.tap_channels({**c["unet"]}).values()))
    urow("unet.safetensors sample", lambda c: tuple(c["records"]["unet_sample"]))
    urow("img2img image H x W (latent)", lambda c: "{} x {} ({} x {})".format(
        *c["records"]["img2img_image"],
        *(s // 2 ** (len(c["vae"]["block_out_channels"]) - 1) for s in c["records"]["img2img_image"])))
    urow("scheduler/ (prediction_type)",
         lambda c: f"{c['scheduler']['class']} ({c['scheduler']['config']['prediction_type']})")
    urow("img2img cases", lambda c: ", ".join(img2img_cases(c)))
    write_readme_file = os.path.join(out, "README.md")
    text = README_TEXT.replace("{table}", "\n".join(rows))
    text = text.replace("{unet_head}", " | ".join(CONFIGS)).replace("{unet_rule}", "---|" * len(CONFIGS))
    text = text.replace("{unet_table}", "\n".join(urows))
    with open(write_readme_file, "w", encoding="utf-8") as f:
        f.write(text)


TRANSFORMERS4_SCRIPT = r"""
import json, sys
import transformers
from transformers import CLIPTokenizer
assert transformers.__version__.startswith("4."), transformers.__version__
folder, texts = sys.argv[1], json.load(sys.stdin)
tok = CLIPTokenizer.from_pretrained(folder)
assert tok.fix_text is None, "ftfy is installed in the transformers 4 environment"
print(json.dumps({"version": transformers.__version__,
                  "ids": [tok(t, padding="max_length", max_length=77, truncation=True)["input_ids"] for t in texts]}))
"""


def crosscheck_transformers4(python, root, names):
    """Tokenize every corpus string with transformers 4.x's slow CLIPTokenizer (in another interpreter) and check
    that exactly the strings of TRANSFORMERS4_DIFFERS give different ids. Changes no file."""
    import subprocess

    texts = [t for _, t in STRINGS]
    for name in names:
        folder = os.path.join(root, name, "tokenizer")
        with open(os.path.join(root, name, "expected", "tokens.json"), encoding="utf-8") as f:
            ours = {e["name"]: e["ids"] for e in json.load(f)["strings"]}
        res = subprocess.run([python, "-c", TRANSFORMERS4_SCRIPT, folder], input=json.dumps(texts), capture_output=True,
                             text=True, check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        theirs = json.loads(res.stdout.strip().splitlines()[-1])
        differ = {k for (k, _), ids in zip(STRINGS, theirs["ids"]) if ours[k] != ids}
        print(f"  {name}: transformers {theirs['version']} slow CLIPTokenizer differs on {sorted(differ)}")
        if differ != set(TRANSFORMERS4_DIFFERS):
            sys.exit(f"{name}: expected the differences {sorted(TRANSFORMERS4_DIFFERS)}, got {sorted(differ)}")

# --------------------------------------------------------------------------------------------------------------------
# Executable spec: recompute the main records from the saved files with plain tensor ops, following parity/README.md
# ("What an implementation must match"), and fail if the README's description is not enough to reproduce them.

SPEC_TOLERANCE = 1e-5


def spec_unet(folder):
    """A plain-tensor-op UNet2DConditionModel from the saved unet/ folder, following parity/README.md. Calling it
    returns (output, intermediates by module name)."""
    import torch.nn.functional as F
    from safetensors.torch import load_file

    with open(os.path.join(folder, "unet", "config.json")) as f:
        c = json.load(f)
    weights = load_file(os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
    w = {k: v.float() for k, v in weights.items()}
    channels, n, lpb = c["block_out_channels"], len(c["block_out_channels"]), c["layers_per_block"]
    heads = c["attention_head_dim"] if isinstance(c["attention_head_dim"], list) else [c["attention_head_dim"]] * n
    groups, eps = c["norm_num_groups"], c["norm_eps"]

    def lin(t, name):
        t = t @ w[name + ".weight"].T
        return t + w[name + ".bias"] if name + ".bias" in w else t

    def conv(t, name, **kw):
        return F.conv2d(t, w[name + ".weight"], w[name + ".bias"], **kw)

    def gn(t, name, e):
        return F.group_norm(t, groups, w[name + ".weight"], w[name + ".bias"], e)

    def ln(t, name):
        return F.layer_norm(t, (t.shape[-1],), w[name + ".weight"], w[name + ".bias"], 1e-5)

    def timestep_embedding(t, batch):
        dim = channels[0]
        half = dim // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32) / (half - c["freq_shift"])
        args = torch.tensor([float(t)], dtype=torch.float32)[:, None] * torch.exp(exponent)[None, :]
        emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
        if c["flip_sin_to_cos"]:
            emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
        if dim % 2:
            emb = F.pad(emb, (0, 1))
        return emb.expand(batch, dim)

    def resnet(x, name, temb):
        h = conv(F.silu(gn(x, name + ".norm1", eps)), name + ".conv1", padding=1)
        h = h + lin(F.silu(temb), name + ".time_emb_proj")[:, :, None, None]
        h = conv(F.silu(gn(h, name + ".norm2", eps)), name + ".conv2", padding=1)
        return (conv(x, name + ".conv_shortcut") if name + ".conv_shortcut.weight" in w else x) + h

    def attention(x, context, name, nh):
        q, k, v = lin(x, name + ".to_q"), lin(context, name + ".to_k"), lin(context, name + ".to_v")
        b, nq, inner = q.shape
        d = inner // nh
        q, k, v = (m.view(b, -1, nh, d).transpose(1, 2) for m in (q, k, v))
        a = torch.softmax(q @ k.transpose(-1, -2) * d**-0.5, dim=-1) @ v
        return lin(a.transpose(1, 2).reshape(b, nq, inner), name + ".to_out.0")

    def transformer(x, name, nh, ehs):
        b, ch, hh, ww = x.shape
        h = gn(x, name + ".norm", 1e-6)
        if c["use_linear_projection"]:
            h = lin(h.permute(0, 2, 3, 1).reshape(b, hh * ww, ch), name + ".proj_in")
        else:
            h = conv(h, name + ".proj_in").permute(0, 2, 3, 1).reshape(b, hh * ww, ch)
        p = name + ".transformer_blocks.0"
        n1 = ln(h, p + ".norm1")
        h = attention(n1, n1, p + ".attn1", nh) + h
        h = attention(ln(h, p + ".norm2"), ehs, p + ".attn2", nh) + h
        value, gate = lin(ln(h, p + ".norm3"), p + ".ff.net.0.proj").chunk(2, dim=-1)
        h = lin(value * F.gelu(gate), p + ".ff.net.2") + h
        if c["use_linear_projection"]:
            h = lin(h, name + ".proj_out").reshape(b, hh, ww, ch).permute(0, 3, 1, 2)
        else:
            h = conv(h.reshape(b, hh, ww, ch).permute(0, 3, 1, 2), name + ".proj_out")
        return h + x

    def forward(sample, t, ehs):
        inter = {}
        temb = lin(F.silu(lin(timestep_embedding(t, len(sample)), "time_embedding.linear_1")),
                   "time_embedding.linear_2")
        inter["time_embedding"] = temb
        h = conv(sample, "conv_in", padding=1)
        inter["conv_in"] = h
        skips = [h]
        for i, kind in enumerate(c["down_block_types"]):
            for j in range(lpb):
                h = resnet(h, f"down_blocks.{i}.resnets.{j}", temb)
                inter[f"down_blocks.{i}.resnets.{j}"] = h
                if kind == "CrossAttnDownBlock2D":
                    h = transformer(h, f"down_blocks.{i}.attentions.{j}", heads[i], ehs)
                    inter[f"down_blocks.{i}.attentions.{j}"] = h
                skips.append(h)
            if i < n - 1:
                h = conv(h, f"down_blocks.{i}.downsamplers.0.conv", stride=2, padding=1)
                skips.append(h)
            inter[f"down_blocks.{i}"] = h
        h = resnet(h, "mid_block.resnets.0", temb)
        h = transformer(h, "mid_block.attentions.0", heads[-1], ehs)
        h = resnet(h, "mid_block.resnets.1", temb)
        inter["mid_block"] = h
        for j, kind in enumerate(c["up_block_types"]):
            for k in range(lpb + 1):
                h = resnet(torch.cat([h, skips.pop()], dim=1), f"up_blocks.{j}.resnets.{k}", temb)
                if kind == "CrossAttnUpBlock2D":
                    h = transformer(h, f"up_blocks.{j}.attentions.{k}", heads[::-1][j], ehs)
            if j < n - 1:  # nearest to the size of the next skip connection, then conv 3x3
                h = F.interpolate(h, size=skips[-1].shape[2:], mode="nearest")
                h = conv(h, f"up_blocks.{j}.upsamplers.0.conv", padding=1)
            inter[f"up_blocks.{j}"] = h
        h = conv(F.silu(gn(h, "conv_norm_out", eps)), "conv_out", padding=1)
        return h, inter

    forward.config = c
    return forward


def spec_taps(config, inter, batch_index=1):
    """tools/taps.py's definition, from the intermediates of spec_unet."""
    out = {}
    for t in taps.tap_layout(config):
        out.setdefault(t.stride, []).append(inter[t.name][batch_index: batch_index + 1])
    return {f"stride{s}": torch.cat(v, dim=1) for s, v in sorted(out.items())}


def spec_alphas_cumprod(sc):
    """scaled_linear betas: linspace(sqrt(beta_start), sqrt(beta_end), N) ** 2; alphas_cumprod = cumprod(1 - betas).
    Computed here in float64 and rounded to float32 (diffusers: float32 throughout; they differ by ~1e-6 relative)."""
    assert sc["beta_schedule"] == "scaled_linear"
    betas = np.linspace(sc["beta_start"] ** 0.5, sc["beta_end"] ** 0.5, sc["num_train_timesteps"]) ** 2
    return torch.from_numpy(np.cumprod(1.0 - betas).astype(np.float32))


def spec_all_timesteps(case):
    n, sc = case["num_inference_steps"], case["resolved_config"]
    if sc["timestep_spacing"] == "linspace":  # numpy round: half to even (499.5 -> 500)
        return [int(t) for t in np.linspace(0, sc["num_train_timesteps"] - 1, n + 1).round()[::-1][:-1]]
    assert sc["timestep_spacing"] == "leading"
    ratio = sc["num_train_timesteps"] // n
    return [i * ratio + sc["steps_offset"] for i in reversed(range(n))]


def spec_img2img_timesteps(case):
    n = case["num_inference_steps"]
    init_timestep = min(int(n * case["strength"]), n)  # Python float product, truncated
    return spec_all_timesteps(case)[max(n - init_timestep, 0):]


class SpecScheduler:
    """DDIM and DPM-Solver++(2M, midpoint) as parity/README.md describes them, in float32 tensor ops."""

    def __init__(self, case, alphas_cumprod, timesteps):
        self.case, self.ac, self.timesteps = case, alphas_cumprod, timesteps
        self.dpm = case["scheduler"] == "DPMSolverMultistepScheduler"
        self.v = case["resolved_config"]["prediction_type"] == "v_prediction"
        self.n = case["num_inference_steps"]
        self.begin = self.n - len(timesteps)
        if self.dpm:
            ac = alphas_cumprod
            self.sigmas = [((1 - ac[t]) / ac[t]) ** 0.5 for t in spec_all_timesteps(case)] + [torch.tensor(0.0)]
            self.x0_prev, self.lower_order_nums = None, 0

    @staticmethod
    def alpha_sigma(sigma):
        alpha_t = 1 / ((sigma**2 + 1) ** 0.5)
        return alpha_t, sigma * alpha_t

    def add_noise(self, x, noise):
        if self.dpm:
            alpha_t, sigma_t = self.alpha_sigma(self.sigmas[self.begin])
            return alpha_t * x + sigma_t * noise
        a = self.ac[self.timesteps[0]]
        return a**0.5 * x + (1 - a) ** 0.5 * noise

    def step(self, i, model_output, x, noise=None):
        return self.dpm_step(i, model_output, x) if self.dpm else self.ddim_step(i, model_output, x, noise)

    def ddim_step(self, i, e, x, noise):
        t = self.timesteps[i]
        prev = t - 1000 // self.n
        a_t = self.ac[t]
        a_prev = self.ac[prev] if prev >= 0 else self.ac[0]  # set_alpha_to_one false: final alpha = alphas_cumprod[0]
        b_t = 1 - a_t
        if self.v:
            x0 = a_t**0.5 * x - b_t**0.5 * e
            eps = a_t**0.5 * e + b_t**0.5 * x
        else:
            x0 = (x - b_t**0.5 * e) / a_t**0.5
            eps = e
        eta = self.case["eta"]
        std = eta * (((1 - a_prev) / b_t) * (1 - a_t / a_prev)) ** 0.5
        out = a_prev**0.5 * x0 + (1 - a_prev - std**2) ** 0.5 * eps
        return out + std * noise if eta > 0 else out

    def dpm_step(self, i, e, x):
        k = self.begin + i
        alpha_s0, sigma_s0 = self.alpha_sigma(self.sigmas[k])
        x0 = alpha_s0 * x - sigma_s0 * e if self.v else (x - sigma_s0 * e) / alpha_s0
        alpha_t, sigma_t = self.alpha_sigma(self.sigmas[k + 1])
        lambda_t = torch.log(alpha_t) - torch.log(sigma_t)
        lambda_s0 = torch.log(alpha_s0) - torch.log(sigma_s0)
        h = lambda_t - lambda_s0
        last = i == len(self.timesteps) - 1  # final_sigmas_type "zero": the last step is first order
        if self.x0_prev is None or self.lower_order_nums < 1 or last:
            out = (sigma_t / sigma_s0) * x - (alpha_t * (torch.exp(-h) - 1.0)) * x0
        else:
            alpha_s1, sigma_s1 = self.alpha_sigma(self.sigmas[k - 1])
            lambda_s1 = torch.log(alpha_s1) - torch.log(sigma_s1)
            r0 = (lambda_s0 - lambda_s1) / h
            d0, d1 = x0, (1.0 / r0) * (x0 - self.x0_prev)
            out = (sigma_t / sigma_s0) * x - (alpha_t * (torch.exp(-h) - 1.0)) * d0 \
                - 0.5 * (alpha_t * (torch.exp(-h) - 1.0)) * d1
        self.x0_prev = x0
        self.lower_order_nums = min(self.lower_order_nums + 1, 2)
        return out


def spec_check(folder):
    import math

    import torch.nn.functional as F
    from safetensors.torch import load_file

    def maxdiff(a, b):
        assert a.shape == b.shape, (a.shape, b.shape)
        return (a - b).abs().max().item()

    def relative(a, b):  # UNet / img2img: |values| reach ~14 (UNet) and ~60 (img2img latents under guidance 7.5)
        return maxdiff(a, b) / max(1.0, b.abs().max().item())

    diffs = {}
    # CLIP text encoder
    with open(os.path.join(folder, "text_encoder", "config.json")) as f:
        cfg = json.load(f)
    w = {k: v.float() for k, v in load_file(os.path.join(folder, "text_encoder", "model.safetensors")).items()}
    rec = load_file(os.path.join(folder, "expected", "text.safetensors"))
    ids = rec["input_ids"].long()
    hidden, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd, n = hidden // heads, ids.shape[1]

    def act(t):
        return t * torch.sigmoid(1.702 * t) if cfg["hidden_act"] == "quick_gelu" else F.gelu(t)  # erf GELU

    def lin(t, name):
        return t @ w[name + ".weight"].T + w[name + ".bias"]

    def ln(t, name):
        return F.layer_norm(t, (hidden,), w[name + ".weight"], w[name + ".bias"], eps)

    x = w["text_model.embeddings.token_embedding.weight"][ids] + w["text_model.embeddings.position_embedding.weight"][:n]
    diffs["text debug.embeddings"] = maxdiff(x[:1], rec["debug.embeddings"])
    causal = torch.full((n, n), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"text_model.encoder.layers.{i}."
        h = ln(x, p + "layer_norm1")
        q, k, v = (lin(h, p + f"self_attn.{m}_proj").view(len(ids), n, heads, hd).transpose(1, 2) for m in "qkv")
        a = torch.softmax(q @ k.transpose(-1, -2) * hd**-0.5 + causal, dim=-1) @ v
        a = lin(a.transpose(1, 2).reshape(len(ids), n, hidden), p + "self_attn.out_proj")
        if i == 0:
            diffs["text debug.layers.0.self_attn"] = maxdiff(a[:1], rec["debug.layers.0.self_attn"])
        x = x + a
        x = x + lin(act(lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")), p + "mlp.fc2")
        if f"debug.layers.{i}" in rec:
            diffs[f"text debug.layers.{i}"] = maxdiff(x[:1], rec[f"debug.layers.{i}"])
    last = ln(x, "text_model.final_layer_norm")
    diffs["text last_hidden_state"] = maxdiff(last, rec["last_hidden_state"])
    pooled = last[torch.arange(len(ids)), (ids == cfg["eos_token_id"]).int().argmax(-1)]
    diffs["text pooler_output"] = maxdiff(pooled, rec["pooler_output"])

    # AutoencoderKL
    with open(os.path.join(folder, "vae", "config.json")) as f:
        vc = json.load(f)
    w = {k: v.float() for k, v in load_file(os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors")).items()}
    rec = load_file(os.path.join(folder, "expected", "vae.safetensors"))
    groups, levels, lpb = vc["norm_num_groups"], len(vc["block_out_channels"]), vc["layers_per_block"]

    def gn(t, name):
        return F.group_norm(t, groups, w[name + ".weight"], w[name + ".bias"], 1e-6)

    def conv(t, name, **kw):
        return F.conv2d(t, w[name + ".weight"], w[name + ".bias"], **kw)

    def resnet(t, name):
        h = conv(F.silu(gn(t, name + ".norm1")), name + ".conv1", padding=1)
        h = conv(F.silu(gn(h, name + ".norm2")), name + ".conv2", padding=1)
        return (conv(t, name + ".conv_shortcut") if name + ".conv_shortcut.weight" in w else t) + h

    def attention(t, name):
        b, c, hh, ww = t.shape
        h = gn(t, name + ".group_norm").view(b, c, hh * ww).transpose(1, 2)
        q, k, v = (h @ w[f"{name}.to_{m}.weight"].T + w[f"{name}.to_{m}.bias"] for m in "qkv")
        o = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1) @ v
        o = o @ w[name + ".to_out.0.weight"].T + w[name + ".to_out.0.bias"]
        return o.transpose(1, 2).reshape(b, c, hh, ww) + t

    def mid(t, name):
        return resnet(attention(resnet(t, name + ".resnets.0"), name + ".attentions.0"), name + ".resnets.1")

    def encode(image):
        h = conv(image, "encoder.conv_in", padding=1)
        for i in range(levels):
            for j in range(lpb):
                h = resnet(h, f"encoder.down_blocks.{i}.resnets.{j}")
            if i < levels - 1:  # Downsample2D: zero pad right and bottom by 1, conv 3x3 stride 2 padding 0
                h = conv(F.pad(h, (0, 1, 0, 1)), f"encoder.down_blocks.{i}.downsamplers.0.conv", stride=2)
            if i == 0:
                down0 = h
        h = mid(h, "encoder.mid_block")
        h = conv(F.silu(gn(h, "encoder.conv_norm_out")), "encoder.conv_out", padding=1)
        return conv(h, "quant_conv"), down0

    def decode(z):
        h = conv(conv(z, "post_quant_conv"), "decoder.conv_in", padding=1)
        h = mid(h, "decoder.mid_block")
        for i in range(levels):
            for j in range(lpb + 1):
                h = resnet(h, f"decoder.up_blocks.{i}.resnets.{j}")
            if i < levels - 1:  # Upsample2D: nearest x2, conv 3x3 padding 1
                h = conv(F.interpolate(h, scale_factor=2.0, mode="nearest"), f"decoder.up_blocks.{i}.upsamplers.0.conv",
                         padding=1)
        return conv(F.silu(gn(h, "decoder.conv_norm_out")), "decoder.conv_out", padding=1)

    moments, down0 = encode(rec["image"])
    mean, logvar = moments.chunk(2, dim=1)
    logvar = logvar.clamp(-30.0, 20.0)
    sample = mean + torch.exp(0.5 * logvar) * rec["noise"]
    sf = vc["scaling_factor"]
    diffs["vae debug.encoder.down_blocks.0"] = maxdiff(down0[:1], rec["debug.encoder.down_blocks.0"])
    diffs["vae moments"] = maxdiff(moments, rec["moments"])
    diffs["vae posterior_logvar"] = maxdiff(logvar, rec["posterior_logvar"])
    diffs["vae sample"] = maxdiff(sample, rec["sample"])
    diffs["vae latent"] = maxdiff(sample * sf, rec["latent"])
    diffs["vae decoded"] = maxdiff(decode(rec["latent"] / sf), rec["decoded"])
    diffs["vae decoded2"] = maxdiff(decode(rec["latent2"] / sf), rec["decoded2"])
    if "image_odd" in rec:
        diffs["vae posterior_mean_odd"] = maxdiff(encode(rec["image_odd"])[0].chunk(2, dim=1)[0],
                                                  rec["posterior_mean_odd"])
    # UNet2DConditionModel
    unet = spec_unet(folder)
    rec = load_file(os.path.join(folder, "expected", "unet.safetensors"))
    for t in UNET_TIMESTEPS:
        out, inter = unet(rec["sample"], t, rec["encoder_hidden_states"])
        diffs[f"unet out.t{t}"] = relative(out, rec[f"out.t{t}"])
        if t == 999:
            for key, value in inter.items():
                if f"debug.t999.{key}" in rec:
                    diffs[f"unet debug.t999.{key}"] = relative(value[:1], rec[f"debug.t999.{key}"])
        if t in (1, 999):
            for key, value in spec_taps(unet.config, inter).items():
                diffs[f"unet taps.t{t}.{key}"] = relative(value, rec[f"taps.t{t}.{key}"])

    # img2img: the schedulers of the README, fed with the recorded latents of the previous step (so that the UNet's
    # float32 rounding, amplified by guidance 7.5 and the x0 predictions, does not accumulate over the steps).
    with open(os.path.join(folder, "expected", "manifest.json"), encoding="utf-8") as f:
        info = json.load(f)["img2img"]
    rec = load_file(os.path.join(folder, "expected", "img2img.safetensors"))
    sc = info["cases"][next(iter(info["cases"]))]["resolved_config"]
    alphas_cumprod = spec_alphas_cumprod(sc)
    diffs["img2img alphas_cumprod"] = maxdiff(alphas_cumprod, rec["alphas_cumprod"])
    moments, _ = encode(rec["image"])
    mean, logvar = moments.chunk(2, dim=1)
    init = (mean + torch.exp(0.5 * logvar.clamp(-30.0, 20.0)) * rec["posterior_noise"]) * sf
    diffs["img2img reference_latent"] = maxdiff(init, rec["reference_latent"])
    embeds = rec["prompt_embeds"]
    for case, c in info["cases"].items():
        p = case + "."
        timesteps = spec_img2img_timesteps(c)
        diffs[f"img2img {p}timesteps"] = maxdiff(torch.tensor(timesteps, dtype=torch.float32), rec[p + "timesteps"])
        sched = SpecScheduler(c, alphas_cumprod, timesteps)
        latents = sched.add_noise(rec["reference_latent"], rec["latent_noise"])
        diffs[f"img2img {p}noised"] = relative(latents, rec[p + "noised"])
        latents = rec[p + "noised"]
        for i, t in enumerate(timesteps):
            out, inter = unet(torch.cat([latents] * 2), t, embeds)
            uncond, cond = out.chunk(2)
            noise_pred = uncond + info["guidance_scale"] * (cond - uncond)
            noise = rec.get(f"{p}step_noise.{i}")
            stepped = sched.step(i, noise_pred, latents, noise)
            target = rec.get(f"{p}step.{i}") if i < len(timesteps) - 1 else rec[p + "final_latent"]
            if target is not None:
                diffs[f"img2img {p}step.{i}"] = relative(stepped, target)
                latents = target
            else:
                latents = stepped
            if i == len(timesteps) - 1:
                for key, value in spec_taps(unet.config, inter).items():
                    diffs[f"img2img {p}taps.{key}"] = relative(value, rec[f"{p}taps.{key}"])
        decoded = decode(rec[p + "final_latent"] / sf)
        diffs[f"img2img {p}decoded"] = relative(decoded, rec[p + "decoded"])
        image = (rec[p + "decoded"] * 0.5 + 0.5).clamp(0, 1)
        diffs[f"img2img {p}image"] = maxdiff(image, rec[p + "image"])
        diffs[f"img2img {p}image_u8"] = maxdiff(torch.from_numpy(np.round(image.numpy() * 255)), rec[p + "image_u8"])
    worst = {}
    for key, value in diffs.items():
        part = key.split(" ")[0]
        if part not in worst or value > diffs[worst[part]]:
            worst[part] = key
    print("  spec check (plain tensor ops from the saved files), worst: "
          + "; ".join(f"{k} {diffs[k]:.3g}" for k in worst.values()))
    bad = {k: v for k, v in diffs.items() if not v <= SPEC_TOLERANCE}
    if bad:
        sys.exit(f"{folder}: the README's description does not reproduce {bad}")

# --------------------------------------------------------------------------------------------------------------------


def versions():
    import platform

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
        "tokenizers": tokenizers.__version__,
    }


def config_summary(name, cfg, ctx):
    te = ctx["text_encoder"].config
    vae = ctx["vae"].config
    return {
        "tokenizer": {**ctx["token_ids"], "merges": cfg["tokenizer"]["merges"], "pad_token": cfg["tokenizer"]["pad"],
                      "model_max_length": MAX_LEN},
        "text_encoder": {k: getattr(te, k) for k in (
            "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "max_position_embeddings", "hidden_act", "layer_norm_eps", "bos_token_id", "eos_token_id",
            "pad_token_id")},
        "vae": {
            **{k: vae[k] for k in ("block_out_channels", "layers_per_block", "norm_num_groups", "latent_channels",
                                   "scaling_factor", "shift_factor", "act_fn", "mid_block_add_attention",
                                   "use_quant_conv", "use_post_quant_conv", "sample_size")},
            "group_norm_eps": 1e-6,
            "quant_conv_logvar_bias_added": {str(k): v for k, v in cfg["records"]["logvar_bias"].items()},
        },
        "unet": unet_summary(ctx["unet"]),
        "scheduler": {k: v for k, v in ctx["scheduler_config"].items() if k != "_diffusers_version"},
        "weights_dtype": str(WEIGHT_DTYPE).replace("torch.", ""),
        "seed": cfg["seed"],
    }


def unet_summary(unet):
    """The UNet's full config (config.json less the private keys) and the numbers derived from it."""
    c = unet.config
    n = len(c.block_out_channels)
    heads = c.attention_head_dim if isinstance(c.attention_head_dim, (list, tuple)) else [c.attention_head_dim] * n
    heads = list(heads)
    derived = {
        "time_embed_dim": unet.time_embedding.linear_2.out_features,
        "timestep_embedding_dim": c.block_out_channels[0],
        "timestep_half_dim": c.block_out_channels[0] // 2,
        "timestep_max_period": 10000,
        "down_heads": heads,
        "down_head_dims": [ch // h for ch, h in zip(c.block_out_channels, heads)],
        "mid_heads": heads[-1],
        "up_heads": heads[::-1],
        "up_channels": list(c.block_out_channels)[::-1],
        "resnet_group_norm_eps": c.norm_eps,
        "transformer_group_norm_eps": 1e-6,
        "transformer_layer_norm_eps": 1e-5,
        "feed_forward": "GEGLU, inner dim 4 x channels (proj to 8 x channels: value half first, gate half second)",
        "downsample": "conv 3x3 stride 2 padding 1 (downsample_padding 1)",
        "upsample": "nearest to the next skip connection's size (x2 when the latent is a multiple of 8), conv 3x3",
        "taps": [{"name": t.name, "stride": t.stride, "channels": t.channels} for t in taps.tap_layout(c)],
        "tap_channels": {f"stride{s}": ch for s, ch in taps.tap_channels(c).items()},
    }
    return {"config": {k: v for k, v in c.items() if not k.startswith("_")}, "derived": derived}


def build_config(name, cfg, ctx_base, out):
    folder = os.path.join(out, name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    ctx = dict(ctx_base)
    index = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": diffusers.__version__}
    for component, builder in COMPONENTS:
        index[component] = builder(name, cfg, folder, ctx)
    write_json(os.path.join(folder, "model_index.json"), dict(sorted(index.items())))  # sorted, as diffusers writes it

    records = []
    for recorder in RECORDERS:
        records += recorder(name, cfg, ctx)
    expected = os.path.join(folder, "expected")
    os.makedirs(expected)
    files = {}
    for r in records:
        files.setdefault(r.file, []).append(r)
    manifest = {
        "config": name,
        "generator": "tools/make_fixtures.py",
        "versions": versions(),
        "bpe_source_sha256": ctx["bpe_sha256"],
        "reference": ("float32 on CPU, models reloaded with from_pretrained(torch_dtype=float32) from the F16 weight "
                      "files of this folder; text encoder attn_implementation='eager'; VAE and UNet AttnProcessor"),
        "numbers": config_summary(name, cfg, ctx),
        "img2img": ctx["img2img_manifest"],
        "files": {},
    }
    for fname, recs in files.items():
        path = os.path.join(expected, fname)
        if fname.endswith(".safetensors"):
            tensors = {}
            for r in recs:
                assert r.key not in tensors, r.key
                t = r.value.detach().to(torch.float32).contiguous().clone()  # no shared storage
                assert torch.isfinite(t).all(), (name, r.key)
                tensors[r.key] = t
            # one metadata key only: safetensors writes __metadata__ from a hash map (2+ keys: random order)
            safetensors.torch.save_file(tensors, path, metadata={"format": "pt"})
            manifest["files"][fname] = {r.key: {"shape": list(r.value.shape), "dtype": "float32", "what": r.what}
                                        for r in recs}
        else:
            assert len(recs) == 1, fname
            write_tokens_json(path, recs[0].value)
            manifest["files"][fname] = {recs[0].key: {"what": recs[0].what}}
    write_json(os.path.join(expected, "manifest.json"), manifest)
    with torch.no_grad():
        spec_check(folder)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--wheel", help="open_clip_torch-*.whl (from `pip download --no-deps open-clip-torch`)")
    src.add_argument("--bpe", help="bpe_simple_vocab_16e6.txt.gz")
    p.add_argument("--only", action="append", choices=sorted(CONFIGS), help="build only this config (repeatable)")
    p.add_argument("--out", default=OUT, help=f"output folder (default: {os.path.relpath(OUT, REPO)})")
    p.add_argument("--check", action="store_true",
                   help="build in a temporary folder and compare it byte for byte with --out (writes nothing there)")
    p.add_argument("--transformers4-python", metavar="PYTHON",
                   help="an interpreter with transformers 4.x (no torch or ftfy needed): check TRANSFORMERS4_DIFFERS "
                        "against its slow CLIPTokenizer")
    args = p.parse_args()

    torch.set_num_threads(1)
    transformers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.disable_progress_bar()
    torch.use_deterministic_algorithms(True)
    merges, sha = read_bpe(args)
    ctx_base = {"merges": merges, "bpe_sha256": sha}
    names = args.only or list(CONFIGS)
    if args.check:
        import filecmp
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            bad = []
            for name in names:
                print(f"{name}:")
                build_config(name, CONFIGS[name], ctx_base, tmp)
                for root, _dirs, files in os.walk(os.path.join(tmp, name)):
                    for f in files:
                        rel = os.path.relpath(os.path.join(root, f), tmp)
                        theirs = os.path.join(args.out, rel)
                        if not os.path.exists(theirs) or not filecmp.cmp(os.path.join(tmp, rel), theirs, shallow=False):
                            bad.append(rel)
                for root, _dirs, files in os.walk(os.path.join(args.out, name)):
                    for f in files:
                        rel = os.path.relpath(os.path.join(root, f), args.out)
                        if not os.path.exists(os.path.join(tmp, rel)):
                            bad.append(f"{rel} (not produced)")
            write_readme(tmp)
            theirs = os.path.join(args.out, "README.md")
            if not os.path.exists(theirs) or not filecmp.cmp(os.path.join(tmp, "README.md"), theirs, shallow=False):
                bad.append("README.md")
        if bad:
            sys.exit("differs from the committed fixtures:\n  " + "\n  ".join(sorted(bad)))
        print(f"ok: {', '.join(names)} reproduce {args.out} byte for byte")
        if args.transformers4_python:
            crosscheck_transformers4(args.transformers4_python, args.out, names)
        return
    os.makedirs(args.out, exist_ok=True)
    write_readme(args.out)
    for name in names:
        print(f"{name}:")
        build_config(name, CONFIGS[name], ctx_base, args.out)
    print(f"wrote {args.out}")
    if args.transformers4_python:
        crosscheck_transformers4(args.transformers4_python, args.out, names)


if __name__ == "__main__":
    main()
