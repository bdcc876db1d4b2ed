//! Video stills kept for a moderator: one JPEG at the start of each piece of visual evidence,
//! none for spoken evidence, on the fixture `media/video/banned-insert.mp4` (the banned
//! still is shown from 8 s to 11 s).

use std::path::PathBuf;

use rampart_media::video::VideoLimits;
use rampart_moderate::evidence_frames;
use rampart_types::{
    ContentRef, ContentType, Evidence, EvidenceKind, Label, LabelVerdict, Suggestion, Verdict,
};

fn fixture() -> PathBuf {
    std::env::var_os("RAMPART_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("../../data/testdata")
        })
        .join("media/video/banned-insert.mp4")
}

fn evidence(kind: EvidenceKind, t: f64) -> Evidence {
    let mut e: Evidence = serde_json::from_value(serde_json::json!({"kind": "hash"})).unwrap();
    e.kind = kind;
    e.t_start = Some(t);
    e.t_end = Some(t + 3.0);
    e
}

fn verdict(evidence: Vec<Evidence>, suggestion: Suggestion) -> Verdict {
    Verdict {
        id: "01HXTEST".into(),
        content_type: ContentType::Video,
        content_ref: ContentRef::default(),
        suggestion,
        labels: vec![LabelVerdict {
            label: Label::Violence,
            score: 1.0,
            suggestion,
            evidence,
        }],
        policy: "default@1".into(),
        models: vec![],
        elapsed_ms: 0.0,
    }
}

#[test]
fn one_still_per_visual_finding_and_none_for_speech_or_passes() {
    let path = fixture();
    assert!(path.exists(), "missing fixture {}", path.display());
    let limits = VideoLimits::default();
    let v = verdict(
        vec![
            evidence(EvidenceKind::Hash, 8.0),
            evidence(EvidenceKind::Hash, 8.2),
            evidence(EvidenceKind::Asr, 2.0),
        ],
        Suggestion::Block,
    );
    let frames = evidence_frames(&path, &v, &limits, 320);
    assert_eq!(
        frames.len(),
        1,
        "8.0 and 8.2 share a still; speech has none"
    );
    let (t, jpeg) = &frames[0];
    assert!((8.0..8.6).contains(t), "{t}");
    assert_eq!(&jpeg[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    let two = evidence_frames(
        &path,
        &verdict(
            vec![
                evidence(EvidenceKind::Hash, 1.0),
                evidence(EvidenceKind::Hash, 9.0),
            ],
            Suggestion::Block,
        ),
        &limits,
        320,
    );
    assert_eq!(two.len(), 2);
    assert!(two[0].0 < two[1].0);
    let passed = verdict(vec![evidence(EvidenceKind::Hash, 8.0)], Suggestion::Pass);
    assert!(evidence_frames(&path, &passed, &limits, 320).is_empty());
    let unreadable = evidence_frames(std::path::Path::new("/nonexistent.mp4"), &v, &limits, 320);
    assert!(unreadable.is_empty());
}
