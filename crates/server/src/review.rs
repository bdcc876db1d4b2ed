//! What goes to the human-review queue and what a decision sends out: the queueing rule
//! (policy `[review]`), the deterministic quality-check sample, an item's priority, the
//! content kept for the moderator, the webhook of a decision, and the retention sweeper.

use std::time::Duration;

use rampart_policy::ReviewSettings;
use rampart_store::{ContentPart, NewDelivery, NewReviewItem, ReviewItem, ReviewReason};
use rampart_types::{Label, Suggestion, Verdict};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// How often the retention sweeper looks for content past its retention period, by default.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Items purged per sweep step.
const PURGE_BATCH: u32 = 500;

/// The item to queue with `verdict` under `settings`, if any; `content` is asked for only
/// when an item is queued and the policy keeps content.
pub fn item_for(
    verdict: &Verdict,
    settings: &ReviewSettings,
    content: impl FnOnce() -> Vec<ContentPart>,
) -> Option<NewReviewItem> {
    let reason = match verdict.suggestion {
        Suggestion::Review if settings.queue_review => ReviewReason::Review,
        Suggestion::Pass if sampled(&verdict.id, settings.sample_pass) => ReviewReason::Sample,
        Suggestion::Block if sampled(&verdict.id, settings.sample_block) => ReviewReason::Sample,
        _ => return None,
    };
    Some(NewReviewItem {
        reason,
        priority: priority(verdict),
        content: if settings.keep_content {
            content()
        } else {
            Vec::new()
        },
    })
}

/// Whether the verdict `id` falls in a sample of `rate` (0–1): decided by its SHA-256, so
/// the same verdict is always in or out, and every node agrees.
pub fn sampled(id: &str, rate: f64) -> bool {
    if rate <= 0.0 || rate.is_nan() {
        return false;
    }
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) as f64 / u64::MAX as f64) < rate
}

/// 0–100: the highest score among the labels the verdict flagged, raised by 20 for the
/// labels where a late look costs most (child safety, terrorism, violence). Flagged self-harm
/// is always 100, the top of the queue: a person may be in danger now, and a moderator's quick
/// look (and the platform's help resources) matter more than anything else waiting.
pub fn priority(verdict: &Verdict) -> u32 {
    verdict
        .labels
        .iter()
        .filter(|l| l.suggestion != Suggestion::Pass)
        .map(|l| {
            if l.label == Label::SelfHarm {
                return 100;
            }
            let base = (l.score.clamp(0.0, 1.0) * 80.0).round() as u32;
            let urgent = matches!(
                l.label,
                Label::SexualMinors | Label::Terrorism | Label::Violence
            );
            base + if urgent { 20 } else { 0 }
        })
        .max()
        .unwrap_or(0)
        .min(100)
}

/// A text kept for review.
pub fn text_content(text: &str) -> Vec<ContentPart> {
    vec![ContentPart {
        media_type: TEXT_MEDIA_TYPE.to_owned(),
        t_ms: None,
        data: text.as_bytes().to_vec(),
    }]
}

/// The media type of kept text.
pub const TEXT_MEDIA_TYPE: &str = "text/plain; charset=utf-8";

/// An image kept for review, with its type sniffed from its first bytes (only the types the
/// console will show inline; anything else is kept as `application/octet-stream` and never
/// shown as an image).
pub fn image_content(bytes: &[u8]) -> Vec<ContentPart> {
    vec![ContentPart {
        media_type: image_media_type(bytes).to_owned(),
        t_ms: None,
        data: bytes.to_vec(),
    }]
}

/// `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `image/bmp`, or
/// `application/octet-stream`.
pub fn image_media_type(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'G', b'I', b'F', b'8', ..] => "image/gif",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        [b'B', b'M', ..] => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// What a webhook receives when a moderator decides.
#[derive(Serialize)]
pub struct DecisionCallback<'a> {
    pub event: &'static str,
    pub item_id: &'a str,
    pub verdict_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    /// `approve` or `remove`.
    pub outcome: &'a str,
    /// What the content now amounts to: `pass` or `block`.
    pub suggestion: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'a str>,
    pub reason: &'a str,
    pub decided_by: &'a str,
    /// Whether this decided an appeal.
    pub appeal: bool,
}

/// The webhook delivery of a final decision on `item`, when the tenant has a webhook URL.
pub async fn decision_delivery(
    state: &AppState,
    item: &ReviewItem,
    outcome: rampart_store::ReviewOutcome,
    label: Option<&str>,
    reason: &str,
    actor: &str,
) -> Option<NewDelivery> {
    let suggestion = outcome.suggestion()?;
    let config = crate::jobs::webhook_config(state.store.as_ref(), item.tenant)
        .await
        .map_err(|error| tracing::warn!(%error, "reading the webhook settings failed"))
        .ok()?;
    let url = config.url?;
    let event = "review.decided";
    let payload = serde_json::to_string(&DecisionCallback {
        event,
        item_id: &item.id,
        verdict_id: &item.verdict_id,
        client_id: item.client_id.as_deref(),
        outcome: outcome.as_str(),
        suggestion: suggestion.as_str(),
        label,
        reason,
        decided_by: actor,
        appeal: item.reason == ReviewReason::Appeal,
    })
    .ok()?;
    Some(NewDelivery {
        url,
        event: event.into(),
        payload,
    })
}

