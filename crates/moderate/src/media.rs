//! Video and audio in, verdict out. A video is sampled (one frame per
//! `media.frame_interval_s`, plus cuts); each sampled frame goes through the image detectors
//! (PDQ banks, classifier, QR, OCR), all sampled frames together are matched against video
//! banks (vPDQ), and the audio track goes through speech recognition and the text engine.
//! Findings on consecutive samples merge into one piece of evidence with `t_start`/`t_end`.
//!
//! Decoding, the classifier, the other detectors and speech recognition run on four threads
//! at once. Memory is bounded whatever the length: a few decoded frames (two queued for the
//! detectors, one for the classifier, and those being worked on), the frames' 34-byte vPDQ
//! features, the signals found, and one speech window.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_hashbank::VpdqFeature;
use rampart_image::DecodedImage;
use rampart_media::audio::{decode_audio, AudioLimits};
use rampart_media::video::{probe, sample_frames, SamplingOptions, VideoLimits};
use rampart_media::MediaError;
use rampart_speech::{Segment, SpeechModel, TranscribeOptions, Transcriber};
use rampart_types::{
    ContentRef, ContentType, ErrorCode, Evidence, EvidenceKind, Label, Signal, Verdict,
};

use crate::image::{wrap, ImageModerator, ModerateError};
use crate::text::elapsed_ms;

/// Sampled frames waiting between the decoder thread and the detectors.
const FRAME_QUEUE: usize = 2;

/// Sampled frames waiting between the detectors and the classifier's thread.
const CLASSIFIER_QUEUE: usize = 1;

/// Seconds of audio handed to speech recognition at a time.
const AUDIO_CHUNK_S: f64 = 10.0;

/// Why a video or audio file got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum MediaModerateError {
    /// The file could not be decoded, or is over a limit.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// Decoding stopped early on corrupt or cut-off data: judging only the part that decoded
    /// could pass content that is not clean, so there is no verdict.
    #[error("the file is truncated or corrupt: {0}")]
    Truncated(String),
    /// Audio moderation needs the speech model, which is not installed.
    #[error("speech recognition is not installed (run scripts/fetch-models.sh)")]
    NoSpeechModel,
    /// A detector failed on readable content.
    #[error(transparent)]
    Detector(#[from] ModerateError),
    /// Speech recognition failed on readable audio.
    #[error("speech recognition failed: {0}")]
    Speech(String),
    /// The caller stopped the work (e.g. a job's lease was lost).
    #[error("cancelled")]
    Cancelled,
}

impl MediaModerateError {
    /// The stable API error code.
    pub fn code(&self) -> ErrorCode {
        match self {
            MediaModerateError::Media(e) => e.code(),
            MediaModerateError::Truncated(_) => ErrorCode::DecodeFailed,
            MediaModerateError::NoSpeechModel
            | MediaModerateError::Speech(_)
            | MediaModerateError::Cancelled => ErrorCode::Internal,
            MediaModerateError::Detector(e) => e.code(),
        }
    }
}

/// Progress reports and cancellation for a long scan: called with the fraction done (0..=1);
/// returning `false` stops the scan with [`MediaModerateError::Cancelled`].
pub type ProgressFn<'a> = &'a mut dyn FnMut(f32) -> bool;

/// Everything needed to turn a video or an audio file into a verdict.
pub struct MediaModerator {
    /// Moderates sampled frames (and, through its `text`, recognised speech); carries the
    /// policy and the banks.
    pub image: ImageModerator,
    /// Whisper, where installed.
    pub speech: Option<Arc<SpeechModel>>,
    /// Video decoding limits.
    pub video_limits: VideoLimits,
    /// Audio decoding limits.
    pub audio_limits: AudioLimits,
}

/// One sampled frame's findings, before their intervals are known.
struct Sample {
    t: f64,
    /// PDQ bank matches.
    banks: Vec<Signal>,
    /// The classifier's findings are those of this sample (this one's own index, or an
    /// earlier one's that looked the same); they come from the classifier's thread.
    classified: usize,
    /// QR and OCR findings (this frame's or reused).
    readers: Vec<Signal>,
}

