#!/usr/bin/env python3
"""UNet feature taps: the multi-scale features the DiffusionEngine detection adapter reads from a diffusers
UNet2DConditionModel (reference definition; the Swift side must produce the same tensors).

Definition
----------
Taps are forward-hook outputs, in forward order:

  - every `unet.down_blocks[i]`: its output is a tuple (hidden_states, residuals); the tap is element 0, the hidden
    state AFTER the block's downsampler when it has one;
  - `unet.mid_block` (its output tensor; absent when the config has mid_block_type null);
  - every `unet.up_blocks[j]`: its output tensor, AFTER the block's upsampler when it has one.

Level of a tap (the number of 2x downsamplings applied to it relative to the latent) and stride = 2 ** level:

  - down block i: the number of down blocks 0..i that have a downsampler (i + 1 if block i has one, else i, for
    the usual UNets whose blocks all downsample except the last);
  - mid block: L, the deepest level (the number of down blocks with a downsampler);
  - up block j: L - (the number of up blocks 0..j that have an upsampler).

Taps of the same stride are concatenated along channels in forward order (down blocks, mid, up blocks); groups are
named "stride<s>". Taps of one stride always have the same spatial size, also for latents whose size is not a
multiple of 2 ** L (diffusers then forwards `upsample_size`, so each up block's upsampler produces exactly the size of
the skip connections it meets next). For a latent of h x w, stride s has ceil-by-conv sizes (h_s, w_s) with
h_1 = h and h_{2s} = (h_s + 1) // 2 (conv 3x3, stride 2, padding 1).

Taps come from ONE batch element: in a classifier-free-guidance batch [unconditional, conditional] (diffusers'
order) the conditional one, index 1; with a batch of 1, index 0. Each tensor is returned as (1, C, h_s, w_s).

For SD 2.x (block_out_channels 320/640/1280/1280, 4 blocks): stride1 960 (up_blocks.2 640 + up_blocks.3 320),
stride2 1600 (down_blocks.0 320 + up_blocks.1 1280), stride4 1920 (down_blocks.1 640 + up_blocks.0 1280),
stride8 3840 (down_blocks.2, down_blocks.3, mid_block: 3 x 1280). SD 1.x has the same numbers.

API
---
  tap_layout(config)    -> [Tap(name, level, stride, channels)] in forward order, from a UNet config (dict,
                           diffusers FrozenDict, or a path to config.json); needs no weights and no diffusers
  tap_channels(config)  -> {stride: channels}
  tap_names(unet)       -> ["down_blocks.0", ..., "mid_block", "up_blocks.0", ...] for a model (checks that the
                           modules' samplers agree with the config)
  TapRecorder(unet)     -> context manager: registers the hooks, keeps the outputs of the LATEST unet call;
                           .taps(batch_index=None) -> {"stride1": tensor(1, C, h, w), ...} (only strides present);
                           batch_index None means 1 for a batch of 2 (CFG) and 0 for a batch of 1.

CLI
---
  python tools/taps.py --unet-config path/to/unet/config.json    # print the taps, groups and channels
  python tools/taps.py --self-test                               # SD2-base numbers (meta device) + a tiny forward
"""
import argparse
import json
import os
from collections import namedtuple

Tap = namedtuple("Tap", "name level stride channels")

# stabilityai/stable-diffusion-2-base unet/config.json (the architecture numbers; no weights are needed).
SD2_BASE_UNET_CONFIG = {
    "_class_name": "UNet2DConditionModel",
    "act_fn": "silu",
    "attention_head_dim": [5, 10, 20, 20],
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 1024,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "dual_cross_attention": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "upcast_attention": False,
    "use_linear_projection": True,
}
SD2_EXPECTED = {1: 960, 2: 1600, 4: 1920, 8: 3840}


def _config(config):
    if isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            return json.load(f)
    return dict(config)


