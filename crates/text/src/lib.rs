//! Rampart text engine (in progress).
pub mod normalise;
pub mod library;
pub mod matcher;
