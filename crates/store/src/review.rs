//! The human-review queue as stored: items, their decisions, the content retained for the
//! moderator, appeals, console sessions and the counts transparency reports are built from.
//!
//! The rules the store enforces itself, in the transaction that changes an item, so that two
//! moderators or two nodes cannot break them:
//! - at most one open item per verdict (an appeal on content already in the queue conflicts);
//! - a claim is a lease held by one actor: another actor's claim on a live lease conflicts,
//!   and a decision under [`ClaimRule::Required`] needs the deciding actor's live claim;
//! - the actor an appeal excludes (whoever made the decision appealed) can neither claim nor
//!   decide it;
//! - a final decision (approve/remove) closes the item, stamps the verdict with the human
//!   outcome, schedules the retained content's purge, queues the webhook and appends the audit
//!   entry, all at once; an escalation keeps the item open, flags it and drops the claim.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::{StoreError, TenantId, UnixMillis};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(StoreError::Integrity(format!(
                        concat!("unknown ", stringify!($name), " '{}'"), s
                    ))),
                }
            }
        }
    };
}

wire_enum! {
    /// Why an item is in the queue.
    ReviewReason {
        /// The policy suggested `review`.
        Review = "review",
        /// A quality-check sample of an automated `pass` or `block`.
        Sample = "sample",
        /// Reopened by an appeal.
        Appeal = "appeal",
    }
}

wire_enum! {
    /// Where an item is.
    ReviewState {
        /// Waiting for (or under) a decision.
        Open = "open",
        /// Approved or removed.
        Decided = "decided",
    }
}

wire_enum! {
    /// What a moderator decides.
    ReviewOutcome {
        /// Leave the content up (the verdict becomes `pass`).
        Approve = "approve",
        /// Take the content down (the verdict becomes `block`).
        Remove = "remove",
        /// Hand the item to a senior moderator: it stays open, flagged and unclaimed.
        Escalate = "escalate",
    }
}

impl ReviewOutcome {
    /// The suggestion a final outcome amounts to; `None` for an escalation.
    pub fn suggestion(self) -> Option<rampart_types::Suggestion> {
        match self {
            ReviewOutcome::Approve => Some(rampart_types::Suggestion::Pass),
            ReviewOutcome::Remove => Some(rampart_types::Suggestion::Block),
            ReviewOutcome::Escalate => None,
        }
    }
}

/// Longest decision reason or appeal statement, in bytes.
pub const MAX_REASON: usize = 1000;
/// Most content parts (e.g. video frames) one item keeps.
pub const MAX_PARTS: usize = 16;
/// Most retained bytes per item.
pub const MAX_CONTENT_BYTES: usize = 32 << 20;

/// One piece of content kept for the moderator: the text, the image, or a video frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentPart {
    /// `text/plain; charset=utf-8`, `image/jpeg`, `image/png`…
    pub media_type: String,
    /// Where a video frame sits in the video.
    pub t_ms: Option<i64>,
    pub data: Vec<u8>,
}

/// A retained part as listed, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentPartInfo {
    pub part: u32,
    pub media_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_ms: Option<i64>,
    pub bytes: u64,
}

/// An item to queue with a verdict (in the verdict's own transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReviewItem {
    /// [`ReviewReason::Review`] or [`ReviewReason::Sample`].
    pub reason: ReviewReason,
    /// 0–100; higher is looked at first.
    pub priority: u32,
    /// Content to keep while the item is open (may be empty).
    pub content: Vec<ContentPart>,
}

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    pub outcome: ReviewOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub reason: String,
    /// `key:<id>` of the moderator.
    pub actor: String,
    pub at: UnixMillis,
}

/// A decision to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    pub outcome: ReviewOutcome,
    /// The label a removal is for (checked by the caller against the label set).
    pub label: Option<String>,
    pub reason: String,
}

/// How a decision treats claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRule {
    /// The deciding actor must hold a live claim (the console and single decisions).
    Required,
    /// Bulk decisions: any item nobody else holds a live claim on.
    UnlessHeldByOther,
}

/// The appeal that reopened an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    /// The decided item appealed, if the content had been reviewed before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of_item: Option<String>,
    pub statement: String,
    /// Who may not decide it (the moderator of the decision appealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded_actor: Option<String>,
}

/// A live or lapsed claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub actor: String,
    pub until: UnixMillis,
}

/// One item of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    pub id: String,
    #[serde(skip)]
    pub tenant: TenantId,
    pub verdict_id: String,
    /// text, image, video or audio.
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The automated suggestion of the verdict.
    pub automated: rampart_types::Suggestion,
    pub reason: ReviewReason,
    pub state: ReviewState,
    pub escalated: bool,
    pub priority: u32,
    pub created_at: UnixMillis,
    /// The claim, while one is recorded (it may have lapsed: compare `until` with now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<Appeal>,
    /// The final decision, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<ReviewDecision>,
    /// Whether the final decision reversed the decision appealed (or the automated one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reverses: Option<bool>,
    /// Retained content, until purged.
    pub content: Vec<ContentPartInfo>,
    /// When the retained content is purged (set by the final decision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purge_after: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<UnixMillis>,
}

impl ReviewItem {
    /// The actor holding a live claim at `now`.
    pub fn claimed_by(&self, now: UnixMillis) -> Option<&str> {
        self.claim
            .as_ref()
            .filter(|c| c.until > now)
            .map(|c| c.actor.as_str())
    }
}

