#!/usr/bin/env python3
"""Build CLIP's `vocab.json` and `merges.txt` (as in a diffusers `tokenizer/` folder) from the BPE merges file
that ships inside the PyPI package open-clip-torch (`open_clip/bpe_simple_vocab_16e6.txt.gz`).

The construction is the one OpenAI's CLIP `SimpleTokenizer` and Hugging Face's `CLIPTokenizer` use:
  vocab = the 256 byte-to-unicode characters (in `bytes_to_unicode()` order),
          the same 256 with `</w>` appended,
          one token per merge (the pair joined), for merges = lines[1 : 49152-256-2+1] of the file,
          `<|startoftext|>`, `<|endoftext|>`          -> 256 + 256 + 48894 + 2 = 49408 tokens
  merges.txt = "#version: 0.2" then those 48894 merges, one per line.

Usage (no torch needed, the wheel is only unzipped):
  pip download --no-deps -d /tmp/oc open-clip-torch
  python3 tools/make_clip_vocab.py --wheel /tmp/oc/open_clip_torch-*.whl --out /tmp/clip-tokenizer
  # or --bpe path/to/bpe_simple_vocab_16e6.txt.gz
  # --check runs transformers' CLIPTokenizer on the result (needs `pip install transformers`).
"""
import argparse
import gzip
import json
import os
import sys
import zipfile

BPE_MEMBER = "open_clip/bpe_simple_vocab_16e6.txt.gz"
N_MERGES = 49152 - 256 - 2  # 48894


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
    return gzip.decompress(raw).decode("utf-8")


def build(text):
    lines = text.split("\n")[1 : N_MERGES + 1]
    merges = [tuple(line.split()) for line in lines]
    assert len(merges) == N_MERGES and all(len(m) == 2 for m in merges), "unexpected merges file"
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    encoder = {tok: i for i, tok in enumerate(vocab)}
    assert len(encoder) == len(vocab) == 49408, len(encoder)
    return encoder, merges


def check(out):
    try:
        import ftfy  # noqa: F401
        sys.exit("ftfy is installed: the reference must come from transformers without ftfy")
    except ImportError:
        pass
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer(os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt"))
    known = {
        "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
        "a photo of an astronaut riding a horse on mars": [49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496, 49407],
    }
    for text, ids in known.items():
        got = tok(text)["input_ids"]
        assert got == ids, (text, got, ids)
        print("ok", repr(text), got)
    assert tok.vocab_size == 49408


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--wheel", help="open_clip_torch-*.whl (from `pip download --no-deps open-clip-torch`)")
    src.add_argument("--bpe", help="bpe_simple_vocab_16e6.txt.gz")
    p.add_argument("--out", required=True, help="folder to write vocab.json and merges.txt into")
    p.add_argument("--check", action="store_true", help="load the result with transformers' CLIPTokenizer")
    args = p.parse_args()

    encoder, merges = build(read_bpe(args))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(encoder, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(args.out, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.write("".join(f"{a} {b}\n" for a, b in merges))
    print(f"wrote {len(encoder)} tokens and {len(merges)} merges to {args.out}")
    if args.check:
        check(args.out)


if __name__ == "__main__":
    main()
