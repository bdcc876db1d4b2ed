//! View models: everything a page shows, already fetched and decided by the
//! server. Strings are owned and untrusted — the pages escape all of them.
//!
//! Times are Unix milliseconds (UTC); "now" is passed in so that pages are
//! pure and ages are reproducible in tests.

/// The signed-in reviewer, shown in the header of every page.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// Tenant the session's API key belongs to.
    pub tenant: String,
    /// Name of the API key that was exchanged for the session.
    pub key_name: String,
    /// Role of that key (e.g. `reviewer`, `admin`).
    pub role: String,
    /// Anti-CSRF token carried by every form that POSTs.
    pub csrf: String,
}

/// Whether a flash message reports success/information or an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FlashKind {
    /// Announced politely (`role="status"`).
    #[default]
    Info,
    /// Announced at once (`role="alert"`).
    Error,
}

/// A one-off message shown at the top of a page after a redirect.
#[derive(Debug, Clone, Default)]
pub struct Flash {
    /// Info or error.
    pub kind: FlashKind,
    /// The message text.
    pub message: String,
}

/// One page of the review queue.
#[derive(Debug, Clone, Default)]
pub struct QueueView {
    /// `"open"` or `"decided"`.
    pub state: String,
    /// The items on this page.
    pub rows: Vec<QueueRow>,
    /// Cursor for `?after=` to fetch the next page; `None` on the last page.
    pub next: Option<String>,
    /// Message from the previous action, if any.
    pub flash: Option<Flash>,
    /// Labels a reviewer may pick for a bulk decision.
    pub label_choices: Vec<String>,
}

/// One item in the queue table.
#[derive(Debug, Clone, Default)]
pub struct QueueRow {
    /// Review item id.
    pub id: String,
    /// `text`, `image`, `video` or `audio`.
    pub content_type: String,
    /// Why the item is in the queue: `review`, `sample` or `appeal`.
    pub reason: String,
    /// Whether a reviewer escalated the item.
    pub escalated: bool,
    /// 0 (lowest) to 100 (highest).
    pub priority: u32,
    /// Flagged labels with their scores.
    pub labels: Vec<(String, f32)>,
    /// The automated suggestion: `pass`, `review` or `block`.
    pub suggestion: String,
    /// When the item entered the queue.
    pub created_at_ms: i64,
    /// The server's clock when the page was rendered.
    pub now_ms: i64,
    /// Key name of the reviewer holding the claim, if claimed.
    pub claimed_by: Option<String>,
    /// Whether the claim belongs to the signed-in key.
    pub claim_is_mine: bool,
    /// For decided rows: `approve` or `remove`.
    pub outcome: Option<String>,
}

/// Everything shown on one review item's page.
#[derive(Debug, Clone, Default)]
pub struct ItemView {
    /// Review item id.
    pub id: String,
    /// Id of the automated verdict under review.
    pub verdict_id: String,
    /// The client's own id for the content, if it gave one.
    pub client_id: Option<String>,
    /// Name of the policy that produced the verdict.
    pub policy: String,
    /// `text`, `image`, `video` or `audio`.
    pub content_type: String,
    /// `review`, `sample` or `appeal`.
    pub reason: String,
    /// `open` or `decided`.
    pub state: String,
    /// Whether a reviewer escalated the item.
    pub escalated: bool,
    /// 0 (lowest) to 100 (highest).
    pub priority: u32,
    /// The automated suggestion: `pass`, `review` or `block`.
    pub suggestion: String,
    /// When the item entered the queue.
    pub created_at_ms: i64,
    /// The server's clock when the page was rendered.
    pub now_ms: i64,
    /// The current claim, if any.
    pub claim: Option<ClaimView>,
    /// The decision in force, if decided.
    pub decision: Option<DecisionView>,
    /// Every decision taken on the item, oldest first.
    pub history: Vec<DecisionView>,
    /// Present when the item reopens an earlier decision on appeal.
    pub appeal: Option<AppealView>,
    /// The content under review, or why it is not shown.
    pub content: ContentView,
    /// Evidence behind the automated verdict.
    pub evidence: Vec<EvidenceRow>,
    /// Labels a reviewer may pick for the decision.
    pub label_choices: Vec<String>,
    /// The label preselected in the decision form.
    pub default_label: Option<String>,
    /// Id of the next item to review, if any.
    pub next_item: Option<String>,
    /// Whether the signed-in key may claim the item now.
    pub can_claim: bool,
    /// Whether the signed-in key may decide the item now.
    pub can_decide: bool,
    /// Whether the signed-in key may reopen the item on appeal.
    pub can_appeal: bool,
    /// Render media unblurred (the no-JavaScript `?reveal=1` fallback).
    pub reveal: bool,
    /// Message from the previous action, if any.
    pub flash: Option<Flash>,
}