/// Which items a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewFilter {
    /// Open items (queue order: escalated first, then priority, then age) or decided ones
    /// (newest decision first).
    pub state: ReviewState,
    pub reason: Option<ReviewReason>,
    pub escalated: Option<bool>,
    /// Oldest first instead of by priority (open items only).
    pub oldest_first: bool,
}

impl Default for ReviewFilter {
    fn default() -> Self {
        ReviewFilter {
            state: ReviewState::Open,
            reason: None,
            escalated: None,
            oldest_first: false,
        }
    }
}

/// Where a page of items ends: pass it back to get the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewCursor {
    pub escalated: bool,
    pub priority: u32,
    /// `created_at` for open items, `decided_at` for decided ones.
    pub at: UnixMillis,
    pub id: String,
}

impl ReviewCursor {
    /// The cursor after `item` in a list of `state`.
    pub fn after(item: &ReviewItem) -> ReviewCursor {
        ReviewCursor {
            escalated: item.escalated,
            priority: item.priority,
            at: item
                .decision
                .as_ref()
                .map(|d| d.at)
                .unwrap_or(item.created_at),
            id: item.id.clone(),
        }
    }

    /// `e.p.at.id`, opaque to clients.
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            u8::from(self.escalated),
            self.priority,
            self.at,
            self.id
        )
    }

    /// The inverse of [`ReviewCursor::encode`].
    pub fn decode(text: &str) -> Option<ReviewCursor> {
        let mut parts = text.splitn(4, '.');
        let escalated = match parts.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let priority = parts.next()?.parse().ok()?;
        let at = parts.next()?.parse().ok()?;
        let id = parts.next()?;
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        Some(ReviewCursor {
            escalated,
            priority,
            at,
            id: id.to_owned(),
        })
    }
}

/// A console session, as the store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub tenant: TenantId,
    pub key_id: String,
    pub key_name: String,
    pub role: crate::Role,
    /// The session's CSRF token, for every form.
    pub csrf: String,
    pub expires_at: UnixMillis,
}

/// Counts over a period, for transparency reports (`[from, to)` in Unix milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewCounts {
    /// Verdicts by (day since the epoch, content type, automated suggestion, flagged labels
    /// as stored — `label:suggestion,…`, empty when none), with how many.
    pub verdicts: Vec<(i64, String, String, String, u64)>,
    /// Final and escalating decisions by (day, outcome, item reason, reverses), with how many.
    pub decisions: Vec<(i64, String, String, bool, u64)>,
    /// Time from queueing to final decision of each item decided in the period, in ms.
    pub decision_latencies_ms: Vec<i64>,
    /// Appeals opened in the period.
    pub appeals_opened: u64,
    /// Items open now, and how many of them are escalated.
    pub open_now: u64,
    pub escalated_now: u64,
}

/// An item ready to insert (by the verdict writer, a job's completion or an appeal).
#[derive(Debug, Clone)]
pub(crate) struct ReviewRow {
    pub id: String,
    pub verdict_id: String,
    pub content_type: String,
    pub client_id: Option<String>,
    /// The verdict's automated suggestion, as stored.
    pub automated: String,
    pub item: NewReviewItem,
    pub appeal: Option<Appeal>,
}

/// Checks a decision reason or appeal statement.
pub(crate) fn check_reason(field: &'static str, text: &str) -> Result<(), StoreError> {
    if text.len() > MAX_REASON {
        return Err(StoreError::invalid(
            field,
            format!("{field} is longer than {MAX_REASON} bytes"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(StoreError::invalid(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}

/// Checks the content an item is to keep.
pub(crate) fn check_content(parts: &[ContentPart]) -> Result<(), StoreError> {
    if parts.len() > MAX_PARTS {
        return Err(StoreError::invalid(
            "content",
            format!("at most {MAX_PARTS} parts"),
        ));
    }
    let total: usize = parts.iter().map(|p| p.data.len()).sum();
    if total > MAX_CONTENT_BYTES {
        return Err(StoreError::invalid(
            "content",
            format!("more than {MAX_CONTENT_BYTES} bytes"),
        ));
    }
    if let Some(bad) = parts.iter().find(|p| {
        p.media_type.is_empty()
            || p.media_type.len() > 100
            || p.media_type.chars().any(|c| c.is_control())
    }) {
        return Err(StoreError::invalid(
            "content",
            format!("bad media type '{}'", bad.media_type.escape_debug()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let cursor = ReviewCursor {
            escalated: true,
            priority: 87,
            at: 1_700_000_000_000,
            id: "01HXABC".into(),
        };
        assert_eq!(ReviewCursor::decode(&cursor.encode()), Some(cursor));
        for junk in ["", "2.1.1.a", "1.x.1.a", "1.1.1.", "1.1.1.a-b", "1.1"] {
            assert_eq!(ReviewCursor::decode(junk), None, "{junk}");
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for o in ReviewOutcome::ALL {
            assert_eq!(o.as_str().parse::<ReviewOutcome>().unwrap(), *o);
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
        for r in ReviewReason::ALL {
            assert_eq!(r.as_str().parse::<ReviewReason>().unwrap(), *r);
        }
        assert!("Approve".parse::<ReviewOutcome>().is_err());
    }

    #[test]
    fn reasons_are_bounded_and_free_of_control_characters() {
        assert!(check_reason("reason", "spam link\nsecond line").is_ok());
        assert!(check_reason("reason", &"x".repeat(MAX_REASON + 1)).is_err());
        assert!(check_reason("reason", "bell\u{7}").is_err());
    }
}
