//! Image in, verdict out: decode once, then hash banks (PDQ with dihedral variants, MD5,
//! SHA-256), the image classifier, QR payloads and OCR text through the text engine; each
//! finding becomes a signal whose evidence says where it came from.

use std::sync::Arc;
use std::time::Instant;

use rampart_hashbank::{BankHit, BankSet};
use rampart_image::{content_hashes, decode, find_qr_codes, DecodedImage, ImageError, Limits};
use rampart_imagemodel::NsfwModel;
use rampart_pdq::{hash_dihedral, Layout, Pixels, DIHEDRAL_NAMES};
use rampart_types::{
    ContentRef, ContentType, ErrorCode, Evidence, EvidenceKind, Label, Signal, Verdict,
};

use crate::text::{elapsed_ms, TextModerator};

/// The optional, expensive image detectors; each is `None` when not installed.
#[derive(Default)]
pub struct ImageDetectors {
    /// The sexual-content classifier (needs `scripts/fetch-models.sh`).
    pub nsfw: Option<NsfwModel>,
    /// Tesseract (needs Debian's tesseract-ocr-eng).
    #[cfg(feature = "ocr")]
    pub ocr: Option<rampart_image::Ocr>,
}

/// Why an image got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ModerateError {
    /// The image could not be read.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A detector failed on a readable image.
    #[error("{detector} failed: {reason}")]
    Detector {
        /// Which detector.
        detector: &'static str,
        /// Its message.
        reason: String,
    },
}

impl ModerateError {
    /// The stable API error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ModerateError::Image(e) => e.code(),
            ModerateError::Detector { .. } => ErrorCode::Internal,
        }
    }
}

/// What [`ImageModerator::scan_frames`] found in one picture.
pub struct FrameScan {
    /// The detectors' signals, evidence carrying the picture's time where it has one.
    pub signals: Vec<Signal>,
    /// `name@version` of every model that ran.
    pub models: Vec<String>,
    /// The picture's PDQ hash (untransformed).
    pub pdq: rampart_pdq::PdqHash,
    /// Its PDQ quality, 0..=100.
    pub quality: u8,
}

/// Everything needed to turn an image into a verdict.
pub struct ImageModerator {
    /// Moderates QR payloads and OCR text, and carries the policy.
    pub text: TextModerator,
    /// The hash banks, e.g. the data dir's and a tenant's; every set is matched.
    pub banks: Vec<Arc<BankSet>>,
    /// The model and OCR engine, where installed (shared by every moderator built on them).
    pub detectors: Arc<ImageDetectors>,
    /// Decoding limits.
    pub limits: Limits,
}

impl ImageModerator {
    /// The verdict for one encoded image.
    pub fn verdict(
        &self,
        bytes: &[u8],
        client_id: Option<String>,
    ) -> Result<Verdict, ModerateError> {
        let started = Instant::now();
        let image = decode(bytes, &self.limits)?;
        let exact = content_hashes(bytes);
        let mut signals = Vec::new();
        if self.text.policy.image.banks {
            signals.extend(
                self.banks
                    .iter()
                    .flat_map(|banks| banks.match_exact(&exact.md5, &exact.sha256))
                    .filter_map(|hit| bank_signal(hit, EvidenceKind::ExactHash, None)),
            );
        }
        let scan = self.scan_frames(&image, None)?;
        signals.extend(scan.signals);
        let mut models = scan.models;
        models.sort();
        models.dedup();
        let decision = self.text.policy.decide(signals);
        Ok(Verdict {
            id: crate::text::next_verdict_id(),
            content_type: ContentType::Image,
            content_ref: ContentRef {
                sha256: exact.sha256,
                pdq: Some(scan.pdq.to_string()),
                client_id,
            },
            suggestion: decision.suggestion,
            labels: decision.labels,
            policy: self.text.policy.id(),
            models,
            elapsed_ms: elapsed_ms(started),
        })
    }

    /// What the policy's image detectors find in a decoded picture and its kept animation
    /// frames — PDQ banks (with dihedral variants), the classifier, QR codes, OCR — except
    /// exact-hash banks, which need the file's bytes. `t` is the picture's time in a video,
    /// carried into the evidence.
    pub fn scan_frames(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
    ) -> Result<FrameScan, ModerateError> {
        let mut scan = self.scan_frame_banks(image, t);
        self.run_detectors(image, t, &mut scan.signals, &mut scan.models)?;
        Ok(scan)
    }

