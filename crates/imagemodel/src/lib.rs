//! Image classifier (being written).
