#!/usr/bin/env python3
"""Build the scheduler parity fixtures of Tests/DiffusionTests/Fixtures/schedulers: what diffusers' DDIMScheduler and
DPMSolverMultistepScheduler (PyTorch, CPU, float32) compute for Stable Diffusion style scheduler configs, so that the
Swift schedulers of Sources/Diffusion/Schedulers can be checked step by step.

Needs the reference environment of tools/requirements-reference.txt (torch, diffusers, safetensors, numpy; CPU only):

  /root/venv-ref/bin/python tools/make_scheduler_fixtures.py            # (re)write the folder
  /root/venv-ref/bin/python tools/make_scheduler_fixtures.py --check    # rebuild in a temporary folder and compare
                                                                         # byte for byte (writes nothing; exit 1 on a
                                                                         # difference)
  --out DIR writes elsewhere.

Output (the folder is deleted and rewritten on every run; about 300 KB):
  configs/<name>.json        scheduler_config.json files as published (SD 1.5, SD 2-base, SD 2 768-v), as diffusers
                             0.42.1 saves them (DPMSolverMultistep with `"lambda_min_clipped": -Infinity`, UniPC,
                             DEIS), and odd ones (Euler with Karras sigmas, DDPM linear, cosine, zero-SNR, trained betas,
                             thresholding, `_use_default_values`).
  tensors.safetensors        every float record (float32): the shared seeded inputs, alphas_cumprod tables, and per
                             step case its sigmas / alphas, add_noise output and the output of every step.
  manifest.json              everything else (integers exact): the effective config diffusers builds for each
                             (config file, target class, overrides) with `XScheduler.from_config(file, **overrides)`,
                             the timesteps of each step case, its img2img begin index, per-step indices and orders,
                             timestep tables for many step counts, and img2img t_start for a grid of strengths.
  README.md                  what the records mean (written from README_TEXT below).

Step cases: a scheduler is made with `from_config(config, **overrides)`, `set_timesteps(steps)`; for img2img cases the
timesteps are cut exactly like StableDiffusionImg2ImgPipeline.get_timesteps(steps, strength) (which also calls
set_begin_index) and the start sample is `add_noise(original, noise, kept[:1])`; txt2img cases start from
`noise * init_noise_sigma` with no begin index (and record add_noise at timesteps[3], DPM's index_for_timestep path).
Step i feeds model_outputs[i] (and for DDIM with eta > 0 variance_noise[i]) and the previous step's output, as the
pipeline's denoising loop does; the timestep passed is the 0-d int64 tensor the pipeline passes.

Determinism: seeded torch.Generator for every random tensor, one CPU thread, no timestamps, fixed safetensors
metadata, json with fixed key order; a rerun with the same library versions on the same machine gives
byte-identical files (--check). torch's float32 sqrt / log / exp go through MKL, whose results can differ by an ulp
between CPU models (see README_TEXT), so a rebuild elsewhere may differ in the last bit of some records.
"""
import argparse
import filecmp
import json
import math
import os
import shutil
import sys
import tempfile
import warnings

import numpy as np
import safetensors
import safetensors.torch
import torch

import diffusers
from diffusers import (
    DDIMScheduler,
    DEISMultistepScheduler,
    DPMSolverMultistepScheduler,
    UniPCMultistepScheduler,
)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
OUT = os.path.join(REPO, "Tests", "DiffusionTests", "Fixtures", "schedulers")
LATENT_SHAPE = [1, 4, 4, 4]
BANK = 30  # model outputs / variance noises available: the longest run has 30 steps
DDIM, DPM = "DDIMScheduler", "DPMSolverMultistepScheduler"
CLASSES = {DDIM: DDIMScheduler, DPM: DPMSolverMultistepScheduler}

# --------------------------------------------------------------------------------------------------------------------
# Config files. Published ones are copied as they are on the Hub; "saved" ones are written by diffusers itself.

