//! End-to-end transcription of the speech fixtures with the real model.
//!
//! Needs `$RAMPART_MODELS/whisper-tiny.en.ggml.bin` (run `scripts/fetch-models.sh`) and the
//! fixtures in `$RAMPART_TESTDATA/media/speech` (default the repository's `data/testdata`, where
//! `./setup.sh` makes them). Run in
//! release mode for speed: `cargo test --release -p rampart-speech`.

use std::path::PathBuf;
use std::sync::OnceLock;

use rampart_speech::eval::{evaluate, EvalItem};
use rampart_speech::{
    default_model_path, transcribe, Segment, SpeechModel, TranscribeOptions, Transcriber,
    SAMPLE_RATE,
};

fn speech_dir() -> PathBuf {
    let root = std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        });
    root.join("media/speech")
}

fn model() -> &'static SpeechModel {
    static MODEL: OnceLock<SpeechModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let path = default_model_path().unwrap_or_else(|e| panic!("{e}"));
        SpeechModel::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// 16-bit mono 16 kHz WAV → f32 samples.
fn wav(name: &str) -> Vec<f32> {
    let path = speech_dir().join(name);
    let mut reader = hound::WavReader::open(&path)
        .unwrap_or_else(|e| panic!("fixture {} missing or unreadable: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (SAMPLE_RATE, 1, 16)
    );
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("sample")) / 32768.0)
        .collect()
}

/// The reference text of a fixture: its rows of transcripts.csv joined in order.
fn reference(name: &str) -> String {
    let path = speech_dir().join("transcripts.csv");
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    let rows: Vec<String> = reader
        .records()
        .map(|r| r.expect("csv row"))
        .filter(|r| r.get(0) == Some(name))
        .map(|r| r.get(3).expect("text column").to_owned())
        .collect();
    assert!(!rows.is_empty(), "{name} has no row in transcripts.csv");
    rows.join(" ")
}

fn run(samples: &[f32]) -> (Vec<Segment>, rampart_speech::TranscribeStats) {
    let mut transcriber =
        Transcriber::new(model(), TranscribeOptions::default()).expect("transcriber");
    let mut segments = transcriber.push(samples).expect("push");
    let (rest, stats) = transcriber.finish().expect("finish");
    segments.extend(rest);
    (segments, stats)
}