/// A reviewer's time-limited claim on an item.
#[derive(Debug, Clone, Default)]
pub struct ClaimView {
    /// Key name of the reviewer holding the claim.
    pub by: String,
    /// When the claim lapses.
    pub until_ms: i64,
    /// Whether the claim belongs to the signed-in key.
    pub mine: bool,
}

/// A human decision on an item.
#[derive(Debug, Clone, Default)]
pub struct DecisionView {
    /// `approve`, `remove` or `escalate`.
    pub outcome: String,
    /// The label the decision rests on, if any.
    pub label: Option<String>,
    /// The reviewer's reason (published in the statement of reasons).
    pub reason: String,
    /// Key name of the reviewer.
    pub by: String,
    /// When the decision was taken.
    pub at_ms: i64,
}

/// The appeal that reopened an item.
#[derive(Debug, Clone, Default)]
pub struct AppealView {
    /// Id of the item whose decision is appealed, if known.
    pub of_item: Option<String>,
    /// The appellant's statement.
    pub statement: String,
    /// Key name of the reviewer who decided the original and so may not
    /// decide the appeal.
    pub excluded: Option<String>,
}

/// The content under review, or why it cannot be shown.
#[derive(Debug, Clone, Default)]
pub enum ContentView {
    /// Text with the spans that were flagged.
    Text {
        /// The submitted text.
        text: String,
        /// Flagged spans as byte offsets into `text`.
        spans: Vec<Highlight>,
    },
    /// One image, served by the console.
    Image {
        /// Where the console serves the image.
        url: String,
        /// The image's media type, e.g. `image/jpeg`.
        media_type: String,
    },
    /// Frames sampled from a video.
    Frames {
        /// The sampled frames in time order.
        frames: Vec<FrameView>,
    },
    /// A speech transcript of audio or video.
    Transcript {
        /// The transcript in time order.
        segments: Vec<TranscriptSegment>,
    },
    /// Content deleted by the retention policy.
    Purged {
        /// When it was purged, if known.
        at_ms: Option<i64>,
    },
    /// Content never stored (only hashes and evidence snippets were kept).
    #[default]
    NotRetained,
}

/// A flagged span of text. Offsets come from detectors and are not trusted:
/// they may overlap, run past the end or split a character.
#[derive(Debug, Clone, Default)]
pub struct Highlight {
    /// Byte offset where the span starts.
    pub start: usize,
    /// Byte offset just past the span's end.
    pub end: usize,
    /// The label the span was flagged for.
    pub label: String,
    /// What the detector saw, e.g. "zero-width obfuscation".
    pub note: String,
}

/// One sampled video frame.
#[derive(Debug, Clone, Default)]
pub struct FrameView {
    /// Where the console serves the frame.
    pub url: String,
    /// Position of the frame in the video.
    pub t_ms: i64,
    /// What was found in the frame, if anything.
    pub note: String,
}

/// One stretch of a speech transcript.
#[derive(Debug, Clone, Default)]
pub struct TranscriptSegment {
    /// Start, in seconds from the beginning of the media.
    pub t_start: f64,
    /// End, in seconds from the beginning of the media.
    pub t_end: f64,
    /// The words recognised.
    pub words: String,
    /// Whether a detector flagged these words.
    pub flagged: bool,
}

