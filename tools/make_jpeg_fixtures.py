#!/usr/bin/env python3
"""Create the JPEG fixtures of Tests/ImagingTests/Fixtures (needs Pillow: `pip install Pillow`).

Deterministic: fixed patterns, fixed encoder settings, no timestamps. Next to every decodable JPEG
it writes NAME.rgb: the raw RGB bytes (width * height * 3, row-major) of Pillow's own decode,
`Image.open(NAME.jpg).convert("RGB")`, which the Swift tests compare with our decoder (max abs diff
<= 2 per channel: libjpeg-turbo versions may differ in the last bit).

Files:
  rgb_16x12.jpg          YCbCr, 4:2:0, quality 90: a gradient with a checkerboard in blue
  rgb_odd_15x9.jpg       the same kind of pattern at an odd size (partial MCUs at the edges)
  rgb_progressive_16x12.jpg  like rgb_16x12 but progressive
  gray_16x12.jpg         one-component grayscale
  cmyk_16x12.jpg         four components with an Adobe APP14 marker, stored inverted (Pillow and
                         Photoshop write CMYK like that)
  cmyk_noadobe_16x12.jpg plain (not inverted) CMYK without an Adobe marker. Pillow always reads CMYK
                         JPEGs as inverted, so its .rgb is made with the polarity corrected: the
                         expected colours are those of the ink values actually stored.
  truncated.jpg          the first half of a 48x48 JPEG (cut in the middle of the scan data); no .rgb
  not_a_jpeg.png         a PNG, to test the "not a JPEG" error; no .rgb

Run from the repository root:  python3 tools/make_jpeg_fixtures.py
"""
import io
import os
import sys

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImagingTests", "Fixtures")


def rgb_pattern(width, height):
    im = Image.new("RGB", (width, height))
    im.putdata([
        (min(255, x * 16), min(255, y * 21), 200 if (x // 4 + y // 4) % 2 else 40)
        for y in range(height) for x in range(width)
    ])
    return im


def gray_pattern(width, height):
    im = Image.new("L", (width, height))
    im.putdata([min(255, x * 12 + y * 6) if (x // 4 + y // 3) % 2 else 30 for y in range(height) for x in range(width)])
    return im


def cmyk_pattern(width, height):
    im = Image.new("CMYK", (width, height))
    im.putdata([
        (min(255, x * 16), min(255, y * 21), 180 if (x // 4 + y // 4) % 2 else 20, 0 if x < width // 2 else 60)
        for y in range(height) for x in range(width)
    ])
    return im


def noise_pattern(width, height):
    # Busy content so that the scan data dominates the file and a cut in half lands inside it.
    im = Image.new("RGB", (width, height))
    im.putdata([((x * 37 + y * 91) % 256, (x * x + 3 * y) % 256, (x * y * 7) % 256)
                for y in range(height) for x in range(width)])
    return im


def strip_adobe_marker(data):
    """Remove the APP14 (FF EE) segment(s) that precede the first scan."""
    assert data[:2] == b"\xff\xd8"
    out = bytearray(data[:2])
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, "expected a marker"
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: copy the rest verbatim
            out += data[i:]
            break
        length = (data[i + 2] << 8) | data[i + 3]
        segment = data[i:i + 2 + length]
        if marker != 0xEE:
            out += segment
        i += 2 + length
    return bytes(out)


def jpeg_bytes(im, **options):
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    print(f"{name}: {len(data)} bytes")


def write_expected(name, im):
    rgb = im.convert("RGB")
    write(name, rgb.tobytes())


def decoded(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def main():
    os.makedirs(OUT, exist_ok=True)

    data = jpeg_bytes(rgb_pattern(16, 12), quality=90, subsampling="4:2:0")
    write("rgb_16x12.jpg", data)
    write_expected("rgb_16x12.rgb", decoded(data))

    data = jpeg_bytes(rgb_pattern(15, 9), quality=90, subsampling="4:2:0")
    write("rgb_odd_15x9.jpg", data)
    write_expected("rgb_odd_15x9.rgb", decoded(data))

    data = jpeg_bytes(rgb_pattern(16, 12), quality=90, subsampling="4:2:0", progressive=True)
    write("rgb_progressive_16x12.jpg", data)
    write_expected("rgb_progressive_16x12.rgb", decoded(data))

    data = jpeg_bytes(gray_pattern(16, 12), quality=90)
    write("gray_16x12.jpg", data)
    write_expected("gray_16x12.rgb", decoded(data))

    cmyk = cmyk_pattern(16, 12)
    data = jpeg_bytes(cmyk, quality=95)
    assert b"Adobe" in data[:200], "Pillow should write an Adobe marker for CMYK"
    write("cmyk_16x12.jpg", data)
    write_expected("cmyk_16x12.rgb", decoded(data))

    # Pillow stores CMYK inverted; saving the inverted image stores the plain ink values.
    inverted = Image.eval(cmyk, lambda v: 255 - v)
    data = strip_adobe_marker(jpeg_bytes(inverted, quality=95))
    assert b"\xff\xee" not in data[:200]
    write("cmyk_noadobe_16x12.jpg", data)
    # Pillow reads it as inverted (255 - stored); undo that to get the stored ink values back.
    write_expected("cmyk_noadobe_16x12.rgb", Image.eval(decoded(data), lambda v: 255 - v))

    data = jpeg_bytes(noise_pattern(48, 48), quality=95)
    write("truncated.jpg", data[: len(data) // 2])

    png = io.BytesIO()
    rgb_pattern(8, 8).save(png, "PNG", optimize=False, compress_level=9)
    write("not_a_jpeg.png", png.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
