#!/usr/bin/env python3
"""Create the safetensors fixtures of Tests/TensorsTests/Fixtures/safetensors and the model-folder
fixtures of Tests/DiffusionTests/Fixtures/model-folder (needs `pip install safetensors numpy`; no torch).

Deterministic (fixed values, no timestamps); every file is a few KB at most. Files written with the
reference implementation (`safetensors.numpy.save_file`) let the Swift tests compare our writer's bytes
with the reference's. BF16 and I64-with-floats files are crafted byte by byte (numpy has no bfloat16) and
then checked with `safetensors.safe_open`, so the reference accepts them.

Tensors fixtures (Tests/TensorsTests/Fixtures/safetensors/):
  mixed_dtypes.safetensors   F32, F16, BF16 and I64 tensors of known values, a scalar, an empty tensor,
                             metadata {"format": "pt", "producer": ...}. F16 holds 1, -2, 65504, the
                             smallest and largest subnormals, the smallest normal, +inf, -inf, -0.0, NaN,
                             0.333251953125; BF16 holds 1, -2.5, +inf, the smallest subnormal.
  rounding_source.safetensors  F32 "values": ties, subnormal ties, overflow, NaN, random normals (reference writer)
  rounding_f16.safetensors     the same cast with numpy `astype(float16)` (round to nearest even),
                               metadata {"format": "pt"} (reference writer)
  reference_f32.safetensors    three small F32 tensors, no metadata (reference writer)
  sharded/model.safetensors.index.json + model-0000{1,2}-of-00002.safetensors  a two-shard checkpoint

Model folder fixtures (Tests/DiffusionTests/Fixtures/model-folder/):
  tiny-sd/model_index.json   StableDiffusionPipeline: unet, vae, text_encoder, tokenizer, scheduler,
                             safety_checker [null, null], feature_extractor [null, null]
  tiny-sd/unet/              config.json, diffusion_pytorch_model.safetensors (F32) and
                             diffusion_pytorch_model.fp16.safetensors (F16) of the same values
  tiny-sd/vae/               config.json and only diffusion_pytorch_model.fp16.safetensors
  tiny-sd/text_encoder/      config.json and only pytorch_model.bin (a placeholder, not a real pickle)
  tiny-sd/scheduler/         scheduler_config.json (DDIM)
  (no tiny-sd/tokenizer/ folder: model_index.json lists it, the tests expect the missing-folder error)
  sharded-unet/              a standalone component: config.json, a two-shard full-precision index and a
                             one-shard fp16 index (diffusion_pytorch_model.safetensors.index.fp16.json)

Run from the repository root:  python3 tools/make_safetensors_fixtures.py
"""
import json
import os
import struct

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TENSORS = os.path.join(ROOT, "Tests", "TensorsTests", "Fixtures", "safetensors")
FOLDERS = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures", "model-folder")

ALIGN = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "U8": 1}


def craft(path, tensors, metadata=None):
    """Write a safetensors file by hand, laid out as the reference does (dtype alignment descending, then
    name). tensors: list of (name, dtype, shape, raw little-endian bytes)."""
    tensors = sorted(tensors, key=lambda t: (-ALIGN[t[1]], t[0].encode()))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, raw in tensors:
            f.write(raw)


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=False)
        f.write("\n")


