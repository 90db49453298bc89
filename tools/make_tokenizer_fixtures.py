#!/usr/bin/env python3
"""Reference ids for the Swift `CLIPTokenizer` (Sources/Diffusion/CLIPTokenizer*.swift), from Hugging Face
transformers' slow `CLIPTokenizer` (transformers 4.x), run WITHOUT ftfy installed (diffusers does not install it;
transformers then cleans text with `BasicTokenizer(strip_accents=False, do_split_on_punc=False)`).

Writes under Tests/DiffusionTests/Fixtures/tokenizer/:
  clip-vocab.json.zst, clip-merges.txt.zst  the real CLIP vocabulary (from tools/make_clip_vocab.py), zstd -19
  configs/<name>/*.json                     tokenizer_config.json / special_tokens_map.json per convention
  expected_ids.json                         the corpus and transformers' ids for every config
  unicode_table.json.zst                    per-code-point classes of the Python side (unicodedata, `regex`,
                                            str.lower/isspace) and NFC probes, for an exhaustive parity test

Usage:
  python3 -m venv /tmp/tok4 && /tmp/tok4/bin/pip install "transformers<5"     # no torch, no ftfy
  python3 tools/make_clip_vocab.py --wheel open_clip_torch-*.whl --out /tmp/clipvocab
  /tmp/tok4/bin/python tools/make_tokenizer_fixtures.py --vocab-dir /tmp/clipvocab

Needs the `zstd` command (apt-get install -y zstd).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata

try:
    import ftfy  # noqa: F401

    sys.exit("ftfy is installed: transformers would clean text with ftfy.fix_text; run this without ftfy")
except ImportError:
    pass

import regex
import transformers
from transformers import CLIPTokenizer

if not transformers.__version__.startswith("4."):
    sys.exit(f"transformers {transformers.__version__}: the reference is the slow (Python) CLIPTokenizer of transformers 4.x")

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "DiffusionTests", "Fixtures", "tokenizer")
MAX_LEN = 77


# --------------------------------------------------------------------------------------------------------------
# Tokenizer folder conventions


def legacy_added(content):
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


def map_added(content):
    return {"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}


def decoder_entry(content, special, lstrip=False, rstrip=False, single_word=False, normalized=None):
    return {
        "content": content,
        "lstrip": lstrip,
        "normalized": (not special) if normalized is None else normalized,
        "rstrip": rstrip,
        "single_word": single_word,
        "special": special,
    }


def legacy_config(pad):
    """Stable Diffusion 1.x / 2.x `tokenizer/` as published (files written by transformers < 4.34)."""
    return {
        "tokenizer_config.json": {
            "add_prefix_space": False,
            "bos_token": legacy_added("<|startoftext|>"),
            "do_lower_case": True,
            "eos_token": legacy_added("<|endoftext|>"),
            "errors": "replace",
            "model_max_length": MAX_LEN,
            "name_or_path": "openai/clip-vit-large-patch14",
            "pad_token": pad,
            "special_tokens_map_file": "./special_tokens_map.json",
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": legacy_added("<|endoftext|>"),
        },
        "special_tokens_map.json": {
            "bos_token": map_added("<|startoftext|>"),
            "eos_token": map_added("<|endoftext|>"),
            "pad_token": pad,
            "unk_token": map_added("<|endoftext|>"),
        },
    }


def new_config(pad, extra=()):
    """The format transformers >= 4.34 saves (`added_tokens_decoder`), as in SDXL's `tokenizer_2/`."""
    dec = {}
    if pad == "!":
        dec["0"] = decoder_entry("!", True, normalized=False)
    dec["49406"] = decoder_entry("<|startoftext|>", True, normalized=True)
    dec["49407"] = decoder_entry("<|endoftext|>", True, normalized=False)
    for idx, entry in extra:
        dec[str(idx)] = entry
    cfg = {
        "add_prefix_space": False,
        "added_tokens_decoder": dec,
        "bos_token": "<|startoftext|>",
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": "<|endoftext|>",
        "errors": "replace",
        "model_max_length": MAX_LEN,
        "pad_token": pad,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": "<|endoftext|>",
    }
    return {"tokenizer_config.json": cfg}


