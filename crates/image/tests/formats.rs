//! Every supported format decodes to the right size and layout, alpha dropped (not composited)
//! and 16-bit samples scaled to 8 bits. Files are made in memory by the `image` crate's
//! encoders (a palette PNG by hand), except the fixtures' CMYK JPEG.

mod common;

use std::io::Cursor;
use std::path::PathBuf;

use common::png_chunk;
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, Rgba};
use rampart_image::{decode, Format, Limits};
use rampart_pdq::Layout;

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .unwrap();
    bytes
}

fn gradient(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(w, h, |x, y| {
        Rgb([x as u8, y as u8, (x ^ y) as u8])
    }))
}

#[test]
fn each_format_decodes_with_its_size_and_layout() {
    let rgb = gradient(37, 23);
    for (format, want) in [
        (ImageFormat::Png, Format::Png),
        (ImageFormat::Bmp, Format::Bmp),
        (ImageFormat::Tiff, Format::Tiff),
        (ImageFormat::WebP, Format::Webp),
        (ImageFormat::Gif, Format::Gif),
    ] {
        let image = decode(&encode(&rgb, format), &Limits::default())
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(image.format, want);
        assert_eq!(
            (image.width, image.height, image.layout),
            (37, 23, Layout::Rgb),
            "{format:?}"
        );
        if matches!(
            format,
            ImageFormat::Png | ImageFormat::Bmp | ImageFormat::Tiff | ImageFormat::WebP
        ) {
            // Lossless encoders: the pixels come back as written.
            assert_eq!(image.samples, rgb.to_rgb8().into_raw(), "{format:?}");
        }
    }
}

#[test]
fn alpha_is_dropped_not_composited_and_16_bit_is_scaled() {
    let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_fn(8, 8, |x, _| {
        Rgba([200, 100, 50, if x < 4 { 255 } else { 0 }])
    }));
    let image = decode(&encode(&rgba, ImageFormat::Png), &Limits::default()).unwrap();
    assert_eq!(image.layout, Layout::Rgb);
    assert!(
        image.samples.chunks(3).all(|p| p == [200, 100, 50]),
        "hidden colour kept"
    );

    let deep = DynamicImage::ImageRgb16(ImageBuffer::from_fn(4, 4, |x, _| {
        Rgb([x as u16 * 20_000, 65_535, 0])
    }));
    let image = decode(&encode(&deep, ImageFormat::Png), &Limits::default()).unwrap();
    assert_eq!(&image.samples[..3], &[0, 255, 0]);
    assert_eq!(
        &image.samples[9..12],
        &[233, 255, 0],
        "60000 / 257 rounded, not the low byte (96)"
    );

    let grey_alpha = DynamicImage::ImageLumaA8(ImageBuffer::from_fn(4, 4, |x, _| {
        image::LumaA([x as u8 * 50, 0])
    }));
    let image = decode(&encode(&grey_alpha, ImageFormat::Png), &Limits::default()).unwrap();
    assert_eq!(image.layout, Layout::Grey);
    assert_eq!(&image.samples[..4], &[0, 50, 100, 150]);
}

#[test]
fn the_cmyk_jpeg_fixture_decodes_to_rgb() {
    let path = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("pdq/misc-images/modes/CMYK.jpg");
    let image = decode(&std::fs::read(path).unwrap(), &Limits::default()).unwrap();
    assert_eq!(
        (image.width, image.height, image.layout),
        (1600, 1004, Layout::Rgb)
    );
}

/// A palette PNG (colour type 3), written by hand: the `image` crate's encoder has no palette
/// mode. The image data is one stored (uncompressed) deflate block.
fn palette_png(w: u32, h: u32, palette: &[[u8; 3]], index: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        raw.extend((0..w).map(|x| index(x, y)));
    }
    assert!(raw.len() <= 0xffff, "one stored block");
    let len = raw.len() as u16;
    let mut zlib = vec![0x78, 0x01, 0x01];
    zlib.extend_from_slice(&len.to_le_bytes());
    zlib.extend_from_slice(&(!len).to_le_bytes());
    zlib.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65521;
        b = (b + a) % 65521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"PLTE", palette.concat().as_slice());
    png_chunk(&mut out, b"IDAT", &zlib);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn palette_and_grey_pngs_decode_to_their_colours() {
    let palette = [[255, 0, 0], [0, 128, 255], [9, 9, 9]];
    let index = |x: u32, y: u32| ((x + 2 * y) % 3) as u8;
    let image = decode(&palette_png(40, 30, &palette, index), &Limits::default()).unwrap();
    assert_eq!(image.format, Format::Png);
    assert_eq!(
        (image.width, image.height, image.layout),
        (40, 30, Layout::Rgb)
    );
    for (i, pixel) in image.samples.chunks(3).enumerate() {
        let (x, y) = (i as u32 % 40, i as u32 / 40);
        assert_eq!(pixel, palette[index(x, y) as usize], "pixel ({x}, {y})");
    }

    let grey = DynamicImage::ImageLuma8(ImageBuffer::from_fn(33, 17, |x, y| {
        image::Luma([(x * 7 + y) as u8])
    }));
    let image = decode(&encode(&grey, ImageFormat::Png), &Limits::default()).unwrap();
    assert_eq!(
        (image.width, image.height, image.layout),
        (33, 17, Layout::Grey)
    );
    assert_eq!(image.samples, grey.to_luma8().into_raw());
}
