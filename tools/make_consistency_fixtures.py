#!/usr/bin/env python3
"""Build the LCMScheduler and TCDScheduler parity fixtures of Tests/DiffusionTests/Fixtures/consistency (issue 17):
what diffusers 0.42.1 computes (PyTorch, CPU, float32) for SD 1.5 / SD 2 style configs.

  /root/venv-ref/bin/python tools/make_consistency_fixtures.py            # (re)write the folder
  /root/venv-ref/bin/python tools/make_consistency_fixtures.py --check    # rebuild in a temporary folder, compare bytes

manifest.json: the configs (JSON objects read like scheduler_config.json files), timesteps per (scheduler, config,
steps), and the step cases. tensors.safetensors: the seeded inputs and per case the start sample and every step's
noise (`<case>.noise.<i>`, what the step drew from its seeded generator) and output.

Step cases run like StableDiffusionImg2ImgPipeline with the scheduler swapped: set_timesteps(steps),
get_timesteps(steps, strength) + set_begin_index, add_noise(original, noise, timesteps[:1]); then per kept timestep
step(model_outputs[i], t, sample, [eta=gamma,] generator=Generator().manual_seed(1000 + i)). txt2img cases start
from noise * init_noise_sigma with no begin index.
"""
import json
import os

import numpy as np
import safetensors.torch
import torch

import fixture_folder  # tools/fixture_folder.py
from diffusers import LCMScheduler, TCDScheduler

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "consistency")
SHAPE = [1, 4, 4, 4]
SD15 = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
        "steps_offset": 1, "trained_betas": None, "clip_sample": False}
CONFIGS = {
    "sd15": SD15,
    "sd2-v": {**SD15, "_class_name": "DDIMScheduler", "prediction_type": "v_prediction"},
    "clip-sample": {**SD15, "clip_sample": True, "clip_sample_range": 0.5, "prediction_type": "sample"},
    "original-25": {**SD15, "original_inference_steps": 25, "set_alpha_to_one": True},
}
CLASSES = {"LCMScheduler": LCMScheduler, "TCDScheduler": TCDScheduler}
TABLE_STEPS = [1, 2, 3, 4, 6, 8, 25]
# (name, class, config, steps, strength or None for txt2img, gamma for TCD)
CASES = [
    ("lcm-sd15-4-1.0", "LCMScheduler", "sd15", 4, 1.0, None),
    ("lcm-sd15-4-0.5", "LCMScheduler", "sd15", 4, 0.5, None),
    ("lcm-sd15-4-txt2img", "LCMScheduler", "sd15", 4, None, None),
    ("lcm-v-6-0.7", "LCMScheduler", "sd2-v", 6, 0.7, None),
    ("lcm-clip-8-0.6", "LCMScheduler", "clip-sample", 8, 0.6, None),
    ("tcd-sd15-4-0.5-g0.3", "TCDScheduler", "sd15", 4, 0.5, 0.3),
    ("tcd-sd15-4-1.0-g0", "TCDScheduler", "sd15", 4, 1.0, 0.0),
    ("tcd-v-6-0.7-g0.5", "TCDScheduler", "sd2-v", 6, 0.7, 0.5),
    ("tcd-sample-8-0.6-g0.3", "TCDScheduler", "clip-sample", 8, 0.6, 0.3),
    ("tcd-orig25-4-txt2img-g0.3", "TCDScheduler", "original-25", 4, None, 0.3),
]


def build(out):
    torch.set_num_threads(1)
    tensors = {}
    g = torch.Generator().manual_seed(2024)
    original, noise = torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)
    model_outputs = torch.randn([8] + SHAPE, generator=g)
    tensors["original"], tensors["noise"], tensors["model_outputs"] = original, noise, model_outputs
    manifest = {"diffusers": __import__("diffusers").__version__, "configs": CONFIGS, "tables": [], "cases": []}
    for cls_name, cls in CLASSES.items():
        for name, config in CONFIGS.items():
            s = cls.from_config(config)
            table = {"scheduler": cls_name, "config": name, "steps": {}}
            for n in TABLE_STEPS:
                if n > s.config.original_inference_steps:
                    continue
                s.set_timesteps(n)
                table["steps"][str(n)] = [int(t) for t in s.timesteps]
            manifest["tables"].append(table)
    for name, cls_name, config_name, steps, strength, gamma in CASES:
        s = CLASSES[cls_name].from_config(CONFIGS[config_name])
        s.set_timesteps(steps)
        rec = {"name": name, "scheduler": cls_name, "config": config_name, "steps": steps, "strength": strength, "gamma": gamma}
        if strength is not None:
            init_timestep = min(int(steps * strength), steps)
            t_start = max(steps - init_timestep, 0)
            kept = s.timesteps[t_start * s.order:]
            s.set_begin_index(t_start * s.order)
            sample = s.add_noise(original, noise, kept[:1])
        else:
            kept = s.timesteps
            sample = noise * s.init_noise_sigma
        rec["timesteps"] = [int(t) for t in kept]
        tensors[name + ".start"] = sample
        for i, t in enumerate(kept):
            kwargs = {"eta": gamma} if gamma is not None else {}
            tensors[f"{name}.noise.{i}"] = torch.randn(SHAPE, generator=torch.Generator().manual_seed(1000 + i))
            sample = s.step(model_outputs[i], t, sample, generator=torch.Generator().manual_seed(1000 + i), **kwargs).prev_sample
            tensors[f"{name}.step.{i}"] = sample
        manifest["cases"].append(rec)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, sort_keys=True)
        f.write("\n")
    safetensors.torch.save_file({k: v.contiguous() for k, v in sorted(tensors.items())}, os.path.join(out, "tensors.safetensors"),
                                metadata={"generator": "tools/make_consistency_fixtures.py"})


def main():
    fixture_folder.main(__doc__, OUT, build)


if __name__ == "__main__":
    main()