    /// Only the hash part of [`scan_frames`](Self::scan_frames): the PDQ hash and quality and,
    /// if the policy matches banks, the PDQ bank hits. Cheap (≈ 1 ms a frame), so a video
    /// runs it on every sampled frame even where it reuses the detectors' findings.
    pub fn scan_frame_banks(&self, image: &DecodedImage, t: Option<f64>) -> FrameScan {
        let settings = &self.text.policy.image;
        let mut signals = Vec::new();
        let first = hash_dihedral(&image.pixels());
        if settings.banks {
            signals.extend(self.bank_signals(&first.hashes, first.quality, t));
            for frame in &image.more_frames {
                let pixels = Pixels::new(image.width, image.height, Layout::Rgb, &frame.rgb)
                    .expect("frames have the canvas's size");
                let out = hash_dihedral(&pixels);
                signals.extend(self.bank_signals(&out.hashes, out.quality, Some(frame.t_start)));
            }
        }
        FrameScan {
            signals,
            models: Vec::new(),
            pdq: first.hashes[0],
            quality: first.quality,
        }
    }

    /// The costly detectors of a picture — classifier, QR codes, OCR — as the policy asks,
    /// appending their signals and the models that ran.
    fn run_detectors(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
        signals: &mut Vec<Signal>,
        models: &mut Vec<String>,
    ) -> Result<(), ModerateError> {
        self.run_classifier(image, t, signals, models)?;
        self.run_readers(image, t, signals, models)
    }

    /// The classifier, if the policy asks for it and it is installed.
    fn run_classifier(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
        signals: &mut Vec<Signal>,
        models: &mut Vec<String>,
    ) -> Result<(), ModerateError> {
        if self.text.policy.image.model {
            if let Some(model) = &self.detectors.nsfw {
                signals.extend(self.model_signals(model, image, t)?);
                models.push(rampart_imagemodel::NAME_VERSION.to_owned());
            }
        }
        Ok(())
    }

    /// The detectors that read text in a picture — QR codes and OCR — as the policy asks,
    /// with the text engine on what they read.
    fn run_readers(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
        signals: &mut Vec<Signal>,
        models: &mut Vec<String>,
    ) -> Result<(), ModerateError> {
        let settings = &self.text.policy.image;
        if settings.qr {
            for code in find_qr_codes(image) {
                let scan = self.text.engine.scan(&code.payload, &self.text.options);
                models.extend(scan.models);
                for inner in scan.signals {
                    signals.push(wrap(inner, EvidenceKind::Qr, &code.payload, |e| {
                        e.bbox = Some(code.bbox);
                        e.t_start = t;
                    }));
                }
            }
        }
        #[cfg(feature = "ocr")]
        if settings.ocr {
            if let Some(ocr) = &self.detectors.ocr {
                // Only the bands where the cheap check sees lettering are read (see
                // BENCHMARKS.md: 1 % of the time of reading every image whole).
                let regions = rampart_image::text_regions(image);
                if !regions.is_empty() {
                    let text = ocr.recognise_regions(image, &regions).map_err(|e| {
                        ModerateError::Detector {
                            detector: "OCR",
                            reason: e.to_string(),
                        }
                    })?;
                    let scan = self.text.engine.scan(&text.text, &self.text.options);
                    models.extend(scan.models);
                    for inner in scan.signals {
                        let boxes = inner
                            .evidence
                            .span
                            .map(|s| text.boxes_for(s.start, s.end))
                            .unwrap_or_default();
                        signals.push(wrap(inner, EvidenceKind::Ocr, &text.text, |e| {
                            e.boxes = boxes;
                            e.t_start = t;
                        }));
                    }
                }
            }
        }
        Ok(())
    }

    /// The classifier's part of a frame scan on its own (see
    /// [`scan_frame_banks`](Self::scan_frame_banks)): its signal and model name. A video runs
    /// it on a thread of its own, beside [`scan_frame_readers`](Self::scan_frame_readers).
    pub fn scan_frame_classifier(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
    ) -> Result<(Vec<Signal>, Vec<String>), ModerateError> {
        let (mut signals, mut models) = (Vec::new(), Vec::new());
        self.run_classifier(image, t, &mut signals, &mut models)?;
        Ok((signals, models))
    }