ADDED_EXTRA = [
    # location / attribute tokens of the kind later features add (not special: kept by decode)
    (49408, decoder_entry("<loc_0>", False)),
    (49409, decoder_entry("<loc_1>", False)),
    (49410, decoder_entry("<loc_10>", False)),
    (49411, decoder_entry("<loc_100>", False)),
    (49412, decoder_entry("<attr:red>", False)),
    (49413, decoder_entry("<L>", False, lstrip=True)),
    (49414, decoder_entry("<R>", False, rstrip=True)),
    (49415, decoder_entry("<W>", False, single_word=True)),
    (49416, decoder_entry("<sks>", True)),
    (49417, decoder_entry("ab", False)),
    (49418, decoder_entry("abc", False)),
    (49419, decoder_entry("bcd", False)),
]

CONFIGS = {
    # SD 1.x: pad with <|endoftext|>
    "sd1": legacy_config("<|endoftext|>"),
    # SD 2.x: pad with "!" (id 0), which transformers then also treats as an added token
    "sd2": legacy_config("!"),
    # SDXL tokenizer_2 style: added_tokens_decoder, pad "!"
    "sdxl2": new_config("!"),
    # added tokens (location / attribute tokens, lstrip/rstrip/single_word, overlapping prefixes)
    "added": new_config("<|endoftext|>", ADDED_EXTRA),
    # no json at all: CLIPTokenizer's defaults
    "bare": {},
}


# --------------------------------------------------------------------------------------------------------------
# Corpus

COCO_CAPTIONS = [
    "A man riding a wave on top of a surfboard.",
    "A kitchen with wooden cabinets and a white refrigerator.",
    "Two dogs playing with a frisbee in a grassy field.",
    "A plate of food with broccoli, rice and chicken.",
    "A red double decker bus driving down a city street.",
    "A cat sitting on top of a laptop keyboard.",
    "A group of people standing around a kitchen island.",
    "An airplane flying over a body of water.",
    "A woman holding an umbrella in the rain",
    "there is a giraffe that is standing in the dirt",
    "A close up of a pizza on a table ",
    "A baseball player swinging a bat at a ball.",
    "A bathroom with a toilet, sink and mirror.",
    "Several zebras grazing on grass near trees.",
    "A young boy brushing his teeth in the bathroom.",
    "a bowl of oranges and apples on a wooden table",
    "A stop sign on the corner of a street.",
    "A traffic light hanging over an intersection at night.",
    "A teddy bear sitting on a bed next to a pillow.",
    "A person on skis going down a snowy hill.",
    "A herd of elephants walking across a dry grass field.",
    "People are flying kites on a windy beach.",
    "A black and white photo of a train at a station.",
    "A man and a woman cutting a cake together.",
    "The living room has a couch, a TV and a coffee table.",
    "A fire hydrant is spraying water onto the sidewalk.",
    "A parking meter on the side of the road.",
    "A sandwich cut in half on a white plate.",
    "Skateboarder doing a trick on a ramp at the skate park.",
    "A clock tower with a blue sky in the background.",
    "Horses pulling a carriage down a cobblestone street.",
    "A little girl eating a slice of watermelon.",
    "A motorcycle parked next to a brick wall.",
    "A tennis player serving the ball during a match.",
    "Sheep grazing in a green pasture with hills behind them.",
    "A laptop, a mouse and a cell phone on a desk.",
    "Two men on a boat fishing in a lake.",
    "Donuts of different flavors in a display case.",
    "A vase filled with pink and white flowers.",
    "A hair drier and a toothbrush on a bathroom counter.",
]

COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]

SUBJECTS = ["A man", "A woman", "Two kids", "A small dog", "An old man", "A group of people", "A cat", "The chef",
            "Someone", "A young girl", "Three horses", "A teenager"]