/// The classifier, QR and OCR findings of a sampled frame, reused for the frames after it
/// that look the same, for at most this long: a still scene or a static caption is read
/// once, not once a second, and a change too small for the thumbnail to show is still seen
/// within this time.
const MAX_REUSE_S: f64 = 10.0;

/// What [`MAX_REUSE_S`] reuses.
struct Detected {
    t: f64,
    thumb: Thumbnail,
    /// The sample the classifier ran on.
    index: usize,
    /// QR and OCR findings.
    readers: Vec<Signal>,
}

/// A 32×32 grey thumbnail (each cell the mean luma of its block) of a frame, to tell frames
/// that look the same apart from compression noise.
struct Thumbnail([u8; THUMB * THUMB]);

const THUMB: usize = 32;

/// How far (in grey levels) a thumbnail cell may move between two frames of the same
/// picture. x264 at CRF 28 moves the cells on the edges of `burned-text.mp4`'s static
/// caption by up to 6 levels between samples (keyframes are coded differently from the
/// frames between them); 3, the first choice, made every sample of that file look new.
/// A caption of 12 px letters or larger changes the cells it covers by well over 8 levels
/// at up to 1920×1080.
const NOISE_LEVELS: u8 = 8;

impl Thumbnail {
    /// `None` when the buffer does not hold `width × height` RGB pixels or the frame is
    /// smaller than the thumbnail.
    fn of_rgb(width: u32, height: u32, rgb: &[u8]) -> Option<Thumbnail> {
        let (w, h) = (width as usize, height as usize);
        if w < THUMB || h < THUMB || rgb.len() != w * h * 3 {
            return None;
        }
        let mut sums = [0u64; THUMB * THUMB];
        let mut counts = [0u64; THUMB * THUMB];
        for y in 0..h {
            let row = &rgb[y * w * 3..(y + 1) * w * 3];
            let cy = y * THUMB / h;
            for (x, px) in row.chunks_exact(3).enumerate() {
                let cell = cy * THUMB + x * THUMB / w;
                // Rec. 601 luma in integers.
                let luma = 299 * u64::from(px[0]) + 587 * u64::from(px[1]) + 114 * u64::from(px[2]);
                sums[cell] += luma;
                counts[cell] += 1000;
            }
        }
        let mut cells = [0u8; THUMB * THUMB];
        for (i, cell) in cells.iter_mut().enumerate() {
            *cell = (sums[i] / counts[i].max(1)) as u8;
        }
        Some(Thumbnail(cells))
    }

    /// Every cell within [`NOISE_LEVELS`] grey levels of the other frame's: the same
    /// picture up to compression noise. A caption, a cut or movement changes some cell by
    /// far more.
    fn same_as(&self, other: &Thumbnail) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .all(|(a, b)| a.abs_diff(*b) <= NOISE_LEVELS)
    }
}

