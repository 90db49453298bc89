#!/usr/bin/env python3
"""Build the AutoencoderTiny (TAESD) parity fixtures of Tests/DiffusionTests/Fixtures/taesd (issue 17): diffusers 0.42.1
AutoencoderTiny models with seeded random weights (TAESD's structure at a small width, saved with save_pretrained:
config.json + diffusion_pytorch_model.safetensors), and what they compute on seeded inputs.

  /root/venv-ref/bin/python tools/make_taesd_fixtures.py            # (re)write the folder
  /root/venv-ref/bin/python tools/make_taesd_fixtures.py --check    # rebuild in a temporary folder, compare bytes

Folders: `factor8` (4 levels, TAESD's layout: encoder blocks 1-3-3-3 here 1-2-2-2, decoder 2-2-2-1; 8 channels) and
`factor4` (3 levels, for the sd2-like parity model whose VAE factor is 4). `expected.safetensors`, per folder:
`<name>.image` (1, 3, 32, 32) in [-1, 1], `<name>.latents` = encode(image), `<name>.given_latents` (randn x 2, so
the decoder's 3 tanh(x / 3) clamp matters), `<name>.decoded` = decode(given_latents), `<name>.roundtrip` =
decode(encode(image)); `img2img.*`: StableDiffusionImg2ImgPipeline on the sd2-like parity model with `pipe.vae` set
to the factor-4 TAESD (Euler trailing 2 steps at guidance 0; DPM-Solver++ 10 steps at 7.5), step by step with that
folder's image and latent noise. Weights are diffusers' default initialisation from a seeded generator, scaled by 1.5 so
activations neither vanish nor saturate.
"""
import os

import safetensors.torch
import torch

import fixture_folder  # tools/fixture_folder.py

from diffusers import AutoencoderTiny

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "taesd")
MODELS = {
    "factor8": dict(encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
                    num_encoder_blocks=(1, 2, 2, 2), num_decoder_blocks=(2, 2, 2, 1), latent_channels=4),
    "factor4": dict(encoder_block_out_channels=(8, 8, 8), decoder_block_out_channels=(8, 8, 8),
                    num_encoder_blocks=(1, 2, 2), num_decoder_blocks=(2, 2, 1), latent_channels=4),
}


def build(out):
    torch.set_num_threads(1)
    expected = {}
    for k, (name, kwargs) in enumerate(MODELS.items()):
        torch.manual_seed(100 + k)
        model = AutoencoderTiny(**kwargs).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.mul_(1.5)
        model.save_pretrained(os.path.join(out, name), safe_serialization=True)
        g = torch.Generator().manual_seed(200 + k)
        image = torch.rand([1, 3, 32, 32], generator=g) * 2 - 1
        f = 2 ** (len(kwargs["encoder_block_out_channels"]) - 1)
        given = torch.randn([1, 4, 32 // f, 32 // f], generator=g) * 2
        with torch.no_grad():
            latents = model.encode(image).latents
            expected[f"{name}.image"] = image
            expected[f"{name}.latents"] = latents
            expected[f"{name}.given_latents"] = given
            expected[f"{name}.decoded"] = model.decode(given).sample
            expected[f"{name}.roundtrip"] = model.decode(latents).sample
    img2img(os.path.join(out, "factor4"), expected)
    safetensors.torch.save_file({k: v.contiguous() for k, v in sorted(expected.items())}, os.path.join(out, "expected.safetensors"),
                                metadata={"generator": "tools/make_taesd_fixtures.py"})


PARITY = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "parity", "sd2-like")
PROMPT = "a photo of an astronaut riding a horse"
# name -> (scheduler class name, overrides, strength, steps, guidance)
IMG2IMG_CASES = {
    "euler-trailing-s0.5-n2-g0": ("euler", {"timestep_spacing": "trailing"}, 0.5, 2, 0.0),
    "dpm-s0.65-n10-g7.5": ("dpm", {"algorithm_type": "dpmsolver++", "solver_order": 2, "solver_type": "midpoint",
                                   "lower_order_final": True, "final_sigmas_type": "zero", "timestep_spacing": "linspace",
                                   "use_karras_sigmas": False}, 0.65, 10, 7.5),
}


def img2img(taesd_folder, expected):
    """StableDiffusionImg2ImgPipeline on the sd2-like parity model with its VAE replaced by the factor-4 TAESD
    (pipe.vae = AutoencoderTiny), written out step by step with that folder's image and latent noise:
    `img2img.<case>.reference_latent`, `.noised`, `.step.<i>`, `.decoded`."""
    import transformers
    level = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    from diffusers import DPMSolverMultistepScheduler, EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img import retrieve_latents
    transformers.utils.logging.set_verbosity(level)

    given = safetensors.torch.load_file(os.path.join(PARITY, "expected", "img2img.safetensors"))
    image, latent_noise = given["image"], given["latent_noise"]
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(PARITY, dtype=torch.float32, safety_checker=None,
                                                          feature_extractor=None, requires_safety_checker=False)
    pipe.vae = AutoencoderTiny.from_pretrained(taesd_folder)
    folder_config = pipe.scheduler.config
    classes = {"euler": EulerDiscreteScheduler, "dpm": DPMSolverMultistepScheduler}
    with torch.no_grad():
        for name, (kind, overrides, strength, steps, guidance) in IMG2IMG_CASES.items():
            scheduler = pipe.scheduler = classes[kind].from_config(folder_config, **overrides)
            cfg = guidance > 1
            cond, uncond = pipe.encode_prompt(PROMPT, "cpu", 1, cfg, "")
            embeds = torch.cat([uncond, cond]) if cfg else cond
            init = retrieve_latents(pipe.vae.encode(image)) * pipe.vae.config.scaling_factor
            expected[f"img2img.{name}.reference_latent"] = init
            scheduler.set_timesteps(steps, device="cpu")
            timesteps, _ = pipe.get_timesteps(steps, strength, "cpu")
            latents = scheduler.add_noise(init, latent_noise, timesteps[:1])
            expected[f"img2img.{name}.noised"] = latents
            for i, t in enumerate(timesteps):
                model_input = scheduler.scale_model_input(torch.cat([latents] * 2) if cfg else latents, t)
                noise_pred = pipe.unet(model_input, t, encoder_hidden_states=embeds).sample
                if cfg:
                    u, c = noise_pred.chunk(2)
                    noise_pred = u + guidance * (c - u)
                latents = scheduler.step(noise_pred, t, latents).prev_sample
                expected[f"img2img.{name}.step.{i}"] = latents
            expected[f"img2img.{name}.decoded"] = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample


def main():
    fixture_folder.main(__doc__, OUT, build)


if __name__ == "__main__":
    main()