VERBS = ["standing next to", "sitting on", "holding", "looking at", "walking past", "riding", "playing with",
         "leaning against", "carrying", "reaching for"]
PLACES = ["in a park", "on a busy street", "in the kitchen", "at the beach", "near a river", "in a living room",
          "under a tree", "on a snowy mountain", "inside a train station", "at night"]


def generated_captions(rng, n):
    out = []
    for i in range(n):
        obj = rng.choice(COCO_NAMES)
        art = "an" if obj[0] in "aeiou" else "a"
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {art} {obj} {rng.choice(PLACES)}"
        r = i % 5
        if r == 0:
            s += "."
        elif r == 1:
            s = s.lower()
        elif r == 2:
            s += " ."
        elif r == 3:
            s = s + ", " + rng.choice(["with", "and", "next to"]) + " " + rng.choice(COCO_NAMES) + "."
        out.append(s)
    return out


def product_prompts(rng):
    out = ["A photo, with person, car, dog in the photo.", "A photo, with person in the photo.",
           "A photo, with traffic light, stop sign, fire hydrant in the photo.", "A photo."]
    for _ in range(26):
        k = rng.randint(1, 6)
        names = rng.sample(COCO_NAMES, k)
        out.append(f"A photo, with {', '.join(names)} in the photo.")
    out.append("A photo, with " + ", ".join(COCO_NAMES) + " in the photo.")  # > 77 tokens
    out.append("a photo of a cat")
    out.append("a photo of an astronaut riding a horse on mars")
    out.append("A high-resolution photo of a red car, 4k, highly detailed, trending on artstation")
    out.append("(masterpiece:1.2), best quality, ((dog)), [cat], {bird}, <lora:foo:0.8>")
    return out