def mixed_dtypes():
    path = os.path.join(TENSORS, "mixed_dtypes.safetensors")
    f32 = np.array([[0.0, 1.0, -2.5], [3.140625, 1.0e-3, -0.0]], dtype="<f4")
    f16_bits = np.array([0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x8000, 0x7E00, 0x3555],
                        dtype="<u2")
    bf16_bits = np.array([[0x3F80, 0xC020], [0x7F80, 0x0001]], dtype="<u2")
    i64 = np.array([[0, 1, 2, 3]], dtype="<i8")
    craft(path, [
        ("f32", "F32", f32.shape, f32.tobytes()),
        ("f16", "F16", f16_bits.shape, f16_bits.tobytes()),
        ("bf16", "BF16", bf16_bits.shape, bf16_bits.tobytes()),
        ("position_ids", "I64", i64.shape, i64.tobytes()),
        ("scalar", "F32", (), np.array(7.5, dtype="<f4").tobytes()),
        ("empty", "F32", (0, 3), b""),
    ], metadata={"format": "pt", "producer": "tools/make_safetensors_fixtures.py"})
    # The reference accepts it and reads the same values.
    with safe_open(path, framework="numpy") as f:
        assert sorted(f.keys()) == ["bf16", "empty", "f16", "f32", "position_ids", "scalar"], f.keys()
        assert f.metadata()["format"] == "pt"
        assert np.array_equal(f.get_tensor("f32"), f32)
        assert np.array_equal(f.get_tensor("f16").view("<u2"), f16_bits)
        assert np.array_equal(f.get_tensor("position_ids"), i64)
        assert f.get_tensor("scalar").shape == ()


def rounding():
    rng = np.random.default_rng(0)
    edge = [
        1 + 2.0**-11, 1 + 3 * 2.0**-11, -(1 + 2.0**-11),          # ties in the normal range -> even
        2.0**-25, 3 * 2.0**-25, 5 * 2.0**-25, 2.0**-26,           # subnormal ties and underflow
        2.0**-14 - 2.0**-25, 2.0**-14 - 2.0**-26,                 # just below the smallest normal
        65504.0, 65519.0, 65520.0, -65520.0, 1e10,                # the largest half, overflow to inf
        0.1, 1 / 3, -0.0, 1e-8, float("inf"), float("-inf"), float("nan"),
    ]
    values = np.array(edge + list(rng.standard_normal(40) * np.array([1e-6, 1e-3, 1, 100, 3e4] * 8)),
                      dtype="<f4")
    save_file({"values": values}, os.path.join(TENSORS, "rounding_source.safetensors"))
    with np.errstate(over="ignore"):
        half = values.astype(np.float16)
    save_file({"values": half}, os.path.join(TENSORS, "rounding_f16.safetensors"), metadata={"format": "pt"})


def reference_f32():
    save_file({
        "conv.weight": (np.arange(6, dtype="<f4") * 0.5 - 1).reshape(2, 3, 1, 1),
        "conv.bias": np.array([0.25, -1.0], dtype="<f4"),
        "norm.weight": np.ones(3, dtype="<f4"),
    }, os.path.join(TENSORS, "reference_f32.safetensors"))


def sharded(directory, base, tensors, shard_sizes, variant=None):
    """Split tensors (dict, in order) into shards of the given key counts, diffusers/transformers naming."""
    os.makedirs(directory, exist_ok=True)
    names = list(tensors)
    count = len(shard_sizes)
    weight_map = {}
    total = 0
    start = 0
    stem = base if variant is None else f"{base}.{variant}"
    for i, size in enumerate(shard_sizes):
        shard = f"{stem}-{i + 1:05d}-of-{count:05d}.safetensors"
        part = {k: tensors[k] for k in names[start:start + size]}
        save_file(part, os.path.join(directory, shard), metadata={"format": "pt"})
        for k, v in part.items():
            weight_map[k] = shard
            total += v.nbytes
        start += size
    index = f"{base}.safetensors.index.json" if variant is None else f"{base}.safetensors.index.{variant}.json"
    write_json(os.path.join(directory, index), {"metadata": {"total_size": total}, "weight_map": weight_map})


def tensors_sharded():
    t = {
        "encoder.layers.0.weight": np.array([[1, 2], [3, 4]], dtype="<f4"),
        "encoder.layers.0.bias": np.array([0.5, -0.5], dtype="<f4"),
        "encoder.layers.1.weight": np.array([[5, 6], [7, 8]], dtype="<f4"),
        "encoder.layers.1.bias": np.array([1.5, -1.5], dtype="<f4"),
        "head.weight": np.array([[9, 10]], dtype="<f4"),
    }
    sharded(os.path.join(TENSORS, "sharded"), "model", t, [2, 3])