SD15 = {  # runwayml/stable-diffusion-v1-5 (and CompVis v1-4) scheduler/scheduler_config.json
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.6.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}
SD2_BASE = {  # stabilityai/stable-diffusion-2-base
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.8.0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}
SD2_V = {**SD2_BASE, "_class_name": "DDIMScheduler", "prediction_type": "v_prediction"}  # stabilityai/stable-diffusion-2


def trained_betas_100():
    """100 trained betas (a bent ramp, as a list of Python floats: what a JSON config holds)."""
    return [round(1e-4 + 0.03 * (i / 99) ** 1.5, 8) for i in range(100)]


HAND_WRITTEN = {
    "empty": {},  # every value from the target class's defaults
    "sd15": SD15,
    "sd2-base": SD2_BASE,
    "sd2-v": SD2_V,
    "euler-karras": {
        "_class_name": "EulerDiscreteScheduler",
        "_diffusers_version": "0.21.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "interpolation_type": "linear",
        "num_train_timesteps": 1000,
        "prediction_type": "v_prediction",
        "steps_offset": 1,
        "timestep_spacing": "trailing",
        "trained_betas": None,
        "use_karras_sigmas": True,
    },
    "ddpm-linear": {
        "_class_name": "DDPMScheduler",
        "_diffusers_version": "0.1.0",
        "beta_end": 0.02,
        "beta_schedule": "linear",
        "beta_start": 0.0001,
        "clip_sample": True,
        "num_train_timesteps": 1000,
        "variance_type": "fixed_small",
    },
    "cosine": {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.20.0",
        "beta_schedule": "squaredcos_cap_v2",
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "prediction_type": "epsilon",
        "set_alpha_to_one": False,
        "steps_offset": 0,
    },
    "zero-snr": {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.22.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": True,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "trailing",
    },
    "trained-betas": {
        "_class_name": "PNDMScheduler",
        "_diffusers_version": "0.10.0",
        "beta_schedule": "linear",
        "num_train_timesteps": 100,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
        "clip_sample": False,
        "trained_betas": trained_betas_100(),
    },
    "thresholding": {
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.16.0",
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "thresholding": True,
        "dynamic_thresholding_ratio": 0.995,
        "sample_max_value": 1.0,
    },
    "use-default-values": {  # diffusers drops the keys listed in _use_default_values and uses the target's defaults
        "_class_name": "DDIMScheduler",
        "_diffusers_version": "0.25.0",
        "_use_default_values": ["timestep_spacing", "clip_sample"],
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "clip_sample": False,
        "num_train_timesteps": 1000,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "trailing",
    },
}


def saved_config_text(cls, base):
    """The scheduler_config.json diffusers writes for cls.from_config(base).save_config(...)."""
    with tempfile.TemporaryDirectory() as tmp:
        cls.from_config(base).save_config(tmp)
        with open(os.path.join(tmp, "scheduler_config.json"), encoding="utf-8") as f:
            return f.read()


def config_files():
    """name -> exact file text."""
    files = {name: json.dumps(d, indent=2) + "\n" for name, d in HAND_WRITTEN.items()}
    files["dpm-saved"] = saved_config_text(DPMSolverMultistepScheduler, SD15)
    files["unipc-saved"] = saved_config_text(UniPCMultistepScheduler, SD15)
    files["deis-saved"] = saved_config_text(DEISMultistepScheduler, SD15)
    assert "-Infinity" in files["dpm-saved"], "diffusers no longer writes lambda_min_clipped as -Infinity?"
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------------------------------------------------
# Effective configs: what from_config builds, per (file, target, overrides). swift_error names the key the Swift
# port must reject (diffusers supports it; the port does not).

