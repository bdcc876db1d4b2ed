//! Text in, verdict out.

use std::sync::Arc;
use std::time::Instant;

use rampart_contacts::ContactOptions;
use rampart_policy::Policy;
use rampart_text::{ScanOptions, TextEngine};
use rampart_types::{ContentRef, ContentType, Verdict};
use sha2::{Digest, Sha256};

/// Everything needed to turn a text into a verdict. Cloning shares the engine.
#[derive(Clone)]
pub struct TextModerator {
    /// Term libraries, models and PII/ads detectors (shared by every moderator built on them).
    pub engine: Arc<TextEngine>,
    /// The policy that decides.
    pub policy: Policy,
    /// The detector settings derived from the policy.
    pub options: ScanOptions,
}

impl TextModerator {
    /// A moderator running `engine` under `policy`.
    pub fn new(engine: impl Into<Arc<TextEngine>>, policy: Policy) -> Self {
        let options = scan_options(&policy);
        TextModerator {
            engine: engine.into(),
            policy,
            options,
        }
    }

    /// The verdict for one text.
    pub fn verdict(&self, text: &str, client_id: Option<String>) -> Verdict {
        let started = Instant::now();
        let scan = self.engine.scan(text, &self.options);
        let decision = self.policy.decide(scan.signals);
        Verdict {
            id: next_verdict_id(),
            content_type: ContentType::Text,
            content_ref: ContentRef {
                sha256: hex::encode(Sha256::digest(text.as_bytes())),
                pdq: None,
                client_id,
            },
            suggestion: decision.suggestion,
            labels: decision.labels,
            policy: self.policy.id(),
            models: scan.models,
            elapsed_ms: elapsed_ms(started),
        }
    }
}

/// A new verdict id: a ULID, strictly increasing within this process (so verdicts made in the
/// same millisecond, e.g. one batch, list in the order they were made).
pub fn next_verdict_id() -> String {
    static GENERATOR: std::sync::Mutex<Option<ulid::Generator>> = std::sync::Mutex::new(None);
    let mut generator = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    generator
        .get_or_insert_with(ulid::Generator::new)
        .generate()
        // Overflow of the 80 random bits within one millisecond: fall back to a fresh ULID.
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// Milliseconds since `started`, to the microsecond.
pub(crate) fn elapsed_ms(started: Instant) -> f64 {
    (started.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// The text detectors' settings that a policy controls.
pub fn scan_options(policy: &Policy) -> ScanOptions {
    ScanOptions {
        disabled_libraries: policy.text.disabled_libraries.clone(),
        terms: policy.text.terms,
        models: policy.text.models,
        stage2: policy.text.stage2,
        contacts: policy.text.contacts,
        contact_options: ContactOptions {
            default_region: policy.text.phone_region.clone(),
            allowed_domains: policy.text.allowed_domains.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_ids_increase_within_a_millisecond() {
        let ids: Vec<String> = (0..1000).map(|_| next_verdict_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids not increasing");
        assert!(ids.iter().all(|id| id.parse::<ulid::Ulid>().is_ok()));
    }
}
