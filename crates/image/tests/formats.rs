//! Every supported format decodes to the right size and layout, alpha dropped (not composited)
//! and 16-bit samples scaled to 8 bits. Files are made in memory by the `image` crate's
//! encoders, except the fixtures' CMYK JPEG and palette PNG.

use std::io::Cursor;
use std::path::PathBuf;

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
fn cmyk_jpeg_and_palette_png_fixtures_decode() {
    let dir = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
        .join("pdq/misc-images/modes");
    for name in ["CMYK.jpg", "P.png", "L.png", "RGBA.png", "YCbCr.jpg"] {
        let image = decode(&std::fs::read(dir.join(name)).unwrap(), &Limits::default()).unwrap();
        assert_eq!((image.width, image.height), (1600, 1004), "{name}");
    }
}