CONFIG_CASES = [
    ("empty", DDIM, {}, None),
    ("empty", DPM, {}, None),
    ("sd15", DDIM, {}, None),
    ("sd15", DPM, {}, None),
    ("sd2-base", DDIM, {}, None),
    ("sd2-base", DPM, {}, None),
    ("sd2-v", DDIM, {}, None),
    ("sd2-v", DPM, {}, None),
    ("dpm-saved", DDIM, {}, None),
    ("dpm-saved", DPM, {}, None),
    ("unipc-saved", DPM, {}, None),  # solver_type bh2 -> midpoint
    ("unipc-saved", DDIM, {}, None),
    # algorithm_type deis -> dpmsolver++, solver_type logrho -> midpoint; but diffusers checks the final sigma against
    # the unmapped "deis" and refuses final_sigmas_type "zero" (its default)
    ("deis-saved", DPM, {}, "final_sigmas_type"),
    ("deis-saved", DPM, {"final_sigmas_type": "sigma_min"}, None),
    ("euler-karras", DDIM, {}, None),
    ("euler-karras", DPM, {}, "use_karras_sigmas"),
    ("euler-karras", DPM, {"use_karras_sigmas": False}, None),
    ("ddpm-linear", DDIM, {}, None),
    ("ddpm-linear", DPM, {}, None),
    ("cosine", DDIM, {}, None),
    ("cosine", DPM, {"lambda_min_clipped": -5.1}, None),
    ("zero-snr", DDIM, {}, None),
    ("zero-snr", DPM, {}, None),
    ("trained-betas", DDIM, {}, None),
    ("trained-betas", DPM, {}, None),
    ("thresholding", DDIM, {}, "thresholding"),
    ("thresholding", DPM, {}, "thresholding"),
    ("use-default-values", DDIM, {}, None),
    ("use-default-values", DPM, {}, None),
    ("sd15", DDIM, {"timestep_spacing": "trailing", "clip_sample": True, "clip_sample_range": 1.5}, None),
    ("sd15", DPM, {"solver_order": 3, "solver_type": "heun", "final_sigmas_type": "sigma_min"}, None),
    ("sd15", DPM, {"algorithm_type": "sde-dpmsolver++"}, "algorithm_type"),
    ("sd15", DPM, {"use_lu_lambdas": True}, "use_lu_lambdas"),
    ("sd15", DPM, {"use_exponential_sigmas": True}, "use_exponential_sigmas"),
    ("sd15", DPM, {"variance_type": "learned_range"}, "variance_type"),
    ("sd15", DPM, {"prediction_type": "flow_prediction"}, "prediction_type"),
]

COMMON_KEYS = ["num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type", "timestep_spacing",
               "steps_offset", "rescale_betas_zero_snr", "thresholding"]
CLASS_KEYS = {
    DDIM: ["clip_sample", "clip_sample_range", "set_alpha_to_one"],
    DPM: ["solver_order", "algorithm_type", "solver_type", "lower_order_final", "euler_at_final", "final_sigmas_type",
          "lambda_min_clipped", "use_karras_sigmas"],
}


def json_number(v):
    if isinstance(v, float) and math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return v


def effective_config(sched, target):
    c = sched.config
    out = {k: json_number(c[k]) for k in COMMON_KEYS + CLASS_KEYS[target]}
    out["trained_betas_count"] = None if c["trained_betas"] is None else len(c["trained_betas"])
    return out


# --------------------------------------------------------------------------------------------------------------------
# Step cases.


def case(name, config, target, steps, strength, eta=0.0, **overrides):
    return {"name": name, "config": config, "scheduler": target, "overrides": overrides, "steps": steps,
            "strength": strength, "eta": eta}


