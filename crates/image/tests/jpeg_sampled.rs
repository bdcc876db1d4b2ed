//! `decode_jpeg_sampled` against the full `decode` plus PDQ's nearest-neighbour pick: same
//! pixels byte for byte, same layout decision, same PDQ hash and quality.

use std::path::{Path, PathBuf};

use rampart_image::{decode, decode_jpeg_sampled, DecodedImage, ImageError, Limits};
use rampart_pdq::Layout;
use turbojpeg::{Image, PixelFormat, Subsamp};

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

fn jpegs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            jpegs_under(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"))
        {
            out.push(path);
        }
    }
}

/// Checks the sampled decode of `bytes` against the full one; `Err` with the reason when the
/// fast path declined.
fn check(name: &str, bytes: &[u8]) -> Result<(), String> {
    let limits = Limits::default();
    let full = decode(bytes, &limits).unwrap_or_else(|e| panic!("{name}: full decode: {e}"));
    let sampled = match decode_jpeg_sampled(bytes, &limits) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(format!(
                "{}x{} {:?}{}",
                full.width,
                full.height,
                full.layout,
                if full.width <= 512 && full.height <= 512 {
                    " (no side over 512)"
                } else {
                    " (declined)"
                }
            ))
        }
        Err(e) => panic!("{name}: sampled decode failed where the full one did not: {e}"),
    };
    assert_eq!((sampled.width, sampled.height), (512, 512), "{name}");
    assert_eq!(sampled.format, rampart_image::Format::Jpeg, "{name}");
    assert!(sampled.more_frames.is_empty(), "{name}");
    assert_eq!(sampled.frame_count, 1, "{name}");
    compare_pixels(name, &full, &sampled);
    let (a, b) = (
        rampart_pdq::hash(&full.pixels()),
        rampart_pdq::hash(&sampled.pixels()),
    );
    assert_eq!(a, b, "{name}: PDQ hash or quality differs");
    Ok(())
}

fn compare_pixels(name: &str, full: &DecodedImage, sampled: &DecodedImage) {
    let (w, h) = (full.width as usize, full.height as usize);
    let c = match full.layout {
        Layout::Grey => 1,
        Layout::Rgb => 3,
    };
    let colourless = full.layout == Layout::Rgb
        && full
            .samples
            .chunks_exact(3)
            .all(|p| p[0] == p[1] && p[1] == p[2]);
    let expect_grey = full.layout == Layout::Grey || colourless;
    assert_eq!(
        sampled.layout == Layout::Grey,
        expect_grey,
        "{name}: layout {:?}, full decode {:?} colourless={colourless}",
        sampled.layout,
        full.layout
    );
    let sc = if expect_grey { 1 } else { 3 };
    for y in 0..512 {
        let sy = y * h / 512;
        for x in 0..512 {
            let sx = x * w / 512;
            let i = (sy * w + sx) * c;
            let want = if expect_grey {
                &full.samples[i..i + 1]
            } else {
                &full.samples[i..i + 3]
            };
            let j = (y * 512 + x) * sc;
            assert_eq!(
                &sampled.samples[j..j + sc],
                want,
                "{name}: pixel ({x},{y}) from ({sx},{sy})"
            );
        }
    }
}

#[test]
fn every_test_jpeg_matches_the_full_decode() {
    let dir = testdata();
    let mut files = Vec::new();
    jpegs_under(&dir, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no JPEGs under {} (data/testdata/pdq, or RAMPART_TESTDATA)",
        dir.display()
    );
    let (mut matched, mut declined) = (0, 0);
    for path in &files {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path).unwrap();
        match check(&name, &bytes) {
            Ok(()) => {
                matched += 1;
                eprintln!("same pixels and hash: {name}");
            }
            Err(why) => {
                declined += 1;
                eprintln!("fell back (None): {name}: {why}");
            }
        }
    }
    eprintln!(
        "{} JPEGs: {matched} matched on the fast path, {declined} fell back",
        files.len()
    );
    assert!(matched > 0, "the fast path never applied");
}

/// A deterministic, textured test image: colour gradients, noise, sharp edges.
fn synthetic_rgb(w: usize, h: usize, colourless: bool, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut rng = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let noise = (rng() % 24) as usize;
            let edge = if (x / 37 + y / 53) % 2 == 0 { 60 } else { 0 };
            let r = ((x * 255 / w + noise + edge) % 256) as u8;
            let g = ((y * 255 / h + noise) % 256) as u8;
            let b = (((x + y) * 255 / (w + h) + edge) % 256) as u8;
            if colourless {
                let v = ((r as u32 + g as u32 + b as u32) / 3) as u8;
                px.extend_from_slice(&[v, v, v]);
            } else {
                px.extend_from_slice(&[r, g, b]);
            }
        }
    }
    px
}

fn encode(w: usize, h: usize, rgb: &[u8], subsamp: Subsamp, quality: i32) -> Vec<u8> {
    let (pixels, format) = if subsamp == Subsamp::Gray {
        (
            rgb.chunks_exact(3).map(|p| p[1]).collect::<Vec<u8>>(),
            PixelFormat::GRAY,
        )
    } else {
        (rgb.to_vec(), PixelFormat::RGB)
    };
    let image = Image {
        pixels: pixels.as_slice(),
        width: w,
        pitch: w * format.size(),
        height: h,
        format,
    };
    turbojpeg::compress(image, quality, subsamp)
        .expect("compress")
        .to_vec()
}

