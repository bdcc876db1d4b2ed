#!/usr/bin/env python3
"""Writes the seed corpus for the `decode` fuzz target into corpus/decode/.

Tiny synthetic images (8x8 .. 32x32 px) in every format and variant the decoder handles:
JPEG (grey, RGB, CMYK, progressive, 4:2:0), PNG (palette, 16-bit, grey+alpha, RGBA,
interlaced), GIF (still, animated 3 frames), WebP (lossy, lossless, animated), BMP (24-bit,
palette, 1-bit), TIFF (raw, LZW, packbits, 16-bit grey, CMYK). Two seeds hold a real QR code
so the QR search (rqrr) gets as far as decoding a payload.

Needs Pillow (with WebP). Run:  python3 make_seeds.py   (from the fuzz/ directory)
"""
import io
import os
import sys

from PIL import Image, ImageDraw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "decode")


def gradient(w, h, mode="RGB"):
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), ((x ^ y) * 37) & 255)
    return im.convert(mode)


def checker(w, h, cell=4):
    im = Image.new("L", (w, h), 255)
    d = ImageDraw.Draw(im)
    for y in range(0, h, cell):
        for x in range(0, w, cell):
            if (x // cell + y // cell) % 2:
                d.rectangle([x, y, x + cell - 1, y + cell - 1], fill=0)
    return im


# Version-2 QR code for "https://spam.example/x" (made once with the Rust `qrcode` crate),
# so that rqrr's grid detection and decoding are reached.
QR_MODULES = [
    "#######.#..###....#######",
    "#.....#.##...##.#.#.....#",
    "#.###.#.####.#.#..#.###.#",
    "#.###.#......#.##.#.###.#",
    "#.###.#.#.#..##.#.#.###.#",
    "#.....#..#....#...#.....#",
    "#######.#.#.#.#.#.#######",
    "...........####..........",
    "#..########.#.####..#.###",
    "..###....#..#.##.#.#####.",
    "#.#..###.#.#...#.###.#..#",
    "###...........#.###..####",
    "##...##.##....#...#.....#",
    "#..#.#..##..#.###...#..#.",
    "####..#.##....##..#.#####",
    "#...##...#..#....###.##.#",
    "#.#.###.#..###.######.##.",
    "........#.##.##.#...#.##.",
    "#######.#.#.###.#.#.#...#",
    "#.....#.#.##.####...#....",
    "#.###.#.#.##.#.######..##",
    "#.###.#.##..###..##....##",
    "#.###.#....#.#..##..#####",
    "#.....#....###.....##.###",
    "#######.#..###.##.#..#..#",
]


def qr_image(scale=2, quiet=4):
    n = len(QR_MODULES)
    size = (n + 2 * quiet) * scale
    im = Image.new("L", (size, size), 255)
    d = ImageDraw.Draw(im)
    for y, row in enumerate(QR_MODULES):
        for x, c in enumerate(row):
            if c == "#":
                x0, y0 = (x + quiet) * scale, (y + quiet) * scale
                d.rectangle([x0, y0, x0 + scale - 1, y0 + scale - 1], fill=0)
    return im


def save(name, im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    data = buf.getvalue()
    assert len(data) < 20_000, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return len(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb16 = gradient(16, 16)
    rgb32 = gradient(32, 24)
    seeds = [
        # JPEG
        ("jpeg_grey.jpg", gradient(16, 16, "L"), "JPEG", {"quality": 80}),
        ("jpeg_rgb_444.jpg", rgb16, "JPEG", {"quality": 90, "subsampling": 0}),
        ("jpeg_rgb_420.jpg", rgb32, "JPEG", {"quality": 75, "subsampling": 2}),
        ("jpeg_cmyk.jpg", gradient(16, 8, "CMYK"), "JPEG", {"quality": 80}),
        ("jpeg_progressive.jpg", rgb32, "JPEG", {"quality": 70, "progressive": True}),
        ("jpeg_restart.jpg", rgb16, "JPEG", {"quality": 60, "optimize": True, "restart_marker_blocks": 1}),
        # PNG
        ("png_rgb.png", rgb16, "PNG", {}),
        ("png_palette.png", gradient(16, 16).quantize(16), "PNG", {}),
        ("png_grey16.png", gradient(8, 8, "L").convert("I;16"), "PNG", {}),
        ("png_greyalpha.png", gradient(8, 8, "LA"), "PNG", {}),
        ("png_rgba.png", gradient(12, 10, "RGBA"), "PNG", {}),
        ("png_1bit.png", checker(16, 16).convert("1"), "PNG", {}),
        ("png_interlaced.png", rgb16, "PNG", {"interlace": 1}),
        ("png_qr.png", qr_image().convert("1"), "PNG", {}),
        ("jpeg_qr.jpg", qr_image(), "JPEG", {"quality": 85}),
        # GIF
        ("gif_still.gif", gradient(16, 16).quantize(32), "GIF", {}),
        # WebP
        ("webp_lossy.webp", rgb16, "WEBP", {"quality": 70}),
        ("webp_lossless.webp", gradient(16, 16, "RGBA"), "WEBP", {"lossless": True}),
        # BMP
        ("bmp_rgb.bmp", gradient(8, 8), "BMP", {}),
        ("bmp_palette.bmp", gradient(8, 8).quantize(16), "BMP", {}),
        ("bmp_1bit.bmp", checker(8, 8).convert("1"), "BMP", {}),
        # TIFF
        ("tiff_raw.tif", gradient(8, 8), "TIFF", {}),
        ("tiff_lzw.tif", rgb16, "TIFF", {"compression": "tiff_lzw"}),
        ("tiff_packbits.tif", gradient(8, 8, "L"), "TIFF", {"compression": "packbits"}),
        ("tiff_grey16.tif", gradient(8, 8, "L").convert("I;16"), "TIFF", {}),
        ("tiff_cmyk.tif", gradient(8, 8, "CMYK"), "TIFF", {}),
    ]
    for name, im, fmt, kw in seeds:
        n = save(name, im, fmt, **kw)
        print(f"{name:24} {n:6} bytes")

    # Animations: three frames with different delays and a smaller, offset last frame.
    frames = [gradient(16, 16), checker(16, 16).convert("RGB"), gradient(16, 16).rotate(90)]
    frames_p = [f.quantize(16) for f in frames]
    n = save("gif_anim3.gif", frames_p[0], "GIF", save_all=True, append_images=frames_p[1:],
             duration=[100, 250, 40], loop=0, disposal=[0, 1, 2])
    print(f"{'gif_anim3.gif':24} {n:6} bytes")
    n = save("webp_anim3.webp", frames[0], "WEBP", save_all=True, append_images=frames[1:],
             duration=[100, 250, 40], loop=0, lossless=True)
    print(f"{'webp_anim3.webp':24} {n:6} bytes")


if __name__ == "__main__":
    sys.exit(main())