def step_cases():
    cases = []
    # The main matrix: SD 1.5 (epsilon) and SD 2 768 (v_prediction) configs as published, each scheduler with its
    # defaults for what the file leaves out (DPM: linspace, order 2 midpoint, lower_order_final, final sigma zero;
    # DDIM: leading with the file's steps_offset 1), img2img strengths 0.3 / 0.65 / 1.0, 10 and 30 steps.
    for config in ["sd15", "sd2-v"]:
        for target, eta, tag in [(DPM, 0.0, "dpm"), (DDIM, 0.0, "ddim"), (DDIM, 0.3, "ddim-eta0.3")]:
            for steps in [10, 30]:
                for strength in [0.3, 0.65, 1.0]:
                    cases.append(case(f"{config}-{tag}-{steps}-s{strength}", config, target, steps, strength, eta))
    # DPM-Solver++ variants.
    cases += [
        case("dpm-lower-order-final-off-10", "sd15", DPM, 10, 1.0, lower_order_final=False),
        case("dpm-sigma-min-10", "sd15", DPM, 10, 1.0, final_sigmas_type="sigma_min"),
        case("dpm-sigma-min-lof-off-10", "sd15", DPM, 10, 1.0, final_sigmas_type="sigma_min", lower_order_final=False),
        case("dpm-euler-at-final-20", "sd15", DPM, 20, 1.0, final_sigmas_type="sigma_min", euler_at_final=True),
        case("dpm-trailing-25", "sd2-v", DPM, 25, 0.8, timestep_spacing="trailing"),
        case("dpm-leading-20", "sd15", DPM, 20, 0.5, timestep_spacing="leading"),
        case("dpm-order1-20", "sd15", DPM, 20, 1.0, solver_order=1),
        case("dpm-order3-20", "sd15", DPM, 20, 0.75, solver_order=3),
        case("dpm-order3-12", "sd2-v", DPM, 12, 1.0, solver_order=3),
        case("dpm-heun-15", "sd15", DPM, 15, 1.0, solver_type="heun"),
        case("dpm-txt2img-25", "sd15", DPM, 25, None),
        case("dpm-sample-10", "sd15", DPM, 10, 0.7, prediction_type="sample"),
        case("dpm-zero-snr-10", "zero-snr", DPM, 10, 1.0),
        case("dpm-cosine-clipped-10", "cosine", DPM, 10, 1.0, lambda_min_clipped=-5.1),
        case("dpm-linear-10", "ddpm-linear", DPM, 10, 0.9),
        case("dpm-trained-betas-10", "trained-betas", DPM, 10, 0.6),
    ]
    # DDIM variants.
    cases += [
        case("ddim-clip-10", "sd15", DDIM, 10, 1.0, clip_sample=True),
        case("ddim-clip-range-eta0.5-10", "sd15", DDIM, 10, 0.8, 0.5, clip_sample=True, clip_sample_range=1.5),
        case("ddim-alpha-one-10", "sd15", DDIM, 10, 1.0, set_alpha_to_one=True),
        case("ddim-trailing-25", "sd2-v", DDIM, 25, 0.8, timestep_spacing="trailing"),
        case("ddim-linspace-15", "sd15", DDIM, 15, 0.5, timestep_spacing="linspace"),
        case("ddim-zero-snr-10", "zero-snr", DDIM, 10, 1.0),
        case("ddim-txt2img-20", "sd15", DDIM, 20, None),
        case("ddim-sample-10", "sd15", DDIM, 10, 0.7, prediction_type="sample"),
        case("ddim-cosine-10", "cosine", DDIM, 10, 1.0, 1.0),
        case("ddim-linear-10", "ddpm-linear", DDIM, 10, 0.9),
        case("ddim-trained-betas-10", "trained-betas", DDIM, 10, 0.6),
    ]
    return cases


def dpm_order(s, step_index):
    """The solver order DPMSolverMultistepScheduler.step is about to use (its own predicates, read from its state)."""
    c, n = s.config, len(s.timesteps)
    lower_order_final = step_index == n - 1 and (
        c.euler_at_final or (c.lower_order_final and n < 15) or c.final_sigmas_type == "zero")
    lower_order_second = step_index == n - 2 and c.lower_order_final and n < 15
    if c.solver_order == 1 or s.lower_order_nums < 1 or lower_order_final:
        return 1
    if c.solver_order == 2 or s.lower_order_nums < 2 or lower_order_second:
        return 2
    return 3


