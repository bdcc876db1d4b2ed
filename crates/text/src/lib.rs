//! Rampart text engine (in progress).
pub mod normalise;
