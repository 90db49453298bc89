#!/usr/bin/env python3
"""Build the EulerDiscreteScheduler parity fixtures of Tests/DiffusionTests/Fixtures/euler (issue 17): what diffusers
0.42.1's EulerDiscreteScheduler (PyTorch, CPU, float32) computes for Stable Diffusion style configs, so that the Swift
EulerDiscreteScheduler can be checked step by step.

  /root/venv-ref/bin/python tools/make_euler_fixtures.py            # (re)write the folder
  /root/venv-ref/bin/python tools/make_euler_fixtures.py --check    # rebuild in a temporary folder, compare bytes

Output (about 60 KB):
  manifest.json       configs (as JSON objects, read by the Swift test like scheduler_config.json files), per config
                      and step count the timesteps and sigmas (float32 values written as exact decimals), the
                      effective config diffusers builds, and the step cases (config, steps, strength or txt2img, the
                      begin index, init_noise_sigma).
  tensors.safetensors the seeded inputs and, per step case, the add_noise output and every step's scaled model input
                      and output (float32); img2img.* records.

img2img records: StableDiffusionImg2ImgPipeline on the committed parity model Fixtures/parity/sd2-like with the
scheduler swapped for EulerDiscreteScheduler.from_config(folder config, **overrides) (leading, linspace with its
fractional timesteps, trailing at guidance 0), written out step by step with that folder's image and noise
(expected/img2img.safetensors): noised latent, every step's latent, the last step's taps, the decoded image.

Step cases run like StableDiffusionImg2ImgPipeline: set_timesteps(steps), get_timesteps(steps, strength) (which calls
set_begin_index), add_noise(original, noise, timesteps[:1]); then per kept timestep scale_model_input(sample, t) and
step(model_outputs[i], t, sample). txt2img cases start from noise * init_noise_sigma with no begin index (the
index_for_timestep path). Deterministic: seeded generators, one thread, fixed key order.
"""
import json
import os
import sys

import numpy as np
import safetensors.torch
import torch

import fixture_folder  # tools/fixture_folder.py

import diffusers
from diffusers import EulerDiscreteScheduler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "euler")
SHAPE = [1, 4, 4, 4]
BANK = 30

SD2_BASE = {  # stabilityai/stable-diffusion-2-base scheduler_config.json (PNDM; no timestep_spacing: Euler's linspace)
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "epsilon",
    "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
}
SD_TURBO = {  # stabilityai/sd-turbo scheduler_config.json
    "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False, "interpolation_type": "linear",
    "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": False,
    "skip_prk_steps": True, "steps_offset": 1, "timestep_spacing": "trailing", "trained_betas": None,
    "use_karras_sigmas": False,
}
CONFIGS = {
    "sd2-base": SD2_BASE,
    "sd-turbo": SD_TURBO,
    "sd2-v-leading": {**SD2_BASE, "_class_name": "DDIMScheduler", "prediction_type": "v_prediction", "timestep_spacing": "leading"},
    "sample-sigma-min": {**SD_TURBO, "prediction_type": "sample", "final_sigmas_type": "sigma_min", "timestep_spacing": "linspace"},
    "zero-snr": {**SD_TURBO, "prediction_type": "v_prediction", "rescale_betas_zero_snr": True},
    "linear-defaults": {},
}
TABLE_STEPS = [1, 2, 3, 4, 7, 10, 25, 30, 50, 250]
# (name, config, steps, strength or None for txt2img)
STEP_CASES = [
    ("turbo-2-0.5", "sd-turbo", 2, 0.5),
    ("turbo-4-1.0", "sd-turbo", 4, 1.0),
    ("turbo-1-1.0", "sd-turbo", 1, 1.0),
    ("turbo-4-txt2img", "sd-turbo", 4, None),
    ("sd2-base-30-0.5", "sd2-base", 30, 0.5),
    ("sd2-base-6-txt2img", "sd2-base", 6, None),
    ("v-leading-10-0.3", "sd2-v-leading", 10, 0.3),
    ("sample-sigma-min-8-0.6", "sample-sigma-min", 8, 0.6),
    ("zero-snr-5-0.7", "zero-snr", 5, 0.7),
]