#[test]
fn synthetic_jpegs_match_the_full_decode() {
    let sizes = [
        (1023, 777),
        (777, 1023),
        (1024, 768),
        (513, 2),
        (3, 1501),
        (1601, 1005),
    ];
    let subsamps = [
        Subsamp::Sub2x2,
        Subsamp::Sub2x1,
        Subsamp::None,
        Subsamp::Gray,
    ];
    let mut n = 0;
    for (k, &(w, h)) in sizes.iter().enumerate() {
        for &subsamp in &subsamps {
            for colourless in [false, true] {
                let rgb = synthetic_rgb(w, h, colourless, k as u32 + 7);
                for quality in [40, 95] {
                    let jpeg = encode(w, h, &rgb, subsamp, quality);
                    let name = format!("{w}x{h} {subsamp:?} colourless={colourless} q{quality}");
                    match check(&name, &jpeg) {
                        Ok(()) => n += 1,
                        // Chroma 2 samples wide is upsampled by replication: declined.
                        Err(why) if w <= 4 && !matches!(subsamp, Subsamp::None | Subsamp::Gray) => {
                            eprintln!("fell back (None): {name}: {why}")
                        }
                        Err(why) => panic!("{name}: unexpectedly fell back: {why}"),
                    }
                }
            }
        }
    }
    eprintln!("{n} synthetic JPEGs matched");
}

/// Near-black and near-white images with a faint tint: chroma off 128 where clamping may still
/// give R = G = B, the case a chroma-only colourless test would get wrong.
#[test]
fn faintly_tinted_extremes_match_the_full_decode() {
    let (w, h) = (900, 700);
    for (base, tint) in [(0u8, [0u8, 0, 3]), (255, [255, 254, 255]), (0, [2, 0, 0])] {
        for subsamp in [Subsamp::Sub2x2, Subsamp::Sub2x1, Subsamp::None] {
            for quality in [50, 90, 100] {
                let mut rgb = vec![base; w * h * 3];
                for y in 200..260 {
                    for x in 300..420 {
                        rgb[(y * w + x) * 3..][..3].copy_from_slice(&tint);
                    }
                }
                let jpeg = encode(w, h, &rgb, subsamp, quality);
                let name = format!("base {base} tint {tint:?} {subsamp:?} q{quality}");
                match check(&name, &jpeg) {
                    Ok(()) => {
                        let layout = decode_jpeg_sampled(&jpeg, &Limits::default())
                            .unwrap()
                            .unwrap()
                            .layout;
                        eprintln!("matched: {name}: {layout:?}")
                    }
                    Err(why) => eprintln!("fell back (None): {name}: {why}"),
                }
            }
        }
    }
}

#[test]
fn small_and_non_jpeg_inputs_fall_back() {
    let limits = Limits::default();
    let rgb = synthetic_rgb(512, 300, false, 1);
    let jpeg = encode(512, 300, &rgb, Subsamp::Sub2x2, 90);
    assert!(decode_jpeg_sampled(&jpeg, &limits).unwrap().is_none());
    let big = encode(
        1000,
        600,
        &synthetic_rgb(1000, 600, false, 2),
        Subsamp::Sub2x2,
        90,
    );
    let tight = Limits {
        max_pixels: 100_000,
        ..limits
    };
    assert!(decode_jpeg_sampled(&big, &tight).unwrap().is_none());
    assert!(decode_jpeg_sampled(b"GIF89a....", &limits)
        .unwrap()
        .is_none());
}

#[test]
fn corrupt_and_truncated_jpegs_are_decode_errors() {
    let limits = Limits::default();
    let rgb = synthetic_rgb(1000, 800, false, 3);
    let jpeg = encode(1000, 800, &rgb, Subsamp::Sub2x2, 85);
    // Two bytes do not even sniff as JPEG: the fallback reports them.
    assert!(decode_jpeg_sampled(&jpeg[..2], &limits).unwrap().is_none());
    for cut in [20, 200, jpeg.len() / 3, jpeg.len() - 2] {
        let r = decode_jpeg_sampled(&jpeg[..cut], &limits);
        assert!(
            matches!(r, Err(ImageError::Decode(_))),
            "cut at {cut}: {:?}",
            r.map(|o| o.map(|d| d.layout))
        );
        assert!(decode(&jpeg[..cut], &limits).is_err());
    }
    // Garbage in the entropy-coded data, and a damaged header.
    let mut noisy = jpeg.clone();
    for i in (jpeg.len() / 2..jpeg.len() - 2).step_by(97) {
        noisy[i] ^= 0x5a;
    }
    let mut bad_header = jpeg.clone();
    for b in bad_header.iter_mut().skip(2).take(200) {
        *b = 0xff;
    }
    for bytes in [&noisy, &bad_header] {
        // No panic; an error, or (if libjpeg took the damage silently) the same pixels.
        match decode_jpeg_sampled(bytes, &limits) {
            Err(e) => assert!(matches!(e, ImageError::Decode(_)), "{e:?}"),
            Ok(Some(_)) => check("damaged", bytes).unwrap(),
            Ok(None) => {}
        }
    }
}