HANDWRITTEN = [
    # empty and tiny
    "", " ", "a", "A", "!", "?", ".", "0", "'", "\"", "<", "|", "ab", "abc", "bcd", "abcd",
    # unicode: CJK, kana, hangul
    "日本語のテキスト", "猫が好きです。", "中文字符测试：你好，世界！", "漢字かなカナ混じり文", "한국어 문장입니다",
    "北京 Beijing 北京市", "东京タワー Tokyo Tower", "豈 更 車", "\u1100\u1161\u11a8 jamo", "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    "𠀀𪜀 extension B ideographs",
    # emoji
    "🐱🐶", "I ❤️ NY", "👍🏽 thumbs up", "👨‍👩‍👧‍👦 family", "🇺🇸🇫🇷 flags", "1️⃣ keycap", "🫨 shaking face (Unicode 15)",
    "a 😀 b 😀😀😀 c", "☺ ☻ ♥ ★ ☆", "🏳️‍🌈 rainbow flag",
    # RTL
    "مرحبا بالعالم", "שלום עולם", "abc \u200fשלום\u200e def", "عربي 123 English", "\u202bembedded rtl\u202c",
    "\u2067isolate\u2069 text",
    # other scripts
    "Привет, мир!", "Γειά σου Κόσμε", "ΟΔΟΣ ΣΑΣ", "ὈΔΥΣΣΕΎΣ", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Ελληνικά: ΑΣ, ΣΑ, Σ.",
    "İstanbul", "DİYARBAKIR ılık", "Straße STRASSE ẞ", "ﬁne ﬂower ﬀ", "ǅungla ǈ ǋ", "Ǆ ǅ ǆ",
    "𝐀𝐁𝐂 𝕏 math letters", "Ⅻ Ⅳ roman numerals", "① ② ③ circled", "x² y³ H₂O", "½ ¼ ¾", "٣ ١٢٣٤ ۱۲۳",
    "Ꭰ Cherokee ꭰ", "ﬃ", "K Kelvin Å Angstrom Ω Ohm", "ς σ Σ", "ΣΣ", "aΣ", "Σa", "a.Σ", "aΣ.", "a'Σ", "ᾼ ᾳ",
    # accents
    "café", "naïve", "Ångström", "résumé", "Zoë", "São Paulo", "Kraków", "Dvořák", "façade", "Über", "piñata",
    "cafe\u0301 (decomposed)", "A\u030angstro\u0308m", "\u212bngstr\u00f6m (angstrom sign)", "a\u0323\u0307 a\u0307\u0323",
    "e\u0301\u0301 double accent", "\u0301 leading combining", "Ǿ ǿ Ǻ", "Crème brûlée", "Ñandú", "Øresund", "Łódź",
    # punctuation runs
    "!!!", "?!?!", "...", "Wait... what?!", "—", "a — b – c", "“quoted” ‘single’", "«guillemets» ‹›",
    "(parens) [brackets] {braces}", "a---b", "#hashtag @user", "$100 100% €5 £3 ¥7", "C++ and C#", "a/b\\c",
    "~~~", "^_^ :-) <3 :P", "***bold*** __under__", "....!!!!????", "a.b.c", "!!!hello!!!", "hello!!! world!",
    "!!", "! ! !", "x!y", "end!", "¡Hola! ¿Qué tal?", "…", "•bullet", "§ ¶ † ‡", "©®™", "a\u00adb soft hyphen",
    # special-token text
    "<|endoftext|>", "<|startoftext|>", "a <|endoftext|> b", "<|startoftext|>hello<|endoftext|>",
    "<|STARTOFTEXT|> upper", "<|EndOfText|>", "<|ſtartoftext|>", "<|endoftext|><|endoftext|>",
    "<<|endoftext|>>", "<|endoftext", "|endoftext|>", "<|startoftext|>!",
    # numbers
    "1234567", "3.14", "1,000", "1e10", "-42", "+7", "0x1F", "2024-01-01", "12:30", "1,234,567.89", "007",
    "3rd 2nd 1st 4th", "10x10", "v1.2.3", "99.9%", "#1", "1/2", "0.5mm", "100000000000000000000",
    # apostrophes
    "it's", "they'll", "O'Neil", "don't", "I'm", "we've", "you're", "she'd", "'quoted'", "''s", "it’s curly",
    "rock'n'roll", "IT'S", "'S", "y'all", "'''", "dogs'", "it'ſ", "'sup", "'t'", "'ll'", "'re're", "'dd",
    "can't won't shouldn't", "'", "O'Neil's", "'m'", "'ve", "Mc'D", "l'amour d'été",
    # URLs, paths, emails
    "https://example.com/path?q=1&x=2#frag", "www.coco-dataset.org", "user@example.com", "file:///tmp/x.png",
    "http://images.cocodataset.org/val2017/000000039769.jpg", "C:\\Users\\me\\Pictures\\cat.jpg",
    # whitespace oddities
    "tab\tseparated\twords", "new\nline", "windows\r\nline", "nbsp\u00a0here", "zero\u200bwidth",
    "zw\u200cnj and zw\u200dj", "bom\ufeffinside", "ideographic\u3000space", "em\u2003space", "line\u2028separator",
    "paragraph\u2029separator", "narrow\u202fnbsp", "   leading and trailing   ", "   \t\n  ", "\u00a0\u00a0",
    "vertical\x0btab", "form\x0cfeed", "info\x1cseparators\x1d\x1e\x1f", "next\x85line", "ogham\u1680space",
    "many     spaces", "\n\n\n", "a\u2000b\u2001c\u2002d\u200ae", "math\u205fspace", "mongolian\u180evowel",
    # control characters
    "nul\x00char", "bell\x07", "\x1b[31mred\x1b[0m", "del\x7f", "c1\x80\x9f", "replacement\ufffdchar",
    "lrm\u200emark", "private\ue000use", "unassigned\u0378x", "nonchar\uffffx", "plane16\U00100000x",
    "tag\U000e0041chars", "interlinear\ufff9x\ufffb", "\x01\x02\x03", "a\x00", "\ufffd",
    # mixed case
    "HeLLo WoRLD", "NASA", "iPhone", "McDonald's", "ALL CAPS SENTENCE WITH A DOG", "camelCaseWord",
    "snake_case_word", "kebab-case-word", "PascalCase", "ΑΒΓ αβγ", "ÀÉÎÕÜ",
    # BPE-heavy words
    "supercalifragilisticexpialidocious", "antidisestablishmentarianism", "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "lolololololololololololol", "thethethethethe", "zzzzzzzzzz",
    "qwertyuiopasdfghjklzxcvbnm", "photorealistic hyperdetailed octane render unreal engine",
]