fn text_of(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn model_names_itself() {
    assert_eq!(model().name_version(), "whisper-tiny.en@1");
}

#[test]
fn threat_is_heard() {
    let (segments, stats) = run(&wav("threat.wav"));
    let text = text_of(&segments);
    assert!(text.contains("find you"), "{text}");
    assert!(text.contains("idiot"), "{text}");
    assert_eq!(stats.windows, 1);
    assert!(segments[0].t_start < 0.3, "{segments:?}");
}

#[test]
fn profanity_is_heard() {
    let text = text_of(&run(&wav("profanity.wav")).0);
    assert!(text.contains("fucking"), "{text}");
    assert!(text.contains("shit"), "{text}");
}

#[test]
fn silence_costs_no_whisper_call() {
    let samples = wav("silence.wav");
    let (segments, stats) = run(&samples);
    assert!(segments.is_empty(), "{segments:?}");
    assert_eq!(stats.windows, 0);
    assert_eq!(stats.voiced_s, 0.0);
    assert_eq!(stats.audio_s, 5.0);
}

#[test]
fn leading_silence_does_not_pull_the_start_back() {
    // The recipe's pitfall: 5 s of silence then speech came back as a segment from 0.0 s.
    let mut samples = vec![0.0; 5 * SAMPLE_RATE as usize];
    samples.extend(wav("threat.wav"));
    let (segments, _) = run(&samples);
    let text = text_of(&segments);
    assert!(text.contains("idiot"), "{text}");
    assert!((segments[0].t_start - 5.0).abs() <= 0.5, "{segments:?}");
}

#[test]
fn long_talk_places_the_threat_at_45_seconds() {
    let (segments, stats) = run(&wav("long-talk.wav"));
    let is_threat = |s: &Segment| {
        let t = s.text.to_lowercase();
        t.contains("hurt") || t.contains("worthless") || t.contains("idiot")
    };
    let threats: Vec<&Segment> = segments.iter().filter(|s| is_threat(s)).collect();
    assert_eq!(threats.len(), 1, "{segments:#?}");
    let threat = threats[0];
    assert!((threat.t_start - 45.0).abs() <= 1.0, "{threat:?}");
    assert!((threat.t_end - 48.0).abs() <= 1.0, "{threat:?}");
    // Everything else is the clean community update, in order, inside the audio.
    assert!(segments.len() >= 10, "{segments:#?}");
    for pair in segments.windows(2) {
        assert!(pair[0].t_start <= pair[1].t_start, "{pair:?}");
    }
    for s in &segments {
        assert!(
            0.0 <= s.t_start && s.t_start <= s.t_end && s.t_end <= 60.0,
            "{s:?}"
        );
    }
    // Speech ends at 57.0 s; the trailing 3 s of silence is not voiced.
    assert!(stats.voiced_s > 45.0 && stats.voiced_s < 57.0, "{stats:?}");
    assert!(stats.windows >= 2 && stats.windows <= 6, "{stats:?}");
}

#[test]
fn chunking_does_not_change_the_result() {
    let samples = wav("long-talk.wav");
    let (whole, whole_stats) = run(&samples);
    let mut transcriber =
        Transcriber::new(model(), TranscribeOptions::default()).expect("transcriber");
    let mut pieces = Vec::new();
    for chunk in samples.chunks(7919) {
        pieces.extend(transcriber.push(chunk).expect("push"));
    }
    let (rest, stats) = transcriber.finish().expect("finish");
    pieces.extend(rest);
    assert_eq!(pieces, whole);
    assert_eq!(stats, whole_stats);
}

#[test]
fn word_error_rate_over_the_fixtures_is_at_most_0_15() {
    let names = [
        "clean-weather.wav",
        "spam-pills.wav",
        "threat.wav",
        "profanity.wav",
        "numbers-pii.wav",
        "silence.wav",
        "long-talk.wav",
    ];
    let items: Vec<EvalItem> = names
        .iter()
        .map(|name| EvalItem {
            name: (*name).to_owned(),
            reference: reference(name),
            samples: wav(name),
        })
        .collect();
    let report = evaluate(model(), &items, &TranscribeOptions::default()).expect("evaluate");
    println!("{report}");
    assert_eq!(report.rows.len(), names.len());
    assert!(report.words > 200, "{report}");
    assert!(report.wer <= 0.15, "{report}");
}

#[test]
fn empty_and_hostile_input_give_clean_results() {
    assert!(transcribe(model(), &[], &TranscribeOptions::default())
        .expect("empty")
        .is_empty());
    let nan = vec![f32::NAN; SAMPLE_RATE as usize * 2];
    assert!(transcribe(model(), &nan, &TranscribeOptions::default())
        .expect("nan")
        .is_empty());
    // Loud garbage: must not fail or panic; whatever it hears stays inside the audio.
    let mut garbage: Vec<f32> = (0..SAMPLE_RATE as usize * 3)
        .map(|i| if i % 7 < 3 { 1e30 } else { -f32::INFINITY })
        .collect();
    garbage[10] = f32::NAN;
    let segments = transcribe(model(), &garbage, &TranscribeOptions::default()).expect("garbage");
    for s in &segments {
        assert!(s.t_start >= 0.0 && s.t_end <= 3.0, "{s:?}");
    }
}

#[test]
fn bad_options_are_refused() {
    for opts in [
        TranscribeOptions {
            threads: 0,
            ..TranscribeOptions::default()
        },
        TranscribeOptions {
            max_window_s: 40.0,
            ..TranscribeOptions::default()
        },
        TranscribeOptions {
            pad_s: f64::NAN,
            ..TranscribeOptions::default()
        },
    ] {
        assert!(Transcriber::new(model(), opts).is_err());
    }
}

#[test]
fn speech_longer_than_a_window_is_cut_at_a_quiet_point() {
    // Five clips back to back, twice: ~37 s with no pause longer than the (raised)
    // hangover, so the VAD sees one region and it must be cut to fit Whisper's window.
    let clips = [
        "threat.wav",
        "clean-weather.wav",
        "spam-pills.wav",
        "numbers-pii.wav",
        "profanity.wav",
    ];
    let mut samples = Vec::new();
    for _ in 0..2 {
        for clip in clips {
            samples.extend(wav(clip));
        }
    }
    let audio_s = samples.len() as f64 / f64::from(SAMPLE_RATE);
    let mut opts = TranscribeOptions::default();
    opts.vad.hangover_ms = 1000;
    let mut transcriber = Transcriber::new(model(), opts).expect("transcriber");
    let mut segments = transcriber.push(&samples).expect("push");
    let (rest, stats) = transcriber.finish().expect("finish");
    segments.extend(rest);
    assert_eq!(stats.windows, 2, "{stats:?}");
    assert!((stats.voiced_s - audio_s).abs() < 1.0, "{stats:?}");
    let text = text_of(&segments);
    assert!(segments[0].text.contains("find you"), "{segments:#?}");
    assert_eq!(text.matches("worthless idiot").count(), 2, "{text}");
    assert!(text.contains("shit"), "{text}");
    assert!(segments.iter().any(|s| s.t_start > 28.0), "{segments:#?}");
    for pair in segments.windows(2) {
        assert!(pair[0].t_start <= pair[1].t_start, "{pair:?}");
    }
    assert!(segments.iter().all(|s| s.t_end <= audio_s), "{segments:#?}");
}
