//! Stub: filled in by the contacts work.