def long_strings(rng):
    out = []
    out.append(" ".join(COCO_CAPTIONS[:8]))
    out.append("cat " * 100)
    out.append("a photo of a dog " * 30)
    out.append("1234567890" * 20)
    out.append("supercalifragilistic" * 15)
    out.append("😀" * 100)
    out.append("!" * 200)
    out.append("word, " * 80)
    out.append(" ".join(rng.choice(COCO_NAMES) for _ in range(120)))
    out.append("A very long caption that goes on and on " + "and on " * 40 + "until it finally ends.")
    out.append("日本語" * 60)
    out.append("a" * 1000)
    out.append(" ".join(["exactly"] * 75))  # 75 + 2 = 77: no truncation
    out.append(" ".join(["exactly"] * 76))  # 78: truncated by one
    out.append(" ".join(["exactly"] * 74))
    return out


def fuzz_strings(rng, n):
    pools = [
        "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", " \t\n",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "éèêëàâäîïôöùûüçñßÉÅØÆœ", "αβγδΣσςΩ", "привет", "日本語中文汉字",
        "ひらがなカタカナ", "한글", "😀🐱❤️👍🏽", "\u0301\u0308\u0323", "\u200b\u200d\ufeff\u00a0\u3000", "مرحبا", "०१२३",
        "'sltvmdre", "<|>",
    ]
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        s = "".join(rng.choice(rng.choice(pools)) for _ in range(k))
        out.append(s)
    return out


ADDED_STRINGS = [
    "a photo of <loc_0><loc_10> a dog", "<attr:red> car", " <L> x", "x   <L>y", "x <R>   y", "x<R>y",
    "a<W>b", "a <W> b", "<W>", "<W>x", "x<W>", "<loc_1><loc_100><loc_1000>", "<loc_", "<sks> dog",
    "a photo of <sks> dog, <loc_0> <loc_1> <attr:red>", "abcd", "xabcdx", "ab abc bcd abcd", "<LOC_0>",
    "abc\nbcd", "<|endoftext|><loc_0>", "dog <loc_10>cat",
]


def corpus():
    rng = random.Random(20240611)
    strings = []
    strings += COCO_CAPTIONS
    strings += generated_captions(rng, 110)
    strings += product_prompts(rng)
    strings += HANDWRITTEN
    strings += long_strings(rng)
    strings += ADDED_STRINGS
    strings += fuzz_strings(rng, 60)
    seen, out = set(), []
    for s in strings:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------------------------
# Unicode table: what the Python side thinks of every code point