UNET_CONFIG = {
    "_class_name": "UNet2DConditionModel",
    "_diffusers_version": "0.30.0",
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [32, 64],
    "center_input_sample": False,
    "cross_attention_dim": 32,
    "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 32,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
    "use_linear_projection": False,
    "addition_embed_type": None,
}


def unet_weights():
    return {
        "conv_in.weight": (np.arange(4 * 4 * 3 * 3, dtype="<f4") / 16 - 4).reshape(4, 4, 3, 3),
        "conv_in.bias": np.array([0.5, -0.25, 0.125, 0.0], dtype="<f4"),
        "time_embedding.linear_1.weight": np.array([[1, -1], [0.5, 2]], dtype="<f4"),
    }


def model_folder():
    root = os.path.join(FOLDERS, "tiny-sd")
    for sub in ("unet", "vae", "text_encoder", "scheduler"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    write_json(os.path.join(root, "model_index.json"), {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None],
        "image_encoder": [None, None],
        "requires_safety_checker": False,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    })
    write_json(os.path.join(root, "unet", "config.json"), UNET_CONFIG)
    w = unet_weights()
    save_file(w, os.path.join(root, "unet", "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    save_file({k: v.astype(np.float16) for k, v in w.items()},
              os.path.join(root, "unet", "diffusion_pytorch_model.fp16.safetensors"), metadata={"format": "pt"})

    write_json(os.path.join(root, "vae", "config.json"), {
        "_class_name": "AutoencoderKL",
        "_diffusers_version": "0.30.0",
        "block_out_channels": [32, 64],
        "in_channels": 3,
        "latent_channels": 4,
        "layers_per_block": 1,
        "out_channels": 3,
        "sample_size": 64,
        "scaling_factor": 0.18215,
    })
    save_file({"decoder.conv_in.weight": (np.arange(16, dtype=np.float16) / 4).reshape(4, 4, 1, 1),
               "decoder.conv_in.bias": np.array([1, 2, 3, 4], dtype=np.float16)},
              os.path.join(root, "vae", "diffusion_pytorch_model.fp16.safetensors"), metadata={"format": "pt"})

    write_json(os.path.join(root, "text_encoder", "config.json"), {
        "architectures": ["CLIPTextModel"],
        "hidden_act": "quick_gelu",
        "hidden_size": 32,
        "intermediate_size": 37,
        "max_position_embeddings": 77,
        "model_type": "clip_text_model",
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "vocab_size": 1000,
    })
    with open(os.path.join(root, "text_encoder", "pytorch_model.bin"), "wb") as f:
        f.write(b"placeholder for a PyTorch pickle: the loader must refuse .bin weights\n")

    write_json(os.path.join(root, "scheduler", "scheduler_config.json"), {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.30.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "prediction_type": "epsilon",
        "set_alpha_to_one": False,
        "steps_offset": 1,
    })

    standalone = os.path.join(FOLDERS, "sharded-unet")
    os.makedirs(standalone, exist_ok=True)
    write_json(os.path.join(standalone, "config.json"), UNET_CONFIG)
    sharded(standalone, "diffusion_pytorch_model", w, [1, 2])
    sharded(standalone, "diffusion_pytorch_model", {k: v.astype(np.float16) for k, v in w.items()}, [3],
            variant="fp16")


def main():
    os.makedirs(TENSORS, exist_ok=True)
    os.makedirs(FOLDERS, exist_ok=True)
    mixed_dtypes()
    rounding()
    reference_f32()
    tensors_sharded()
    model_folder()
    total = 0
    for base in (TENSORS, FOLDERS):
        for d, _, files in os.walk(base):
            total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    print(f"wrote fixtures: {total} bytes in all")


if __name__ == "__main__":
    main()