impl MediaModerator {
    /// The verdict for the video at `path`, whose SHA-256 the caller computed.
    pub fn video_verdict(
        &self,
        path: &Path,
        sha256: String,
        client_id: Option<String>,
        progress: ProgressFn<'_>,
    ) -> Result<Verdict, MediaModerateError> {
        let started = Instant::now();
        let policy = &self.image.text.policy;
        let info = probe(path, &self.video_limits)?;
        let duration = info.duration_s.unwrap_or(0.0).max(0.0);
        let with_speech = info.has_audio && policy.media.speech && self.speech.is_some();
        // Progress: the frames' share and the speech's, which run at the same time.
        let video_share = if with_speech { 0.8 } else { 1.0 };
        let speech_done = AtomicU32::new(0f32.to_bits());
        let stop_speech = AtomicBool::new(false);
        let overall = |frames_done: f64| -> f32 {
            let speech = f64::from(f32::from_bits(speech_done.load(Ordering::Relaxed)));
            (frames_done.clamp(0.0, 1.0) * video_share + speech * (1.0 - video_share)) as f32
        };

        let options = SamplingOptions {
            interval_s: policy.media.frame_interval_s,
            scene_threshold: if policy.media.scene_changes {
                SamplingOptions::default().scene_threshold
            } else {
                None
            },
            ..SamplingOptions::default()
        };
        let mut samples: Vec<Sample> = Vec::new();
        let mut features: Vec<VpdqFeature> = Vec::new();
        let mut models: Vec<String> = Vec::new();
        let mut failure: Option<MediaModerateError> = None;
        // Three threads overlap: one decodes and samples, one runs the classifier (the
        // costliest detector), and this one runs the banks, QR and OCR, with at most
        // FRAME_QUEUE and CLASSIFIER_QUEUE frames waiting in between (bounded memory). A
        // fourth recognises the speech of the audio track meanwhile.
        let (frames_tx, frames_rx) = std::sync::mpsc::sync_channel(FRAME_QUEUE);
        let (classify_tx, classify_rx) =
            std::sync::mpsc::sync_channel::<(usize, f64, Arc<DecodedImage>)>(CLASSIFIER_QUEUE);
        let (summary, classified, speech) = std::thread::scope(|scope| {
            let this_thread = std::thread::current();
            let (speech_done, stop_speech) = (&speech_done, &stop_speech);
            let speech = with_speech.then(|| {
                scope.spawn(move || {
                    let found = self.speech_signals(path, duration, &mut |share| {
                        speech_done.store((share as f32).to_bits(), Ordering::Relaxed);
                        !stop_speech.load(Ordering::Relaxed)
                    });
                    // Wakes the wait for the speech below.
                    this_thread.unpark();
                    found
                })
            });
            let decoder = scope.spawn(|| {
                sample_frames(
                    path,
                    &options,
                    &self.video_limits,
                    move |frame| match frames_tx.send(frame) {
                        Ok(()) => ControlFlow::Continue(()),
                        Err(_) => ControlFlow::Break(()),
                    },
                )
            });
            let classifier = scope.spawn(move || {
                let mut found: HashMap<usize, Vec<Signal>> = HashMap::new();
                let mut ran: Vec<String> = Vec::new();
                for (index, t, image) in classify_rx {
                    let (signals, models) = self.image.scan_frame_classifier(&image, Some(t))?;
                    found.insert(index, signals);
                    ran.extend(models);
                }
                Ok::<_, ModerateError>((found, ran))
            });
            // The costly detectors' findings on the last frame they ran on, reused for
            // frames that look the same (a still scene, a static caption).
            let mut last_detected: Option<Detected> = None;
            for frame in frames_rx.iter() {
                let t = frame.t;
                let (w, h) = (frame.width, frame.height);
                let thumb = Thumbnail::of_rgb(w, h, &frame.rgb);
                let Some(image) = DecodedImage::from_rgb_frame(w, h, frame.rgb) else {
                    continue;
                };
                let image = Arc::new(image);
                let index = samples.len();
                let reusable = last_detected.as_ref().filter(|d| {
                    t - d.t < MAX_REUSE_S && thumb.as_ref().is_some_and(|th| d.thumb.same_as(th))
                });
                let (classified, readers) = match reusable {
                    Some(detected) => (detected.index, detected.readers.clone()),
                    None => {
                        // Sent first, so the classifier works while this thread hashes and
                        // reads. A closed channel means the classifier failed: its error
                        // comes out of the join below.
                        if classify_tx.send((index, t, Arc::clone(&image))).is_err() {
                            break;
                        }
                        match self.image.scan_frame_readers(&image, Some(t)) {
                            Ok((found, ran)) => {
                                models.extend(ran);
                                last_detected = thumb.map(|thumb| Detected {
                                    t,
                                    thumb,
                                    index,
                                    readers: found.clone(),
                                });
                                (index, found)
                            }
                            Err(e) => {
                                failure = Some(e.into());
                                break;
                            }
                        }
                    }
                };
                let scan = self.image.scan_frame_banks(&image, Some(t));
                features.push(VpdqFeature {
                    hash: scan.pdq,
                    quality: scan.quality,
                });
                samples.push(Sample {
                    t,
                    banks: scan.signals,
                    classified,
                    readers,
                });
                let done = if duration > 0.0 { t / duration } else { 0.0 };
                if !progress(overall(done)) {
                    failure = Some(MediaModerateError::Cancelled);
                    break;
                }
            }
            // Dropping the senders' ends stops the classifier after its queue and the
            // decoder at its next frame.
            drop(classify_tx);
            drop(frames_rx);
            let classified = classifier.join().unwrap_or_else(|_| {
                Err(ModerateError::Detector {
                    detector: "image model",
                    reason: "the classifier thread panicked".into(),
                })
            });
            let summary = decoder
                .join()
                .unwrap_or_else(|_| Err(MediaError::Decode("the decoder thread panicked".into())));
            let speech = speech.map(|speech| {
                if failure.is_some() || summary.is_err() || classified.is_err() {
                    stop_speech.store(true, Ordering::Relaxed);
                }
                // Progress goes on while the speech finishes after the frames.
                while !speech.is_finished() {
                    std::thread::park_timeout(Duration::from_millis(100));
                    if failure.is_none() && !progress(overall(1.0)) {
                        failure = Some(MediaModerateError::Cancelled);
                        stop_speech.store(true, Ordering::Relaxed);
                    }
                }
                speech.join().unwrap_or_else(|_| {
                    Err(MediaModerateError::Speech(
                        "the speech thread panicked".into(),
                    ))
                })
            });
            (summary, classified, speech)
        });
        let summary = summary?;
        if let Some(e) = failure {
            return Err(e);
        }
        let (classified, classifier_models) = classified?;
        models.extend(classifier_models);
        if let Some(reason) = summary.truncated {
            return Err(MediaModerateError::Truncated(reason));
        }
        let end = summary.duration_s.max(duration);
        let times: Vec<f64> = samples.iter().map(|s| s.t).collect();
        let samples = samples
            .into_iter()
            .map(|sample| {
                let mut signals = sample.banks;
                if let Some(model) = classified.get(&sample.classified) {
                    signals.extend(model.iter().cloned());
                }
                signals.extend(sample.readers);
                (sample.t, signals)
            })
            .collect();
        let mut signals = self.merge_frame_signals(samples, end);

        if policy.image.banks && policy.media.vpdq {
            signals.extend(self.vpdq_signals(&features, &times, end));
        }
        if let Some(speech) = speech {
            let (speech, model) = speech?;
            signals.extend(speech);
            models.push(model);
        }
        Ok(self.verdict(
            ContentType::Video,
            sha256,
            client_id,
            signals,
            models,
            started,
        ))
    }