def unicode_table():
    S = regex.compile(r"\s")
    L = regex.compile(r"\p{L}")
    N = regex.compile(r"\p{N}")
    runs = []  # [start, code] where code = clean + 3*isspace + 6*rx
    lower = []  # [cp, [mapped...]] where str.lower differs
    prev = None
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            code = -1
        else:
            c = chr(cp)
            cat = unicodedata.category(c)
            if cp == 0 or cp == 0xFFFD or (cat.startswith("C") and c not in "\t\n\r"):
                clean = 0  # removed
            elif c in " \t\n\r" or cat == "Zs":
                clean = 1  # becomes a space
            else:
                clean = 2  # kept
            rx = 1 if S.match(c) else 2 if L.match(c) else 3 if N.match(c) else 0
            code = clean + 3 * int(c.isspace()) + 6 * rx
            lo = c.lower()
            if lo != c:
                lower.append([cp, [ord(x) for x in lo]])
        if code != prev:
            runs.append([cp, code])
            prev = code
    # NFC probes: every code point with a canonical decomposition, fed decomposed (and reordered marks)
    nfc = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        d = unicodedata.decomposition(c)
        if d and not d.startswith("<"):
            src = unicodedata.normalize("NFD", c)
            nfc.append([[ord(x) for x in src], [ord(x) for x in unicodedata.normalize("NFC", src)]])
    extra = ["a\u0307\u0323", "a\u0323\u0307", "e\u0301\u0308", "\u1100\u1161\u11a8", "\u0041\u030a\u0301",
             "\u0958", "\u2126", "\u212b", "\uf900", "\U0002f800", "\u0340", "\u0344", "\u0f73", "o\u0308\u0304"]
    for s in extra:
        nfc.append([[ord(x) for x in s], [ord(x) for x in unicodedata.normalize("NFC", s)]])
    return {
        "unicodedata": unicodedata.unidata_version,
        "regex": regex.__version__,
        "python": sys.version.split()[0],
        "code": "clean + 3*str.isspace + 6*rx; clean: 0 removed, 1 space, 2 kept (BasicTokenizer._clean_text); "
        "rx: 0 other, 1 \\s, 2 \\p{L}, 3 \\p{N} (regex module); -1 surrogate",
        "runs": runs,
        "lower": lower,
        "nfc": nfc,
    }


# --------------------------------------------------------------------------------------------------------------


def zstd(src, dst):
    subprocess.run(["zstd", "-19", "-q", "-f", src, "-o", dst], check=True)


def write_folder(dst, vocab_dir, files):
    os.makedirs(dst, exist_ok=True)
    for f in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(vocab_dir, f), dst)
    for name, content in files.items():
        with open(os.path.join(dst, name), "w", encoding="utf-8") as fh:
            json.dump(content, fh, indent=2, ensure_ascii=False)
            fh.write("\n")


