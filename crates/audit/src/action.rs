//! The closed set of things that get audited.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::AuditError;

macro_rules! actions {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// What an audit entry records. The string form (serde, [`Action::as_str`],
        /// [`FromStr`]) is part of the hashed record, so a variant's name must
        /// never change once released; new variants may only be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Action {
            $($(#[$doc])* $variant,)+
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)+];

            /// The stable wire name, e.g. `"review_decided"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }

        impl FromStr for Action {
            type Err = AuditError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(Action::$variant),)+
                    _ => Err(AuditError::UnknownAction(s.to_owned())),
                }
            }
        }
    };
}

actions! {
    /// A tenant was created; the natural first entry of its chain.
    TenantCreated = "tenant_created",
    /// A moderation verdict was stored.
    VerdictRecorded = "verdict_recorded",
    /// A moderator claimed a review item.
    ReviewClaimed = "review_claimed",
    /// A claim was given up or expired; the item is back in the queue.
    ReviewReleased = "review_released",
    /// A moderator decided a review item.
    ReviewDecided = "review_decided",
    /// An appeal reopened a decided item.
    AppealOpened = "appeal_opened",
    /// An appeal was decided.
    AppealDecided = "appeal_decided",
    /// A policy version was created or activated.
    PolicyChanged = "policy_changed",
    /// A term library was created, replaced or deleted.
    LibraryChanged = "library_changed",
    /// A hash bank was created, changed or deleted.
    BankChanged = "bank_changed",
    /// An API key was created.
    KeyCreated = "key_created",
    /// An API key was revoked.
    KeyRevoked = "key_revoked",
    /// The webhook configuration changed.
    WebhookChanged = "webhook_changed",
    /// Content passed its retention period and was purged.
    RetentionPurged = "retention_purged",
    /// The stored payload of an earlier audit entry was redacted; the chain
    /// still verifies, that entry's payload is then reported unavailable.
    PayloadRedacted = "payload_redacted",
    /// The chain head was exported for publication.
    ChainHeadExported = "chain_head_exported",
    /// A key signed in to the review console.
    ConsoleSignedIn = "console_signed_in",
    /// A request was refused as a security event: a form post without a valid CSRF token, a
    /// reach for another tenant's object, a moderator deciding an appeal of their own decision.
    SecurityRefused = "security_refused",
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_form_round_trips_and_matches_serde() {
        for &action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>().unwrap(), action);
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
            assert_eq!(action.to_string(), action.as_str());
        }
    }

    #[test]
    fn unknown_names_are_rejected() {
        for name in ["", "ReviewDecided", "review-decided", "review_decided "] {
            assert_eq!(
                name.parse::<Action>(),
                Err(AuditError::UnknownAction(name.into()))
            );
        }
    }
}