def tap_layout(config):
    """Taps of a UNet2DConditionModel config in forward order, as Tap(name, level, stride, channels).

    Follows UNet2DConditionModel.__init__: down block i has a downsampler unless it is the last one and outputs
    block_out_channels[i]; up block j (reversed channels) has an upsampler unless it is the last one; the mid block
    keeps block_out_channels[-1]."""
    c = _config(config)
    channels = list(c["block_out_channels"])
    n = len(channels)
    assert len(c["down_block_types"]) == n and len(c["up_block_types"]) == n, "one block type per block_out_channels"
    taps, level = [], 0
    for i in range(n):
        level += 1 if i < n - 1 else 0  # add_downsample = not is_final_block
        taps.append(Tap(f"down_blocks.{i}", level, 2**level, channels[i]))
    deepest = level
    if c.get("mid_block_type", "UNetMidBlock2DCrossAttn") is not None:
        taps.append(Tap("mid_block", deepest, 2**deepest, channels[-1]))
    reversed_channels = channels[::-1]
    ups = 0
    for j in range(n):
        ups += 1 if j < n - 1 else 0  # add_upsample = not is_final_block
        taps.append(Tap(f"up_blocks.{j}", deepest - ups, 2 ** (deepest - ups), reversed_channels[j]))
    return taps


def tap_channels(config):
    """{stride: total channels} for a UNet config, strides ascending."""
    out = {}
    for t in tap_layout(config):
        out[t.stride] = out.get(t.stride, 0) + t.channels
    return dict(sorted(out.items()))


def _module_layout(unet):
    """Tap(name, level, stride, channels=None) computed from the modules themselves (samplers present or not)."""
    taps, level = [], 0
    for i, block in enumerate(unet.down_blocks):
        level += 1 if getattr(block, "downsamplers", None) is not None else 0
        taps.append(Tap(f"down_blocks.{i}", level, 2**level, None))
    deepest = level
    if getattr(unet, "mid_block", None) is not None:
        taps.append(Tap("mid_block", deepest, 2**deepest, None))
    ups = 0
    for j, block in enumerate(unet.up_blocks):
        ups += 1 if getattr(block, "upsamplers", None) is not None else 0
        taps.append(Tap(f"up_blocks.{j}", deepest - ups, 2 ** (deepest - ups), None))
    return taps


def tap_names(unet):
    """Names of the tapped modules of a UNet2DConditionModel, in forward order."""
    from_modules = _module_layout(unet)
    from_config = tap_layout(unet.config)
    assert [(t.name, t.stride) for t in from_modules] == [(t.name, t.stride) for t in from_config], (
        "the UNet's modules do not match its config", from_modules, from_config)
    return [t.name for t in from_config]


