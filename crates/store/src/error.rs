//! The one error type of the store and its mapping to the API's stable error codes.

use rampart_types::ErrorCode;

/// What went wrong in a store call, worded for the caller.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist, or belongs to another tenant (the two are indistinguishable
    /// on purpose).
    #[error("{0} not found")]
    NotFound(String),
    /// An object with the same name or id already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The object is not in a state that allows this (an item claimed by someone else, a
    /// claim that expired, an item already decided).
    #[error("{0}")]
    StateConflict(String),
    /// The caller may not do this to this object (e.g. decide an appeal of their own
    /// decision).
    #[error("{0}")]
    Forbidden(String),
    /// A value was refused before anything was written.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The offending field, as named in the API.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The store URL names no supported backend.
    #[error("unsupported store '{0}': use a file path, sqlite://PATH or postgres://…")]
    BadUrl(String),
    /// The database's schema is newer than this build, or a migration failed.
    #[error("migration: {0}")]
    Migration(String),
    /// `integrity_check` found a problem.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The group-commit writer has stopped (the store is closing).
    #[error("the verdict writer has stopped")]
    WriterGone,
    /// An audit entry could not be sealed (e.g. a payload number outside the canonical JSON
    /// range).
    #[error("audit: {0}")]
    Audit(#[from] rampart_audit::AuditError),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// The stable API error code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Forbidden(_) => ErrorCode::Forbidden,
            StoreError::StateConflict(_) => ErrorCode::Conflict,
            StoreError::Invalid { .. } => ErrorCode::InvalidRequest,
            StoreError::BadUrl(_)
            | StoreError::Migration(_)
            | StoreError::Integrity(_)
            | StoreError::WriterGone
            | StoreError::Audit(_)
            | StoreError::Database(_) => ErrorCode::Internal,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Maps a unique violation to `Conflict(what)` and a foreign-key violation to
/// `NotFound(parent)`; anything else stays a database error.
pub(crate) fn classify(e: sqlx::Error, what: impl Into<String>, parent: &str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(what.into());
        }
        if db.is_foreign_key_violation() {
            return StoreError::NotFound(parent.to_owned());
        }
    }
    StoreError::Database(e)
}
