#!/usr/bin/env python3
"""Build the numerical-parity fixtures of Tests/DiffusionTests/Fixtures/parity: tiny random-weight Stable Diffusion
components in the diffusers folder layout, and the reference outputs of transformers / diffusers (PyTorch) for them.

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
  model_index.json                 StableDiffusionPipeline, listing the components present
  tokenizer/                       vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json (the format
                                   of the published SD 1.x / 2.x tokenizer folders), a SMALL real BPE vocabulary:
                                   256 byte tokens, their `</w>` forms, the first N merges of the real CLIP merges file,
                                   <|startoftext|>, <|endoftext|>. Ids below 512 + N equal the real CLIP ids.
  text_encoder/                    config.json + model.safetensors (CLIPTextModel.save_pretrained, keys then renamed to
                                   the published `text_model.…` names, which transformers 5 no longer writes)
  vae/                             config.json + diffusion_pytorch_model.safetensors (AutoencoderKL.save_pretrained)
  expected/tokens.json             ids of 33 awkward strings (padding="max_length", max_length=77, truncation=True)
  expected/text.safetensors        CLIPTextModel outputs for a batch of those ids (+ debug intermediates)
  expected/vae.safetensors         AutoencoderKL encode / sample / decode records (+ debug intermediates)
  expected/manifest.json           every record: file, key, shape, dtype, meaning; the config numbers; versions

Weights: drawn from a seeded torch.Generator by this script (not the libraries' initialisers, whose defaults change
between versions and leave norms at weight 1 / bias 0), rounded to float16 and SAVED AS F16 to keep the folder small
(see parity/README.md). All reference outputs are computed in float32 by the models RELOADED from the saved folders
with from_pretrained(..., torch_dtype=torch.float32), i.e. with the fp16-rounded weights upcast to float32 exactly as
a float32 engine that upcasts F16 weights at load time sees them. Records are float32 safetensors (ids as float32).

Determinism: fixed seeds, one CPU thread, torch.use_deterministic_algorithms(True), no timestamps, one safetensors
metadata key; rerunning gives byte-identical files on the same machine and library versions.

Self-checks on every run: the folders load with from_pretrained without warnings (diffusers' notice that the optional
`accelerate` package is missing excepted); reloaded weights equal the in-memory ones; spec_check() recomputes the
records from the saved files with plain tensor ops as parity/README.md describes them.

Extending (UNet, scheduler, ...): add a builder to COMPONENTS (it writes <config>/<component>/ and returns the
object(s) the recorders need; model_index.json then lists the component) and a recorder to RECORDERS (it returns
Record objects; they are written to expected/<file> and listed in manifest.json).
"""
import argparse
import gzip
import hashlib
import json
import logging
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
from diffusers import AutoencoderKL
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(REPO, "Tests", "DiffusionTests", "Fixtures", "parity")
MAX_LEN = 77
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
WEIGHT_DTYPE = torch.float16  # storage dtype of every weight file (size budget, see parity/README.md)

# --------------------------------------------------------------------------------------------------------------------
# Configurations. Every number a Swift test might need is repeated in expected/manifest.json.

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
        },
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
        },
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
        },
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
        json.dump(obj, f, indent=indent, ensure_ascii=False, sort_keys=False)
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


COMPONENTS = [
    ("tokenizer", build_tokenizer),
    ("text_encoder", build_text_encoder),
    ("vae", build_vae),
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


RECORDERS = [record_tokens, record_text, record_vae]

README_TEXT = """# Parity fixtures (generated: do not edit)

Written by `tools/make_fixtures.py` (see its docstring and `tools/README.md`); `--check` rebuilds them in a temporary
folder and compares byte for byte. Every number and record is also listed in `<config>/expected/manifest.json`.

Each `<config>/` is a diffusers-layout folder of tiny random-weight components (`model_index.json`: class
StableDiffusionPipeline, listing only the components present; `tokenizer/`, `text_encoder/`, `vae/`) plus
`expected/` with the reference outputs of transformers / diffusers (PyTorch, CPU, float32).

## Weights are float16

To stay within the size budget every weight file stores **F16** tensors (`text_encoder/config.json` says
`"dtype": "float16"`; diffusers' `vae/config.json` has no dtype field).
The weights were drawn in float32, rounded to float16 and saved; all reference outputs were computed in **float32**
by the models reloaded from these folders with `from_pretrained(..., torch_dtype=torch.float32)`, i.e. with the
fp16-rounded weights upcast to float32. An engine that upcasts F16 weights to float32 at load time and computes in
float32 must reproduce the records up to float32 rounding; for scale, PyTorch's own two attention paths (eager vs
SDPA in the text encoder, AttnProcessor vs AttnProcessor2_0 in the VAE) differ by up to about 3e-6 on these records,
whose magnitudes are O(1) (up to about 10 in the VAE mid blocks). Note that transformers 5 loads `text_encoder/` as
float16 unless asked for float32, diffusers loads `vae/` as float32.

## Configurations

{table}

Common to all: CLIP text encoders with max_position_embeddings 77, attention dropout 0; VAEs with in/out channels
3, latent_channels 4, act_fn silu, GroupNorm eps 1e-6 everywhere (hard-coded in diffusers' Encoder / Decoder, not
in config.json), mid-block attention on, quant_conv and post_quant_conv present, shift_factor null.

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

## Tokenizer folders

`tokenizer/` has the four files of the published SD 1.x / 2.x folders, in their format (AddedToken dicts, pad_token
`<|endoftext|>` or `!`, model_max_length 77), but a SMALL real vocabulary: the 256 byte-level tokens in CLIP's
bytes_to_unicode order, the same 256 with `</w>`, one token per merge for the first N merges of the real CLIP
merges file (open-clip-torch's bpe_simple_vocab_16e6.txt; manifest.json has its sha256), then `<|startoftext|>`,
`<|endoftext|>`. So every id below 512 + N is the real CLIP id of the same token; bos / eos are 512 + N and 513 + N
(49406 / 49407 in the real vocabulary); every string stays encodable (byte tokens) even where merges are missing.

## What an implementation must match

The generator checks this section: `spec_check()` recomputes every config's text and VAE records from the saved
files with plain tensor ops following the points below, and fails above 1e-5 (it reaches at most about 3e-6).

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
    write_readme_file = os.path.join(out, "README.md")
    with open(write_readme_file, "w", encoding="utf-8") as f:
        f.write(README_TEXT.replace("{table}", "\n".join(rows)))


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


def spec_check(folder):
    import math

    import torch.nn.functional as F
    from safetensors.torch import load_file

    def maxdiff(a, b):
        assert a.shape == b.shape, (a.shape, b.shape)
        return (a - b).abs().max().item()

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
    worst = max(diffs, key=diffs.get)
    print(f"  spec check (plain tensor ops from the saved files): worst {worst} {diffs[worst]:.3g}")
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
        "weights_dtype": str(WEIGHT_DTYPE).replace("torch.", ""),
        "seed": cfg["seed"],
    }


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
                      "files of this folder; text encoder attn_implementation='eager'; VAE AttnProcessor"),
        "numbers": config_summary(name, cfg, ctx),
        "files": {},
    }
    for fname, recs in files.items():
        path = os.path.join(expected, fname)
        if fname.endswith(".safetensors"):
            tensors = {}
            for r in recs:
                assert r.key not in tensors, r.key
                t = r.value.detach().to(torch.float32).contiguous()
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