def run_case(spec, configs, shared, tensors):
    cls = CLASSES[spec["scheduler"]]
    s = cls.from_config(configs[spec["config"]], **spec["overrides"])
    steps, strength = spec["steps"], spec["strength"]
    s.set_timesteps(steps)
    rec = {k: spec[k] for k in ["name", "config", "scheduler", "overrides", "steps", "strength", "eta"]}
    rec["timesteps"] = s.timesteps.tolist()
    key = f"case/{spec['name']}/"
    original, noise = shared["original"], shared["noise"]
    if strength is not None:
        # StableDiffusionImg2ImgPipeline.get_timesteps, verbatim
        init_timestep = min(int(steps * strength), steps)
        t_start = max(steps - init_timestep, 0)
        timesteps = s.timesteps[t_start * s.order:]
        if hasattr(s, "set_begin_index"):
            s.set_begin_index(t_start * s.order)
        rec.update(init_timestep=init_timestep, t_start=t_start, begin_index=t_start * s.order,
                   num_inference_steps=steps - t_start)
        latent_timestep = timesteps[:1].repeat(LATENT_SHAPE[0])
        sample = s.add_noise(original, noise, latent_timestep)
        rec["add_noise_timestep"] = int(latent_timestep[0])
        tensors[key + "add_noise"] = sample
    else:
        timesteps = s.timesteps
        rec.update(begin_index=None)
        sample = noise * s.init_noise_sigma
        t3 = s.timesteps[3:4]
        rec["add_noise_timestep"] = int(t3[0])  # no begin index: DPM looks the timestep up (index_for_timestep)
        tensors[key + "add_noise"] = s.add_noise(original, noise, t3)
    rec["kept_timesteps"] = timesteps.tolist()
    assert len(timesteps) <= BANK
    if spec["scheduler"] == DPM:
        tensors[key + "sigmas"] = s.sigmas.clone()
        rec["step_index"], rec["order"] = [], []
    else:
        alphas = []
        rec["prev_timestep"] = []
    outputs = []
    for i, t in enumerate(timesteps):
        model_output = shared["model_outputs"][i]
        if spec["scheduler"] == DPM:
            index = s.step_index
            if index is None:
                index = s.begin_index if s.begin_index is not None else s.index_for_timestep(t)
            rec["step_index"].append(int(index))
            rec["order"].append(dpm_order(s, index))
            out = s.step(model_output, t, sample).prev_sample
        else:
            prev = int(t) - s.config.num_train_timesteps // s.num_inference_steps
            rec["prev_timestep"].append(prev)
            a_t = s.alphas_cumprod[int(t)]
            a_prev = s.alphas_cumprod[prev] if prev >= 0 else s.final_alpha_cumprod
            alphas.append(torch.stack([a_t, a_prev.to(torch.float32)]))
            kw = {"eta": spec["eta"]}
            if spec["eta"] > 0:
                kw["variance_noise"] = shared["variance_noise"][i]
            out = s.step(model_output, t, sample, **kw).prev_sample
        assert out.dtype == torch.float32
        outputs.append(out)
        sample = out
    tensors[key + "outputs"] = torch.stack(outputs)
    if spec["scheduler"] == DDIM:
        tensors[key + "alphas"] = torch.stack(alphas)
    return rec


# --------------------------------------------------------------------------------------------------------------------
# Timestep tables and img2img t_start.