/// Purges kept content past its retention period, every `every`, forever.
pub async fn purge_forever(state: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        purge_due(&state).await;
    }
}

/// One sweep: purges everything due now, batch by batch; returns how many items.
pub async fn purge_due(state: &AppState) -> u64 {
    let mut total = 0;
    loop {
        let now = crate::jobs::now_ms();
        match state.store.purge_review_content(now, PURGE_BATCH).await {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                metrics::counter!("rampart_review_content_purged_total").increment(n);
                if n < u64::from(PURGE_BATCH) {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "purging review content failed; retrying next sweep");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            items = total,
            "review content purged after its retention period"
        );
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_types::{ContentRef, ContentType, LabelVerdict};

    fn verdict(id: &str, suggestion: Suggestion, labels: &[(Label, f32, Suggestion)]) -> Verdict {
        Verdict {
            id: id.into(),
            content_type: ContentType::Text,
            content_ref: ContentRef {
                sha256: "0".repeat(64),
                pdq: None,
                client_id: None,
            },
            suggestion,
            labels: labels
                .iter()
                .map(|(label, score, s)| LabelVerdict {
                    label: label.clone(),
                    score: *score,
                    suggestion: *s,
                    evidence: vec![],
                })
                .collect(),
            policy: "default@1".into(),
            models: vec![],
            elapsed_ms: 0.0,
        }
    }

    #[test]
    fn reviews_are_queued_and_pass_or_block_only_when_sampled() {
        let settings = ReviewSettings::default();
        let review = verdict(
            "v1",
            Suggestion::Review,
            &[(Label::Hate, 0.5, Suggestion::Review)],
        );
        let item = item_for(&review, &settings, || text_content("hi")).unwrap();
        assert_eq!(item.reason, ReviewReason::Review);
        assert_eq!(item.content.len(), 1);
        let pass = verdict("v2", Suggestion::Pass, &[]);
        assert!(item_for(&pass, &settings, Vec::new).is_none());
        let all = ReviewSettings {
            sample_pass: 1.0,
            sample_block: 1.0,
            keep_content: false,
            ..settings.clone()
        };
        let sampled_item = item_for(&pass, &all, || panic!("content not kept")).unwrap();
        assert_eq!(sampled_item.reason, ReviewReason::Sample);
        assert!(sampled_item.content.is_empty());
        let off = ReviewSettings {
            queue_review: false,
            ..settings
        };
        assert!(item_for(&review, &off, Vec::new).is_none());
    }

    #[test]
    fn sampling_is_deterministic_and_close_to_its_rate() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("01HX{i:08}")).collect();
        let picked = ids.iter().filter(|id| sampled(id, 0.1)).count();
        assert!((800..1200).contains(&picked), "{picked}");
        assert!(ids.iter().all(|id| sampled(id, 0.1) == sampled(id, 0.1)));
        assert!(!ids.iter().any(|id| sampled(id, 0.0)));
        assert!(ids.iter().all(|id| sampled(id, 1.0)));
    }

    #[test]
    fn priority_follows_score_and_urgent_labels() {
        let mild = verdict(
            "a",
            Suggestion::Review,
            &[(Label::Spam, 0.5, Suggestion::Review)],
        );
        let urgent = verdict(
            "b",
            Suggestion::Review,
            &[(Label::Terrorism, 0.5, Suggestion::Review)],
        );
        let passed = verdict(
            "c",
            Suggestion::Pass,
            &[(Label::Terrorism, 0.9, Suggestion::Pass)],
        );
        let self_harm = verdict(
            "d",
            Suggestion::Review,
            &[(Label::SelfHarm, 0.45, Suggestion::Review)],
        );
        assert_eq!(priority(&mild), 40);
        assert_eq!(priority(&urgent), 60);
        assert_eq!(priority(&passed), 0);
        assert_eq!(priority(&self_harm), 100, "self-harm goes to the top");
    }

    #[test]
    fn image_types_are_sniffed_and_anything_else_is_opaque() {
        assert_eq!(image_media_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(image_media_type(b"\x89PNG\r\n"), "image/png");
        assert_eq!(image_media_type(b"RIFF....WEBPVP8"), "image/webp");
        assert_eq!(
            image_media_type(b"<svg onload=alert(1)>"),
            "application/octet-stream"
        );
    }
}
