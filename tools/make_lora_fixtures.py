#!/usr/bin/env python3
"""Build the LoRA parity fixtures of Tests/DiffusionTests/Fixtures/lora (issue 17): seeded random LoRAs for the
sd2-like parity model in the two key layouts users meet, and the weights diffusers 0.42.1 fuses from them.

  /root/venv-ref/bin/python tools/make_lora_fixtures.py            # (re)write the folder
  /root/venv-ref/bin/python tools/make_lora_fixtures.py --check    # rebuild in a temporary folder, compare bytes

Needs peft (tools/requirements-reference.txt). Files:
  kohya.safetensors      kohya / sd-scripts layout: `lora_unet_<module with _>.lora_down.weight`, `.lora_up.weight`,
                         `.alpha`; `lora_te_text_model_...` for the text encoder. Rank 2, alpha 4 (scaling 2).
  diffusers.safetensors  diffusers' own layout (`save_lora_weights`, PEFT names): `unet.<module>.lora_A.weight`,
                         `.lora_B.weight`, `text_encoder.<module>...`; rank 2, no alpha (scaling 1).
  expected.safetensors   for each LoRA, every weight `StableDiffusionImg2ImgPipeline.load_lora_weights(file)` +
                         `fuse_lora(lora_scale=0.8)` changed: `<lora>.unet.<key>`, `<lora>.text_encoder.<key>` (keys as
                         in the model's own safetensors files).
Targets: every attention projection of the UNet (to_q/k/v, to_out.0), one 3x3 resnet convolution, one proj_in, and
the text encoder's q/k/v/out projections of its first layer and one MLP.
"""
import os

import safetensors.torch
import torch

import fixture_folder  # tools/fixture_folder.py

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "lora")
PARITY = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "parity", "sd2-like")
RANK, ALPHA, SCALE = 2, 4.0, 0.8


def model_weights(name, filename):
    return safetensors.torch.load_file(os.path.join(PARITY, name, filename))


def targets():
    unet = model_weights("unet", "diffusion_pytorch_model.safetensors")
    te = model_weights("text_encoder", "model.safetensors")
    u = [k for k in sorted(unet) if k.endswith((".to_q.weight", ".to_k.weight", ".to_v.weight", ".to_out.0.weight"))]
    u += [next(k for k in sorted(unet) if k.endswith("resnets.0.conv1.weight")), next(k for k in sorted(unet) if k.endswith("proj_in.weight"))]
    t = [k for k in sorted(te) if k.startswith("text_model.encoder.layers.0.self_attn.") and k.endswith("proj.weight")]
    t += ["text_model.encoder.layers.0.mlp.fc1.weight"]
    return {"unet": {k: unet[k].shape for k in u}, "text_encoder": {k: te[k].shape for k in t}}


def random_pair(shape, g):
    out_f, in_f = shape[0], shape[1]
    if len(shape) == 4:
        return torch.randn([RANK, in_f, shape[2], shape[3]], generator=g) * 0.3, torch.randn([out_f, RANK, 1, 1], generator=g) * 0.3
    return torch.randn([RANK, in_f], generator=g) * 0.3, torch.randn([out_f, RANK], generator=g) * 0.3


def build(out):
    torch.set_num_threads(1)
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(77)
    kohya, peft_layout = {}, {}
    for component, keys in targets().items():
        prefix = "lora_unet_" if component == "unet" else "lora_te_"
        for key, shape in keys.items():
            module = key[: -len(".weight")]
            down, up = random_pair(shape, g)
            name = prefix + module.replace(".", "_")
            kohya[name + ".lora_down.weight"], kohya[name + ".lora_up.weight"] = down, up
            kohya[name + ".alpha"] = torch.tensor(ALPHA)
            down, up = random_pair(shape, g)
            peft_layout[f"{component}.{module}.lora_A.weight"], peft_layout[f"{component}.{module}.lora_B.weight"] = down, up
    safetensors.torch.save_file(kohya, os.path.join(out, "kohya.safetensors"), metadata={"format": "pt"})
    safetensors.torch.save_file(peft_layout, os.path.join(out, "diffusers.safetensors"), metadata={"format": "pt"})

    import transformers
    level = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    from diffusers import StableDiffusionImg2ImgPipeline
    transformers.utils.logging.set_verbosity(level)
    expected = {}
    for lora in ["kohya", "diffusers"]:
        pipe = StableDiffusionImg2ImgPipeline.from_pretrained(PARITY, dtype=torch.float32, safety_checker=None,
                                                              feature_extractor=None, requires_safety_checker=False)
        pipe.load_lora_weights(os.path.join(out, f"{lora}.safetensors"))
        pipe.fuse_lora(lora_scale=SCALE)
        for component, model, root in [("unet", pipe.unet, ""), ("text_encoder", pipe.text_encoder, "text_model.")]:
            for name, module in model.named_modules():
                if hasattr(module, "base_layer"):
                    key = name.removeprefix("text_model.")
                    expected[f"{lora}.{component}.{root}{key}.weight"] = module.base_layer.weight.detach().clone()
    safetensors.torch.save_file({k: v.contiguous() for k, v in sorted(expected.items())}, os.path.join(out, "expected.safetensors"),
                                metadata={"generator": f"tools/make_lora_fixtures.py, lora_scale {SCALE}"})


def main():
    fixture_folder.main(__doc__, OUT, build)


if __name__ == "__main__":
    main()