TABLE_STEPS_1000 = list(range(1, 51)) + [64, 100, 150, 999, 1000]
TABLE_STEPS_100 = list(range(1, 51)) + [64, 99, 100]
TABLES = [
    # (config, target, overrides, step counts)
    ("sd15", DDIM, {"timestep_spacing": "leading"}, TABLE_STEPS_1000),
    ("sd15", DDIM, {"timestep_spacing": "trailing"}, TABLE_STEPS_1000),
    ("sd15", DDIM, {"timestep_spacing": "linspace"}, TABLE_STEPS_1000),
    ("sd15", DPM, {"timestep_spacing": "leading"}, TABLE_STEPS_1000),
    ("sd15", DPM, {"timestep_spacing": "trailing"}, TABLE_STEPS_1000),
    ("sd15", DPM, {"timestep_spacing": "linspace"}, TABLE_STEPS_1000),
    ("cosine", DPM, {"lambda_min_clipped": -5.1}, [1, 2, 3, 5, 10, 20, 25, 50]),
    ("cosine", DPM, {"lambda_min_clipped": -5.1, "timestep_spacing": "leading"}, [1, 2, 3, 5, 10, 20, 25, 50]),
    ("trained-betas", DDIM, {"timestep_spacing": "leading"}, TABLE_STEPS_100),
    ("trained-betas", DDIM, {"timestep_spacing": "trailing"}, TABLE_STEPS_100),
    ("trained-betas", DPM, {"timestep_spacing": "trailing"}, TABLE_STEPS_100),
    ("trained-betas", DPM, {"timestep_spacing": "linspace"}, TABLE_STEPS_100),
]

STRENGTHS = [f"{i * 0.05:.2f}" for i in range(21)] + ["0.33", "0.35", "0.45", "0.55", "0.65", "0.7", "0.85", "0.999"]


def img2img_table():
    strengths = [float(s) for s in STRENGTHS]
    steps = list(range(1, 51))
    t_start = [[max(n - min(int(n * st), n), 0) for st in strengths] for n in steps]
    return {"strengths": strengths, "steps": steps, "t_start": t_start}


# --------------------------------------------------------------------------------------------------------------------

