//! Hostile and malformed images: each gets a clear error with the right code, bounded memory,
//! no panic.

mod common;

use std::io::Cursor;
use std::path::PathBuf;

use common::png_chunk;
use image::codecs::gif::GifEncoder;
use image::{Delay, Frame, RgbaImage};
use proptest::prelude::*;
use rampart_image::{decode, ImageError, Limits};
use rampart_types::ErrorCode;

fn testdata() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("pdq")
}

fn code(bytes: &[u8]) -> (ErrorCode, String) {
    let e = decode(bytes, &Limits::default()).expect_err("must be refused");
    (e.code(), e.to_string())
}

/// A PNG whose header claims `w`×`h` RGB pixels, with one tiny (wrong) IDAT.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn png_palettes_that_panicked_the_png_crate_are_decode_failed() {
    // Found by `fuzz/` (cargo fuzz run decode): PLTE of 4 and 49 bytes.
    let dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fuzz/regressions");
    for name in ["png_plte_len4_panic.png", "png_plte_len49_fuzzer.png"] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let (c, m) = code(&bytes);
        assert_eq!(c, ErrorCode::DecodeFailed, "{name}: {m}");
        assert!(m.contains("palette"), "{name}: {m}");
    }
}

#[test]
fn zero_bytes_is_decode_failed() {
    let (c, m) = code(b"");
    assert_eq!(c, ErrorCode::DecodeFailed);
    assert!(m.contains("empty"), "{m}");
}

#[test]
fn truncated_jpeg_is_decode_failed() {
    let bytes = std::fs::read(testdata().join("reg-test-input/dih/bridge-1-original.jpg")).unwrap();
    for cut in [4, 20, 200, bytes.len() / 2, bytes.len() - 2] {
        let (c, m) = code(&bytes[..cut]);
        assert_eq!(c, ErrorCode::DecodeFailed, "cut at {cut}: {m}");
    }
}

#[test]
fn png_claiming_100000_squared_is_payload_too_large_before_allocating() {
    let (c, m) = code(&png_claiming(100_000, 100_000));
    assert_eq!(c, ErrorCode::PayloadTooLarge);
    assert!(m.contains("100000x100000"), "{m}");
    // Within the side limit but over the pixel budget.
    let (c, _) = code(&png_claiming(20_000, 20_000));
    assert_eq!(c, ErrorCode::PayloadTooLarge);
    // Within limits, but the data is not there.
    let (c, _) = code(&png_claiming(1000, 1000));
    assert_eq!(c, ErrorCode::DecodeFailed);
}

#[test]
fn gif_with_10000_frames_is_payload_too_large() {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(Cursor::new(&mut bytes));
        let frames = (0..10_000u32).map(|i| {
            let px = image::Rgba([(i % 256) as u8, 0, 0, 255]);
            Frame::from_parts(
                RgbaImage::from_pixel(2, 2, px),
                0,
                0,
                Delay::from_numer_denom_ms(10, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    let (c, m) = code(&bytes);
    assert_eq!(c, ErrorCode::PayloadTooLarge);
    assert!(m.contains("1000 frames"), "{m}");
}

#[test]
fn animated_gif_keeps_frames_sampled_in_time() {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(Cursor::new(&mut bytes));
        let frames = (0..200u32).map(|i| {
            let px = image::Rgba([i as u8, 0, 0, 255]);
            Frame::from_parts(
                RgbaImage::from_pixel(8, 8, px),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            )
        });
        encoder.encode_frames(frames).unwrap();
    }
    let image = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(image.frame_count, 200);
    assert!(image.more_frames.len() < 32, "{}", image.more_frames.len());
    assert!(image.more_frames.len() >= 8);
    let times: Vec<f64> = image.more_frames.iter().map(|f| f.t_start).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert!(
        *times.last().unwrap() > 15.0,
        "sampling must span the whole 20 s: {times:?}"
    );
}

#[test]
fn a_jpeg_named_png_is_still_a_jpeg() {
    // Decoding never looks at a file name: the bytes say JPEG.
    let bytes = std::fs::read(testdata().join("misc-images/small.jpg")).unwrap();
    let image = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(image.format, rampart_image::Format::Jpeg);
}

#[test]
fn one_pixel_image_decodes_and_hashes_with_quality_zero() {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(1, 1, image::Rgb([1, 2, 3]))
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let image = decode(&bytes, &Limits::default()).unwrap();
    assert_eq!((image.width, image.height), (1, 1));
    assert_eq!(rampart_pdq::hash(&image.pixels()).quality, 0);
}

#[test]
fn tiff_with_unknown_compression_is_refused_with_the_reason() {
    // Little-endian TIFF, one 1x1 8-bit grey strip, Compression = 50000 (unknown).
    let mut t = b"II*\0".to_vec();
    t.extend_from_slice(&8u32.to_le_bytes());
    let entries: [(u16, u16, u32, u32); 8] = [
        (256, 3, 1, 1),      // ImageWidth
        (257, 3, 1, 1),      // ImageLength
        (258, 3, 1, 8),      // BitsPerSample
        (259, 3, 1, 50_000), // Compression
        (262, 3, 1, 1),      // PhotometricInterpretation: BlackIsZero
        (273, 4, 1, 200),    // StripOffsets
        (278, 3, 1, 1),      // RowsPerStrip
        (279, 4, 1, 1),      // StripByteCounts
    ];
    t.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        t.extend_from_slice(&tag.to_le_bytes());
        t.extend_from_slice(&kind.to_le_bytes());
        t.extend_from_slice(&count.to_le_bytes());
        t.extend_from_slice(&value.to_le_bytes());
    }
    t.extend_from_slice(&0u32.to_le_bytes());
    t.resize(201, 0x7f);
    let e = decode(&t, &Limits::default()).expect_err("unknown compression");
    assert!(
        matches!(e, ImageError::Unsupported(_) | ImageError::Decode(_)),
        "{e:?}"
    );
    assert!(e.to_string().to_lowercase().contains("compression"), "{e}");
}

#[test]
fn over_the_byte_limit_is_refused_before_sniffing() {
    let limits = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    let e = decode(&[0u8; 11], &limits).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PayloadTooLarge);
}

#[test]
fn text_and_unknown_formats_are_unsupported_media() {
    for bytes in [
        &b"hello, world"[..],
        b"%PDF-1.7\n",
        b"\x00\x00\x00\x18ftypmp42",
    ] {
        assert_eq!(code(bytes).0, ErrorCode::UnsupportedMedia, "{bytes:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// Any mutation of a real JPEG or PNG decodes or errors; never a panic.
    #[test]
    fn mutated_files_never_panic(pick in 0usize..2, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..12), cut in any::<usize>()) {
        let file = ["misc-images/wee.jpg", "lossless/misc-images/wee.jpg.png"][pick];
        let mut bytes = std::fs::read(testdata().join(file)).unwrap();
        for (at, v) in flips {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        let _ = decode(&bytes, &Limits::default());
    }
}
