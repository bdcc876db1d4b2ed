//! Rampart text engine (in progress).