def ids_line(ids):
    return "[" + ",".join(str(i) for i in ids) + "]"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab-dir", required=True, help="folder with vocab.json and merges.txt (tools/make_clip_vocab.py)")
    p.add_argument("--out", default=FIXTURES)
    args = p.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)

    zstd(os.path.join(args.vocab_dir, "vocab.json"), os.path.join(out, "clip-vocab.json.zst"))
    zstd(os.path.join(args.vocab_dir, "merges.txt"), os.path.join(out, "clip-merges.txt.zst"))

    strings = corpus()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, files in CONFIGS.items():
            cfg_dir = os.path.join(out, "configs", name)
            if os.path.isdir(cfg_dir):
                shutil.rmtree(cfg_dir)
            os.makedirs(cfg_dir)
            for fname, content in files.items():
                with open(os.path.join(cfg_dir, fname), "w", encoding="utf-8") as fh:
                    json.dump(content, fh, indent=2, ensure_ascii=False)
                    fh.write("\n")
            if not files:
                open(os.path.join(cfg_dir, ".keep"), "w").close()
            folder = os.path.join(tmp, name)
            write_folder(folder, args.vocab_dir, files)
            tok = CLIPTokenizer.from_pretrained(folder)
            assert type(tok).__name__ == "CLIPTokenizer" and tok.fix_text is None
            ids, padded, decoded = [], [], []
            for s in strings:
                full = tok(s)["input_ids"]
                pad = tok(s, padding="max_length", max_length=MAX_LEN, truncation=True)["input_ids"]
                ids.append(full)
                padded.append(pad)
                decoded.append(tok.decode(full, skip_special_tokens=True, clean_up_tokenization_spaces=False))
                # the padding/truncation rule the Swift side implements, checked on every string here
                if len(full) > MAX_LEN:
                    rule = full[: MAX_LEN - 1] + [tok.eos_token_id]
                else:
                    rule = full + [tok.pad_token_id] * (MAX_LEN - len(full))
                assert pad == rule, (name, s)
            results[name] = {"ids": ids, "padded": padded, "decoded": decoded, "pad_id": tok.pad_token_id,
                             "model_max_length": tok.model_max_length,
                             "added": {k: v for k, v in sorted(tok.get_added_vocab().items(), key=lambda kv: kv[1])}}

    # expected_ids.json: sd1's ids for every string; other configs only where they differ from sd1
    lines = ["{"]
    meta = {
        "generator": "tools/make_tokenizer_fixtures.py",
        "transformers": transformers.__version__,
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "regex": regex.__version__,
        "ftfy": False,
        "max_length": MAX_LEN,
        "note": "ids = tokenizer(s).input_ids (bos + tokens + eos); 'differs' lists, for configs other than sd1, the "
        "strings whose ids differ from sd1's (index -> ids); 'padded' = tokenizer(s, padding='max_length', "
        "max_length=77, truncation=True).input_ids for the strings listed in padded_indices (sd1 and sd2); decoded = "
        "tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)",
    }
    lines.append(f'"meta": {json.dumps(meta, ensure_ascii=False)},')
    lines.append('"strings": [')
    lines.append(",\n".join(json.dumps(s, ensure_ascii=False) for s in strings))
    lines.append("],")
    base = results["sd1"]
    long_idx = [i for i, ids in enumerate(base["ids"]) if len(ids) > MAX_LEN]
    padded_idx = sorted(set(range(12)) | set(long_idx))
    lines.append(f'"padded_indices": {json.dumps(padded_idx)},')
    lines.append('"configs": {')
    cfg_lines = []
    for name, r in results.items():
        body = [f'"pad_id": {r["pad_id"]}', f'"model_max_length": {json.dumps(r["model_max_length"] if r["model_max_length"] < 10**9 else None)}',
                f'"added": {json.dumps(r["added"], ensure_ascii=False)}']
        if name == "sd1":
            body.append('"ids": [\n' + ",\n".join(ids_line(x) for x in r["ids"]) + "\n]")
            body.append('"decoded": [\n' + ",\n".join(json.dumps(x, ensure_ascii=False) for x in r["decoded"]) + "\n]")
        else:
            diff = {i: x for i, x in enumerate(r["ids"]) if x != base["ids"][i]}
            body.append('"differs": {\n' + ",\n".join(f'"{i}": {ids_line(x)}' for i, x in diff.items()) + "\n}")
            ddiff = {i: x for i, x in enumerate(r["decoded"]) if x != base["decoded"][i]}
            body.append('"decoded_differs": ' + json.dumps({str(k): v for k, v in ddiff.items()}, ensure_ascii=False))
        if name in ("sd1", "sd2"):  # the two pad conventions
            body.append('"padded": [\n' + ",\n".join(ids_line(r["padded"][i]) for i in padded_idx) + "\n]")
        cfg_lines.append(f'"{name}": {{\n' + ",\n".join(body) + "\n}")
    lines.append(",\n".join(cfg_lines))
    lines.append("}")
    lines.append("}")
    with open(os.path.join(out, "expected_ids.json"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    json.load(open(os.path.join(out, "expected_ids.json"), encoding="utf-8"))  # well-formed

    table = unicode_table()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        json.dump(table, fh, separators=(",", ":"))
        tmpname = fh.name
    os.chmod(tmpname, 0o644)
    zstd(tmpname, os.path.join(out, "unicode_table.json.zst"))
    os.unlink(tmpname)

    n_long = len(long_idx)
    print(f"{len(strings)} strings ({n_long} longer than {MAX_LEN} tokens), configs: {', '.join(results)}")
    for name, r in results.items():
        if name != "sd1":
            print(f"  {name}: {sum(1 for i, x in enumerate(r['ids']) if x != base['ids'][i])} strings differ from sd1")


if __name__ == "__main__":
    main()