    /// The verdict for the audio file (or the audio track of a video) at `path`.
    pub fn audio_verdict(
        &self,
        path: &Path,
        sha256: String,
        client_id: Option<String>,
        progress: ProgressFn<'_>,
    ) -> Result<Verdict, MediaModerateError> {
        let started = Instant::now();
        if self.speech.is_none() {
            return Err(MediaModerateError::NoSpeechModel);
        }
        let (signals, models) = if self.image.text.policy.media.speech {
            let (signals, model) =
                self.speech_signals(path, 0.0, &mut |share| progress(share as f32))?;
            (signals, vec![model])
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(self.verdict(
            ContentType::Audio,
            sha256,
            client_id,
            signals,
            models,
            started,
        ))
    }

    fn verdict(
        &self,
        content_type: ContentType,
        sha256: String,
        client_id: Option<String>,
        signals: Vec<Signal>,
        mut models: Vec<String>,
        started: Instant,
    ) -> Verdict {
        let policy = &self.image.text.policy;
        models.sort();
        models.dedup();
        let decision = policy.decide(signals);
        Verdict {
            id: crate::text::next_verdict_id(),
            content_type,
            content_ref: ContentRef {
                sha256,
                pdq: None,
                client_id,
            },
            suggestion: decision.suggestion,
            labels: decision.labels,
            policy: policy.id(),
            models,
            elapsed_ms: elapsed_ms(started),
        }
    }

    /// Gives every frame finding (per sample: its time and signals) an interval — from its
    /// sample to the next sample (or the end) — and merges the same finding on consecutive
    /// samples into one. Classifier scores are kept only where they reach the label's review
    /// threshold, plus the single highest score so the label always has its evidence.
    fn merge_frame_signals(&self, samples: Vec<(f64, Vec<Signal>)>, end: f64) -> Vec<Signal> {
        let policy = &self.image.text.policy;
        let mut open: HashMap<String, (Signal, usize)> = HashMap::new();
        let mut merged: Vec<Signal> = Vec::new();
        let mut best_model: Option<Signal> = None;
        let times: Vec<f64> = samples.iter().map(|(t, _)| *t).collect();
        for (i, (t, sample_signals)) in samples.into_iter().enumerate() {
            let t_end = times.get(i + 1).copied().unwrap_or(end).max(t);
            for mut signal in sample_signals {
                signal.evidence.t_start = Some(t);
                signal.evidence.t_end = Some(t_end);
                if signal.evidence.kind == EvidenceKind::Model {
                    if best_model.as_ref().is_none_or(|b| signal.score > b.score) {
                        best_model = Some(signal.clone());
                    }
                    if signal.score < policy.thresholds(&signal.label).review {
                        continue;
                    }
                }
                let key = finding_key(&signal);
                match open.get_mut(&key) {
                    Some((current, last)) if *last + 1 == i || *last == i => {
                        current.evidence.t_end = Some(t_end);
                        if signal.score > current.score {
                            current.score = signal.score;
                            current.evidence.score = signal.evidence.score;
                        }
                        if let (Some(a), Some(b)) =
                            (current.evidence.distance, signal.evidence.distance)
                        {
                            current.evidence.distance = Some(a.min(b));
                        }
                        *last = i;
                    }
                    _ => {
                        if let Some((done, _)) = open.insert(key, (signal, i)) {
                            merged.push(done);
                        }
                    }
                }
            }
        }
        merged.extend(open.into_values().map(|(s, _)| s));
        let has_model_signal = merged
            .iter()
            .any(|s| s.evidence.kind == EvidenceKind::Model);
        if let (false, Some(best)) = (has_model_signal, best_model) {
            merged.push(best);
        }
        merged.sort_by(|a, b| {
            a.evidence
                .t_start
                .partial_cmp(&b.evidence.t_start)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        merged
    }

    /// Video-bank matches of the sampled frames as a whole (vPDQ), with the stretch of the
    /// video whose frames matched.
    fn vpdq_signals(&self, features: &[VpdqFeature], times: &[f64], end: f64) -> Vec<Signal> {
        if features.is_empty() {
            return Vec::new();
        }
        let mut signals = Vec::new();
        for banks in &self.image.banks {
            for hit in banks.match_vpdq(features) {
                let Ok(label) = hit.label.parse::<Label>() else {
                    continue;
                };
                let first = hit.matched_query.iter().min().copied();
                let last = hit.matched_query.iter().max().copied();
                let mut evidence = Evidence::new(EvidenceKind::Vpdq);
                evidence.bank = Some(hit.bank);
                evidence.entry_id = Some(hit.entry_id);
                evidence.detail = Some(format!(
                    "{:.0}% of the bank video's frames and {:.0}% of this video's frames matched",
                    hit.compared_pct, hit.query_pct
                ));
                evidence.t_start = first.and_then(|i| times.get(i).copied());
                evidence.t_end = last.map(|i| times.get(i + 1).copied().unwrap_or(end));
                signals.push(Signal {
                    label,
                    score: 1.0,
                    evidence,
                    floor: None,
                    ceiling: None,
                });
            }
        }
        signals
    }

    /// Speech recognition on the file's audio, each segment moderated as text; returns the
    /// signals and the speech model's `name@version`. `report` gets the share of the audio
    /// done (0..=1; always 0 without a `known_duration`) after each chunk and returns `false`
    /// to stop.
    fn speech_signals(
        &self,
        path: &Path,
        known_duration: f64,
        report: &mut dyn FnMut(f64) -> bool,
    ) -> Result<(Vec<Signal>, String), MediaModerateError> {
        let model = self
            .speech
            .as_ref()
            .ok_or(MediaModerateError::NoSpeechModel)?;
        let mut transcriber = Transcriber::new(model, TranscribeOptions::default())
            .map_err(|e| MediaModerateError::Speech(e.to_string()))?;
        let mut segments: Vec<Segment> = Vec::new();
        let mut failure: Option<MediaModerateError> = None;
        let summary = decode_audio(path, &self.audio_limits, AUDIO_CHUNK_S, |chunk, t| {
            match transcriber.push(chunk) {
                Ok(done) => segments.extend(done),
                Err(e) => {
                    failure = Some(MediaModerateError::Speech(e.to_string()));
                    return ControlFlow::Break(());
                }
            }
            let share = if known_duration > 0.0 {
                (t / known_duration).clamp(0.0, 1.0)
            } else {
                0.0
            };
            if !report(share) {
                failure = Some(MediaModerateError::Cancelled);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(reason) = summary.truncated {
            return Err(MediaModerateError::Truncated(reason));
        }
        let (rest, _stats) = transcriber
            .finish()
            .map_err(|e| MediaModerateError::Speech(e.to_string()))?;
        segments.extend(rest);

        let text = &self.image.text;
        let mut signals = Vec::new();
        for segment in &segments {
            let scan = text.engine.scan(&segment.text, &text.options);
            for inner in scan.signals {
                signals.push(wrap(inner, EvidenceKind::Asr, &segment.text, |e| {
                    e.t_start = Some(segment.t_start);
                    e.t_end = Some(segment.t_end);
                }));
            }
        }
        Ok((signals, model.name_version().to_owned()))
    }
}

/// What makes two frame findings "the same" for merging across consecutive samples.
fn finding_key(signal: &Signal) -> String {
    let e = &signal.evidence;
    let inner = e.evidence.first();
    format!(
        "{}|{:?}|{}|{}|{}|{}",
        signal.label.as_str(),
        e.kind,
        e.bank.as_deref().unwrap_or(""),
        e.entry_id.as_deref().unwrap_or(""),
        inner.and_then(|i| i.library.as_deref()).unwrap_or(""),
        inner.and_then(|i| i.term.as_deref()).unwrap_or(""),
    )
}

/// Most frames [`evidence_frames`] returns.
pub const MAX_EVIDENCE_FRAMES: usize = 8;

/// JPEG stills of a video at the start of each piece of visual evidence in `verdict` (bank,
/// model, QR and OCR findings), at most [`MAX_EVIDENCE_FRAMES`], the longer side at most
/// `max_side` pixels: what a moderator looks at instead of the whole video. Each is the first
/// frame at or after its time. Empty when the video has no visual evidence or cannot be read
/// again (the verdict stands either way).
pub fn evidence_frames(
    path: &Path,
    verdict: &Verdict,
    limits: &VideoLimits,
    max_side: u32,
) -> Vec<(f64, Vec<u8>)> {
    use rampart_types::EvidenceKind;
    let mut wanted: Vec<f64> = verdict
        .labels
        .iter()
        .filter(|l| l.suggestion != rampart_types::Suggestion::Pass)
        .flat_map(|l| &l.evidence)
        .filter(|e| !matches!(e.kind, EvidenceKind::Asr))
        .filter_map(|e| e.t_start)
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| (t * 2.0).floor() / 2.0)
        .collect();
    wanted.sort_by(f64::total_cmp);
    wanted.dedup();
    wanted.truncate(MAX_EVIDENCE_FRAMES);
    if wanted.is_empty() {
        return Vec::new();
    }
    let options = SamplingOptions {
        interval_s: 0.5,
        scene_threshold: None,
        max_side: Some(max_side),
        ..SamplingOptions::default()
    };
    let mut next = 0;
    let mut frames = Vec::new();
    let result = sample_frames(path, &options, limits, |frame| {
        if next < wanted.len() && frame.t + 1e-3 >= wanted[next] {
            if let Some(jpeg) = encode_jpeg(frame.width, frame.height, &frame.rgb) {
                frames.push((frame.t, jpeg));
            }
            // One frame serves every target it reaches.
            while next < wanted.len() && frame.t + 1e-3 >= wanted[next] {
                next += 1;
            }
        }
        if next >= wanted.len() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    if result.is_err() {
        return Vec::new();
    }
    frames
}

/// A baseline JPEG (quality 80, 4:2:0) of packed RGB pixels.
fn encode_jpeg(width: u32, height: u32, rgb: &[u8]) -> Option<Vec<u8>> {
    let image = turbojpeg::Image {
        pixels: rgb,
        width: width as usize,
        pitch: width as usize * 3,
        height: height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    if rgb.len() < image.pitch * image.height || width == 0 || height == 0 {
        return None;
    }
    let mut compressor = turbojpeg::Compressor::new().ok()?;
    compressor.set_quality(80);
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    compressor.compress_to_vec(image).ok()
}

#[cfg(test)]
mod tests {
    use super::Thumbnail;

    /// A 64×48 RGB frame: white, with `dark` rows (y in the range) painted black.
    fn frame(dark: std::ops::Range<usize>, noise: u8) -> Vec<u8> {
        let (w, h) = (64, 48);
        let mut rgb = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) * 3;
                let base: u8 = if dark.contains(&y) { 0 } else { 250 };
                // Compression-like noise: ±noise, alternating.
                let v = if (x + y) % 2 == 0 {
                    base.saturating_add(noise)
                } else {
                    base.saturating_sub(noise)
                };
                rgb[i..i + 3].fill(v);
            }
        }
        rgb
    }

    #[test]
    fn thumbnails_tell_a_still_frame_from_a_changed_one() {
        let still = Thumbnail::of_rgb(64, 48, &frame(0..0, 0)).unwrap();
        let noisy = Thumbnail::of_rgb(64, 48, &frame(0..0, 5)).unwrap();
        assert!(still.same_as(&noisy), "noise averages out within a cell");
        let caption = Thumbnail::of_rgb(64, 48, &frame(30..34, 0)).unwrap();
        assert!(!still.same_as(&caption), "a caption appears");
        let thin = Thumbnail::of_rgb(64, 48, &frame(30..31, 0)).unwrap();
        assert!(!still.same_as(&thin), "a one-pixel line changes its cells");
    }

    #[test]
    fn a_shift_within_the_noise_levels_is_the_same_picture() {
        let white = frame(0..0, 0);
        let still = Thumbnail::of_rgb(64, 48, &white).unwrap();
        let shifted = |by: u8| -> Thumbnail {
            let rgb: Vec<u8> = white.iter().map(|v| v - by).collect();
            Thumbnail::of_rgb(64, 48, &rgb).unwrap()
        };
        // burned-text.mp4 measures 6 levels between samples of one static caption.
        assert!(still.same_as(&shifted(6)));
        assert!(still.same_as(&shifted(super::NOISE_LEVELS)));
        assert!(!still.same_as(&shifted(super::NOISE_LEVELS + 1)));
    }

    #[test]
    fn no_thumbnail_for_tiny_or_short_buffers() {
        assert!(Thumbnail::of_rgb(1, 1, &[0, 0, 0]).is_none());
        assert!(Thumbnail::of_rgb(64, 48, &[0u8; 10]).is_none());
    }
}