/// One piece of evidence behind the automated verdict.
#[derive(Debug, Clone, Default)]
pub struct EvidenceRow {
    /// The label the evidence supports.
    pub label: String,
    /// Detector score, 0 to 1.
    pub score: f32,
    /// Kind of evidence, e.g. `term`, `classifier`, `hash_match`, `asr`.
    pub kind: String,
    /// Human-readable explanation.
    pub explanation: String,
    /// Start of the evidence in media time (seconds), if timed.
    pub t_start: Option<f64>,
    /// End of the evidence in media time (seconds), if timed.
    pub t_end: Option<f64>,
}

/// One page of the tenant's audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditView {
    /// Entries in ascending seq order.
    pub entries: Vec<AuditRow>,
    /// Seq to pass as `?after=` for the next (newer) page.
    pub next_after: Option<u64>,
    /// Result of a chain verification, when one was asked for.
    pub verify: Option<VerifyView>,
    /// The publishable chain head line, if the chain is not empty.
    pub head: Option<String>,
    /// Message from the previous action, if any.
    pub flash: Option<Flash>,
}

/// One audit log entry.
#[derive(Debug, Clone, Default)]
pub struct AuditRow {
    /// Sequence number in the tenant's chain, from 1.
    pub seq: u64,
    /// When the entry was appended.
    pub ts_ms: i64,
    /// Who acted.
    pub actor: String,
    /// What they did.
    pub action: String,
    /// What they did it to.
    pub subject: String,
    /// The entry's chain hash (hex).
    pub hash: String,
}

/// The result of verifying the audit chain.
#[derive(Debug, Clone, Default)]
pub struct VerifyView {
    /// Whether the chain is intact.
    pub ok: bool,
    /// How many entries were checked.
    pub checked: u64,
    /// The first seq that failed, if the chain is broken.
    pub broken_seq: Option<u64>,
    /// What was wrong (or a summary when intact).
    pub message: String,
}

/// The transparency report for a period, as shown in the console.
#[derive(Debug, Clone, Default)]
pub struct TransparencyView {
    /// First day of the period, `YYYY-MM-DD`.
    pub from: String,
    /// Last day of the period, `YYYY-MM-DD`.
    pub to: String,
    /// Why the period could not be reported, if it could not.
    pub error: Option<String>,
    /// Automated verdicts per suggestion (`pass`, `review`, `block`).
    pub by_suggestion: Vec<(String, u64)>,
    /// Automated verdicts per content type.
    pub by_content_type: Vec<(String, u64)>,
    /// Automated verdicts per flagged label and suggestion.
    pub by_label: Vec<LabelCount>,
    /// Per-day counts, in day order.
    pub daily: Vec<DayCount>,
    /// Verdicts decided by automation alone.
    pub automated_decisions: u64,
    /// Decisions taken by human reviewers.
    pub human_decisions: u64,
    /// Human decisions per outcome.
    pub by_outcome: Vec<(String, u64)>,
    /// Median time from queueing to human decision.
    pub median_time_to_decision_ms: Option<i64>,
    /// Appeals received.
    pub appeals: u64,
    /// Appeals decided.
    pub appeals_decided: u64,
    /// Appeals that reversed the original decision.
    pub reversed: u64,
    /// `reversed / appeals_decided`, if any appeal was decided.
    pub reversal_rate: Option<f64>,
    /// Items open at the end of the period.
    pub open_items: u64,
    /// Items escalated at the end of the period.
    pub escalated_items: u64,
}

/// Automated verdicts for one label, per suggestion.
#[derive(Debug, Clone, Default)]
pub struct LabelCount {
    /// The label.
    pub label: String,
    /// Verdicts suggesting pass.
    pub pass: u64,
    /// Verdicts suggesting review.
    pub review: u64,
    /// Verdicts suggesting block.
    pub block: u64,
}

/// Counts for one day of the period.
#[derive(Debug, Clone, Default)]
pub struct DayCount {
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Verdicts suggesting pass.
    pub pass: u64,
    /// Verdicts suggesting review.
    pub review: u64,
    /// Verdicts suggesting block.
    pub block: u64,
    /// Human decisions taken that day.
    pub human: u64,
}