README_TEXT = """# Scheduler parity fixtures

Written by `tools/make_scheduler_fixtures.py` (see its docstring and `tools/README.md`) with diffusers {diffusers},
torch {torch}, numpy {numpy} on CPU; `--check` rebuilds them in a temporary folder and compares byte for byte.
Read by `Tests/DiffusionTests/SchedulerParityTests.swift` and `SchedulerConfigTests.swift`.

## Files

- `configs/*.json`: scheduler_config.json files. `sd15`, `sd2-base`, `sd2-v` are the published SD 1.5, SD 2-base and
  SD 2 (768, v_prediction) files; `dpm-saved`, `unipc-saved`, `deis-saved` are what diffusers writes for
  `XScheduler.from_config(sd15).save_config()` (the DPM one holds `"lambda_min_clipped": -Infinity`, which is not
  standard JSON); the others are small hand-written files for one feature each (`empty`: `{{}}`, all defaults;
  `euler-karras`: Euler with Karras
  sigmas and trailing spacing; `ddpm-linear`: DDPM linear betas with clip_sample; `cosine`: squaredcos_cap_v2;
  `zero-snr`: rescale_betas_zero_snr with trailing v_prediction; `trained-betas`: 100 train timesteps given as a
  list; `thresholding`: thresholding true; `use-default-values`: keys listed in `_use_default_values`, which
  diffusers ignores).
- `manifest.json`: `config_cases` (the effective config diffusers builds for each file, target class and overrides
  with `from_config(file, **overrides)`; `swift_error` names the key the Swift port rejects instead, since it does not
  implement that feature), `schedules` (which alphas_cumprod record belongs to which config and class),
  `step_cases` (below), `timestep_tables` (`set_timesteps(n)` for many n) and `img2img` (`t_start` of
  `get_timesteps(n, strength)` for n = 1...50 and a grid of strengths; `t_start == n` means no step is kept, where
  diffusers fails).
- `tensors.safetensors` (float32): `shared/original` (the clean latent, shape {shape}), `shared/noise`,
  `shared/model_outputs` and `shared/variance_noise` ({bank} x {shape}, seeded randn), `alphas_cumprod/<schedule>`
  (the scheduler's float32 alphas_cumprod), and per step case `case/<name>/...`.

## Step cases

A scheduler is built with `from_config(configs/<config>.json, **overrides)` and `set_timesteps(steps)`; `timesteps`
is the full schedule. Img2img cases (`strength` set) cut it like `StableDiffusionImg2ImgPipeline.get_timesteps`:
`init_timestep = min(int(steps * strength), steps)`, `t_start = max(steps - init_timestep, 0)`, `kept_timesteps =
timesteps[t_start * order:]`, `set_begin_index(t_start * order)` (DPM only; DDIM has no begin index), and
`case/<name>/add_noise = add_noise(original, noise, kept_timesteps[0])` is the first sample. Txt2img cases
(`strength` null, `begin_index` null) start from `noise` (init_noise_sigma is 1) and record `add_noise` at
`timesteps[3]` without a begin index (DPM then finds the index with `index_for_timestep`).

Step i (0-based over `kept_timesteps`) calls `step(shared/model_outputs[i], kept_timesteps[i], sample)` (DDIM:
`eta=eta`, and `variance_noise=shared/variance_noise[i]` when eta > 0) on the previous output;
`case/<name>/outputs` is every step's `prev_sample` ([k] + shape).

- DPM cases: `case/<name>/sigmas` is the scheduler's `sigmas` after set_timesteps (len(timesteps) + 1, the last is
  the final sigma); `step_index` and `order` list, per step, the index into sigmas and the solver order used.
- DDIM cases: `prev_timestep` (t - num_train_timesteps // steps) and `case/<name>/alphas` ([k, 2]: alpha_prod_t and
  alpha_prod_t_prev, the final_alpha_cumprod when prev_timestep < 0).

## Numerics (diffusers {diffusers}, what a port must do to match)

- betas: `torch.linspace(..., dtype=float32)` (scaled_linear: of sqrt(beta_start), sqrt(beta_end), then squared in
  float32); on this x86-64 CPU torch's scalar linspace kernel is `start + step * i` for i < n / 2 and
  `end - step * (n - 1 - i)` above, in float32 with a fused multiply-add. squaredcos_cap_v2 betas are computed in
  float64 and stored as float32; trained_betas are rounded to float32.
- alphas = 1 - betas (float32); alphas_cumprod is `torch.cumprod` (float32 values accumulated in float64, each
  partial product rounded to float32).
- DDIM: every scalar (alpha_prod_t, beta_prod_t, variance, std_dev_t = eta * variance ** 0.5 with eta rounded to
  float32) is a 0-d float32 tensor; the update is float32 tensor arithmetic in diffusers' order.
- DPM: sigmas = sqrt((1 - alphas_cumprod) / alphas_cumprod) in float32, picked at the (integer) timesteps (np.interp
  at integer points is exact), then the final sigma appended; alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma *
  alpha_t, lambda = log(alpha_t) - log(sigma_t), h and the coefficients are 0-d float32 tensors.
- This torch build computes float32 sqrt, log and exp on CPU with MKL VML, which does not round correctly: on the
  AMD EPYC that wrote these files, sqrt differs from the correctly rounded root by one ulp for about 18% of inputs
  (always within 0.75 ulp), log for 7%, exp for 1%. Products, quotients, sums and cumprod are exact IEEE float32.
  A port with correctly rounded sqrt / log / exp therefore matches alphas_cumprod bit for bit (except the
  zero-terminal-SNR rescaling, which takes square roots), DPM sigmas within one ulp, and the step outputs within
  about 1e-6 of their scale. MKL picks its code by CPU: regenerated on another CPU, the records may move by an ulp
  and `--check` then reports a difference that is not a change of behaviour.
- Timesteps use numpy float64 (`np.linspace`, `np.arange` with a float step, `round` half to even).
"""