def exact(values):
    """float32 values as the shortest decimals that read back to the same float32 (via float64)."""
    return [float(np.float32(v)) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def make(config):
    return EulerDiscreteScheduler.from_config(config)


def build(out):
    torch.set_num_threads(1)
    tensors = {}
    g = torch.Generator().manual_seed(1717)
    original = torch.randn(SHAPE, generator=g)
    noise = torch.randn(SHAPE, generator=g)
    model_outputs = torch.randn([BANK] + SHAPE, generator=g)
    tensors["original"], tensors["noise"], tensors["model_outputs"] = original, noise, model_outputs

    manifest = {"diffusers": diffusers.__version__, "torch": torch.__version__, "configs": CONFIGS, "tables": [], "cases": []}
    for name, config in CONFIGS.items():
        s = make(config)
        effective = {k: s.config[k] for k in ["timestep_spacing", "prediction_type", "steps_offset", "final_sigmas_type",
                                               "interpolation_type", "rescale_betas_zero_snr", "num_train_timesteps"]}
        table = {"config": name, "effective": effective, "steps": {}}
        for n in TABLE_STEPS:
            s.set_timesteps(n)
            table["steps"][str(n)] = {"timesteps": exact(s.timesteps), "sigmas": exact(s.sigmas),
                                      "init_noise_sigma": float(np.float32(s.init_noise_sigma))}
        manifest["tables"].append(table)

    for name, config_name, steps, strength in STEP_CASES:
        s = make(CONFIGS[config_name])
        s.set_timesteps(steps)
        rec = {"name": name, "config": config_name, "steps": steps, "strength": strength}
        if strength is not None:
            init_timestep = min(int(steps * strength), steps)
            t_start = max(steps - init_timestep, 0)
            kept = s.timesteps[t_start * s.order:]
            s.set_begin_index(t_start * s.order)
            rec["begin_index"] = t_start * s.order
            sample = s.add_noise(original, noise, kept[:1])
        else:
            kept = s.timesteps
            rec["begin_index"] = None
            sample = noise * s.init_noise_sigma
        rec["timesteps"] = exact(kept)
        tensors[name + ".start"] = sample
        for i, t in enumerate(kept):
            scaled = s.scale_model_input(sample, t)
            tensors[f"{name}.scaled.{i}"] = scaled
            sample = s.step(model_outputs[i], t, sample).prev_sample
            tensors[f"{name}.step.{i}"] = sample
        manifest["cases"].append(rec)

    manifest["img2img"] = img2img(tensors)

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, sort_keys=True)
        f.write("\n")
    safetensors.torch.save_file({k: v.contiguous() for k, v in sorted(tensors.items())},
                                os.path.join(out, "tensors.safetensors"), metadata={"generator": "tools/make_euler_fixtures.py"})


PARITY = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "parity", "sd2-like")
PROMPT, NEGATIVE_PROMPT = "a photo of an astronaut riding a horse", ""
# name -> (scheduler overrides, strength, steps, guidance); the folder's own config is DDIM's "leading"
IMG2IMG_CASES = {
    "folder-s0.5-n10-g7.5": ({}, 0.5, 10, 7.5),
    "linspace-s0.6-n7-g7.5": ({"timestep_spacing": "linspace"}, 0.6, 7, 7.5),  # fractional timesteps
    "trailing-s0.5-n2-g0": ({"timestep_spacing": "trailing"}, 0.5, 2, 0.0),
}


def img2img(tensors):
    """StableDiffusionImg2ImgPipeline with EulerDiscreteScheduler.from_config(folder config, **overrides) on the
    committed sd2-like parity model, written out step by step like tools/make_fixtures.py's run_img2img, with the
    image and noise of that folder's expected/img2img.safetensors."""
    import transformers
    sys.path.insert(0, HERE)
    import taps  # tools/taps.py

    level = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    from diffusers import StableDiffusionImg2ImgPipeline
    transformers.utils.logging.set_verbosity(level)

    given = safetensors.torch.load_file(os.path.join(PARITY, "expected", "img2img.safetensors"))
    image, posterior_noise, latent_noise = given["image"], given["posterior_noise"], given["latent_noise"]
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(PARITY, dtype=torch.float32, safety_checker=None, feature_extractor=None,
                                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    folder_config = pipe.scheduler.config
    vae, unet = pipe.vae, pipe.unet
    sf = vae.config.scaling_factor
    record = {"folder": "parity/sd2-like", "prompt": PROMPT, "negative_prompt": NEGATIVE_PROMPT, "cases": {}}
    with torch.no_grad():
        dist = vae.encode(image).latent_dist
        init = (dist.mean + dist.std * posterior_noise) * sf
        for name, (overrides, strength, steps, guidance) in IMG2IMG_CASES.items():
            pipe.scheduler = EulerDiscreteScheduler.from_config(folder_config, **overrides)
            scheduler = pipe.scheduler
            cfg = guidance > 1
            cond, uncond = pipe.encode_prompt(PROMPT, "cpu", 1, cfg, NEGATIVE_PROMPT)
            embeds = torch.cat([uncond, cond]) if cfg else cond
            scheduler.set_timesteps(steps, device="cpu")
            timesteps, _ = pipe.get_timesteps(steps, strength, "cpu")
            latents = scheduler.add_noise(init, latent_noise, timesteps[:1])
            tensors[f"img2img.{name}.noised"] = latents
            with taps.TapRecorder(unet) as rec:
                for i, t in enumerate(timesteps):
                    model_input = scheduler.scale_model_input(torch.cat([latents] * 2) if cfg else latents, t)
                    noise_pred = unet(model_input, t, encoder_hidden_states=embeds).sample
                    if cfg:
                        u, c = noise_pred.chunk(2)
                        noise_pred = u + guidance * (c - u)
                    latents = scheduler.step(noise_pred, t, latents).prev_sample
                    tensors[f"img2img.{name}.step.{i}"] = latents
                for group, tensor in rec.taps(batch_index=1 if cfg else 0).items():
                    tensors[f"img2img.{name}.taps.{group}"] = tensor
            tensors[f"img2img.{name}.decoded"] = vae.decode(latents / sf).sample
            record["cases"][name] = {"overrides": overrides, "strength": strength, "steps": steps, "guidance": guidance,
                                     "timesteps": exact(timesteps), "taps_timestep": float(np.float32(timesteps[-1]))}
    tensors["img2img.reference_latent"] = init
    return record


def main():
    fixture_folder.main(__doc__, OUT, build)


if __name__ == "__main__":
    main()