    /// The text readers' part of a frame scan on its own: signals and models of QR codes and
    /// OCR, with the text engine on what they read.
    pub fn scan_frame_readers(
        &self,
        image: &DecodedImage,
        t: Option<f64>,
    ) -> Result<(Vec<Signal>, Vec<String>), ModerateError> {
        let (mut signals, mut models) = (Vec::new(), Vec::new());
        self.run_readers(image, t, &mut signals, &mut models)?;
        Ok((signals, models))
    }

    /// PDQ bank matches of one frame, with the policy's per-bank thresholds applied (a policy
    /// can only tighten a bank's own threshold).
    fn bank_signals(
        &self,
        hashes: &[rampart_pdq::PdqHash; 8],
        quality: u8,
        t: Option<f64>,
    ) -> Vec<Signal> {
        let overrides = &self.text.policy.image.bank_thresholds;
        self.banks
            .iter()
            .flat_map(|banks| banks.match_pdq(hashes, quality))
            .filter(|hit| {
                overrides
                    .get(&hit.bank)
                    .is_none_or(|&max| hit.distance <= max)
            })
            .filter_map(|hit| bank_signal(hit, EvidenceKind::Hash, t))
            .collect()
    }

    /// The classifier's score on the first frame and on every kept animation frame; the
    /// highest scoring frame is the evidence.
    fn model_signals(
        &self,
        model: &NsfwModel,
        image: &DecodedImage,
        t: Option<f64>,
    ) -> Result<Vec<Signal>, ModerateError> {
        let failed = |e: rampart_imagemodel::ModelError| ModerateError::Detector {
            detector: "image model",
            reason: e.to_string(),
        };
        let mut best = (
            model
                .score_rgb(image.width, image.height, &image.to_rgb())
                .map_err(failed)?,
            t,
        );
        for frame in &image.more_frames {
            let score = model
                .score_rgb(image.width, image.height, &frame.rgb)
                .map_err(failed)?;
            if score > best.0 {
                best = (score, Some(frame.t_start));
            }
        }
        let mut evidence = Evidence::new(EvidenceKind::Model);
        evidence.model = Some(rampart_imagemodel::NAME_VERSION.to_owned());
        evidence.score = Some(best.0);
        evidence.t_start = best.1;
        Ok(vec![Signal {
            label: Label::Sexual,
            score: best.0,
            evidence,
            floor: None,
            ceiling: None,
        }])
    }
}

/// A bank hit as a signal scoring 1.0 for the bank's label; the policy's thresholds for that
/// label decide between review and block. Hits on a label that does not parse are dropped.
fn bank_signal(hit: BankHit, kind: EvidenceKind, t: Option<f64>) -> Option<Signal> {
    let label: Label = hit.label.parse().ok()?;
    let mut evidence = Evidence::new(kind);
    evidence.bank = Some(hit.bank);
    evidence.entry_id = Some(hit.entry_id);
    evidence.distance = Some(hit.distance);
    evidence.detail = hit
        .dihedral_variant
        .filter(|&v| v > 0)
        .map(|v| DIHEDRAL_NAMES[v].to_owned())
        .or(hit.note);
    evidence.t_start = t;
    Some(Signal {
        label,
        score: 1.0,
        evidence,
        floor: None,
        ceiling: None,
    })
}

/// `inner`, found in text extracted from the image, wrapped in evidence of `kind` that says
/// where the text came from; label, score and floor are the inner signal's.
pub(crate) fn wrap(
    inner: Signal,
    kind: EvidenceKind,
    text: &str,
    place: impl FnOnce(&mut Evidence),
) -> Signal {
    let mut outer = Evidence::new(kind);
    outer.matched = Some(match inner.evidence.span {
        Some(span) => rampart_types::excerpt(text, span),
        None => text.chars().take(64).collect(),
    });
    place(&mut outer);
    outer.evidence.push(inner.evidence);
    Signal {
        label: inner.label,
        score: inner.score,
        evidence: outer,
        floor: inner.floor,
        ceiling: inner.ceiling,
    }
}