def build(out):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    diffusers.utils.logging.set_verbosity_error()
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "configs"))

    files = config_files()
    configs = {}
    for name, text in files.items():
        with open(os.path.join(out, "configs", name + ".json"), "w", encoding="utf-8") as f:
            f.write(text)
        configs[name] = json.loads(text)

    def randn(seed, *shape):
        return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)

    shared = {
        "original": randn(11, *LATENT_SHAPE),
        "noise": randn(12, *LATENT_SHAPE),
        "model_outputs": randn(13, BANK, *LATENT_SHAPE),
        "variance_noise": randn(14, BANK, *LATENT_SHAPE),
    }
    tensors = {f"shared/{k}": v for k, v in shared.items()}

    config_cases = []
    for config, target, overrides, swift_error in CONFIG_CASES:
        record = {"config": config, "scheduler": target, "overrides": overrides, "swift_error": swift_error}
        try:
            s = CLASSES[target].from_config(configs[config], **overrides)
            record["effective"] = effective_config(s, target)
        except ValueError as e:  # diffusers refuses it too
            assert swift_error is not None, (config, target, e)
            record["diffusers_error"] = str(e)
        config_cases.append(record)

    schedules = []
    seen = {}
    for config in files:
        for target in [DDIM, DPM]:
            if any(c[:3] == (config, target, {}) and c[3] for c in CONFIG_CASES):
                continue  # the Swift port rejects this file for this class
            s = CLASSES[target].from_config(configs[config])
            ac = s.alphas_cumprod.clone()
            sig = ac.numpy().tobytes()
            if sig not in seen:
                seen[sig] = f"alphas_cumprod/{config}-{'ddim' if target == DDIM else 'dpm'}"
                tensors[seen[sig]] = ac
            schedules.append({"config": config, "scheduler": target, "alphas_cumprod": seen[sig]})

    step_records = [run_case(spec, configs, shared, tensors) for spec in step_cases()]

    tables = []
    for config, target, overrides, counts in TABLES:
        s = CLASSES[target].from_config(configs[config], **overrides)
        rows = {}
        for n in counts:
            s.set_timesteps(n)
            rows[str(n)] = s.timesteps.tolist()
        tables.append({"config": config, "scheduler": target, "overrides": overrides, "timesteps": rows})

    manifest = {
        "generator": "tools/make_scheduler_fixtures.py",
        "versions": {"diffusers": diffusers.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     "safetensors": safetensors.__version__},
        "latent_shape": LATENT_SHAPE,
        "config_cases": config_cases,
        "schedules": schedules,
        "step_cases": step_records,
        "timestep_tables": tables,
        "img2img": img2img_table(),
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(compact_json(manifest) + "\n")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in sorted(tensors.items())}
    safetensors.torch.save_file(tensors, os.path.join(out, "tensors.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(README_TEXT.format(diffusers=diffusers.__version__, torch=torch.__version__, numpy=np.__version__,
                                   shape="x".join(map(str, LATENT_SHAPE)), bank=BANK))


def compact_json(value, indent=""):
    """JSON with one key per line, but lists of numbers (and short objects) on one line; standard JSON (no NaN)."""
    if isinstance(value, dict):
        flat = json.dumps(value, allow_nan=False)
        if len(flat) <= 100 or not value:
            return flat
        inner = indent + " "
        items = [f"{inner}{json.dumps(k)}: {compact_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        inner = indent + " "
        return "[\n" + ",\n".join(inner + compact_json(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, allow_nan=False)


def compare_trees(a, b):
    """Relative paths that differ between two folders (missing on either side counts)."""
    def listing(root):
        found = set()
        for dirpath, _, names in os.walk(root):
            for n in names:
                found.add(os.path.relpath(os.path.join(dirpath, n), root))
        return found
    la, lb = listing(a), listing(b)
    diff = sorted(la ^ lb)
    for rel in sorted(la & lb):
        if not filecmp.cmp(os.path.join(a, rel), os.path.join(b, rel), shallow=False):
            diff.append(rel)
    return diff


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=OUT, help="output folder (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare; write nothing")
    args = p.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = os.path.join(tmp, "schedulers")
            build(fresh)
            diff = compare_trees(fresh, args.out)
        if diff:
            print("differs from a fresh build: " + ", ".join(diff))
            sys.exit(1)
        print(f"{args.out}: identical to a fresh build")
        return
    build(args.out)
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(args.out) for n in ns)
    print(f"wrote {args.out} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