class TapRecorder:
    """Forward hooks on the tapped blocks of `unet`; keeps the outputs of the latest unet call.

        with TapRecorder(unet) as rec:
            unet(sample, t, encoder_hidden_states).sample
            feats = rec.taps()   # {"stride1": (1, C, h, w), ...}, conditional element of a CFG batch
    """

    def __init__(self, unet):
        self.unet = unet
        self.layout = tap_layout(unet.config)
        tap_names(unet)  # consistency of modules and config
        self.outputs = {}
        self.calls = 0
        self._handles = []

    def __enter__(self):
        self.register()
        return self

    def __exit__(self, *exc):
        self.remove()
        return False

    def register(self):
        assert not self._handles, "hooks already registered"

        def pre(_module, _args):
            self.calls += 1
            self.outputs = {}

        self._handles.append(self.unet.register_forward_pre_hook(pre))
        for tap in self.layout:
            module = self.unet.get_submodule(tap.name)

            def hook(_module, _inputs, output, name=tap.name):
                tensor = output[0] if isinstance(output, tuple) else output
                self.outputs[name] = tensor.detach().clone()

            self._handles.append(module.register_forward_hook(hook))
        return self

    def remove(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def taps(self, batch_index=None):
        """{"stride<s>": tensor (1, C_s, h_s, w_s)} from the latest call, for one batch element; batch_index "all"
        keeps the whole batch (N, C_s, h_s, w_s), as the adapter's training uses it."""
        import torch

        if self.calls == 0:
            raise RuntimeError("no UNet call recorded")
        missing = [t.name for t in self.layout if t.name not in self.outputs]
        if missing:
            raise RuntimeError(f"the latest UNet call did not reach {missing}")
        batch = self.outputs[self.layout[0].name].shape[0]
        if batch_index == "all":
            pick = slice(None)
        elif batch_index is None:
            if batch not in (1, 2):
                raise ValueError(f"batch of {batch}: pass batch_index explicitly")
            batch_index = batch - 1  # 2 -> conditional element of [uncond, cond]; 1 -> 0
        if batch_index != "all":
            pick = slice(batch_index, batch_index + 1)
        groups = {}
        for tap in self.layout:
            t = self.outputs[tap.name][pick]
            assert t.shape[1] == tap.channels, (tap, t.shape)
            groups.setdefault(tap.stride, []).append(t)
        out = {}
        for stride in sorted(groups):
            sizes = {tuple(t.shape[2:]) for t in groups[stride]}
            assert len(sizes) == 1, f"stride {stride}: taps of different sizes {sizes}"
            out[f"stride{stride}"] = torch.cat(groups[stride], dim=1).contiguous()
        return out


def latent_sizes(height, width, levels):
    """Spatial size per stride for a latent of height x width (conv 3x3 stride 2 padding 1 per level)."""
    sizes = {1: (height, width)}
    for lv in range(1, levels + 1):
        h, w = sizes[2 ** (lv - 1)]
        sizes[2**lv] = ((h + 1) // 2, (w + 1) // 2)
    return sizes


def self_test():
    import torch
    from diffusers import UNet2DConditionModel

    got = tap_channels(SD2_BASE_UNET_CONFIG)
    assert got == SD2_EXPECTED, got
    with torch.device("meta"):
        unet = UNet2DConditionModel(**{k: v for k, v in SD2_BASE_UNET_CONFIG.items() if not k.startswith("_")})
    names = tap_names(unet)
    assert names == [f"down_blocks.{i}" for i in range(4)] + ["mid_block"] + [f"up_blocks.{j}" for j in range(4)]
    assert tap_channels(unet.config) == SD2_EXPECTED
    print("SD2-base:", ", ".join(f"stride{s}: {c}" for s, c in got.items()), "(ok)")

    # A tiny random UNet of the same block structure: the hooks' tensors have the announced shapes, also when the
    # latent size is not a multiple of 8 (upsample_size forwarding).
    torch.manual_seed(0)
    tiny = UNet2DConditionModel(
        block_out_channels=[8, 16, 16, 24], layers_per_block=1, norm_num_groups=8, attention_head_dim=[2, 4, 4, 6],
        cross_attention_dim=16, use_linear_projection=True,
        down_block_types=SD2_BASE_UNET_CONFIG["down_block_types"],
        up_block_types=SD2_BASE_UNET_CONFIG["up_block_types"],
    ).eval()
    expected = tap_channels(tiny.config)
    for h, w in ((16, 16), (6, 10)):
        sample, ehs = torch.randn(2, 4, h, w), torch.randn(2, 7, 16)
        with TapRecorder(tiny) as rec, torch.no_grad():
            tiny(sample, 10, ehs)
            cond, uncond = rec.taps(), rec.taps(batch_index=0)
        sizes = latent_sizes(h, w, 3)
        assert list(cond) == [f"stride{s}" for s in expected], list(cond)
        for s, c in expected.items():
            assert tuple(cond[f"stride{s}"].shape) == (1, c, *sizes[s]), (s, cond[f"stride{s}"].shape)
            assert not torch.equal(cond[f"stride{s}"], uncond[f"stride{s}"])
        with TapRecorder(tiny) as rec, torch.no_grad():
            tiny(sample[1:], 10, ehs[1:])
            single = rec.taps()
        for k in cond:
            assert (single[k] - cond[k]).abs().max().item() < 1e-4, k
        print(f"tiny UNet, latent {h}x{w}:", ", ".join(f"{k} {tuple(v.shape)}" for k, v in cond.items()), "(ok)")


def main():
    p = argparse.ArgumentParser(description="UNet feature taps (see the module docstring)")
    p.add_argument("--unet-config", help="a diffusers UNet2DConditionModel config.json")
    p.add_argument("--self-test", action="store_true", help="check the SD2-base numbers and a tiny forward pass")
    args = p.parse_args()
    if not args.unet_config and not args.self_test:
        p.error("give --unet-config PATH and/or --self-test")
    if args.unet_config:
        layout = tap_layout(args.unet_config)
        for t in layout:
            print(f"  {t.name:<14} level {t.level}  stride {t.stride:<3} channels {t.channels}")
        for stride, channels in tap_channels(args.unet_config).items():
            members = " + ".join(f"{t.name} {t.channels}" for t in layout if t.stride == stride)
            print(f"stride{stride}: {channels} channels ({members})")
    if args.self_test:
        self_test()


if __name__ == "__main__":
    main()
