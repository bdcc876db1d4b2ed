//! Helpers shared by the image crate's integration tests.

/// Appends one PNG chunk (length, type, data, CRC-32 of type and data) to `out`: for writing
/// PNGs by hand, valid or deliberately hostile, that no encoder would produce.
pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}
