//! QuickXorHash, the content hash OneDrive for Business and SharePoint give
//! each file (`file.hashes.quickXorHash`): a 160-bit register where byte `i`
//! of the content is XORed in at bit `11 * i` (mod 160, wrapping), then the
//! content's length (64 bits, little endian) XORed into the last eight
//! bytes; Base64 of the 20 bytes. The sandbox's own small implementation
//! (the client's lives in `src/graph`).

use base64::Engine as _;

/// Bits of the register.
const WIDTH: usize = 160;
/// How far each byte moves the insertion point.
const SHIFT: usize = 11;

/// The QuickXorHash of `data`, Base64.
pub(super) fn quick_xor_hash(data: &[u8]) -> String {
    let mut register = [0u8; WIDTH / 8];
    for (i, byte) in data.iter().enumerate() {
        let bit = (i % WIDTH) * SHIFT % WIDTH;
        let (index, offset) = (bit / 8, bit % 8);
        let spread = u16::from(*byte) << offset;
        register[index] ^= spread.to_le_bytes()[0];
        // The register wraps: bit 159 is followed by bit 0.
        register[(index + 1) % register.len()] ^= spread.to_le_bytes()[1];
    }
    let length = (data.len() as u64).to_le_bytes();
    let tail = register.len() - length.len();
    for (k, b) in length.iter().enumerate() {
        register[tail + k] ^= b;
    }
    base64::engine::general_purpose::STANDARD.encode(register)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of_base64(input: &str) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(input)
            .unwrap();
        quick_xor_hash(&bytes)
    }

    #[test]
    fn hashes_match_the_published_vectors() {
        // rclone's test vectors (backend/onedrive/quickxorhash): input, hash, both Base64.
        assert_eq!(quick_xor_hash(b""), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(of_base64("Sg=="), "SgAAAAAAAAAAAAAAAQAAAAAAAAA=");
        assert_eq!(of_base64("tbQ="), "taAFAAAAAAAAAAAAAgAAAAAAAAA=");
        assert_eq!(of_base64("0pZP"), "0rDEEwAAAAAAAAAAAwAAAAAAAAA=");
        assert_eq!(of_base64("jRRDVA=="), "jaDAEKgAAAAAAAAABAAAAAAAAAA=");
        assert_eq!(of_base64("eAV52qE="), "eChAHrQRCgAAAAAABQAAAAAAAAA=");
        assert_eq!(of_base64("luBZlaT6"), "lgBHFipBCn0AAAAABgAAAAAAAAA=");
        assert_eq!(of_base64("qaApEj66lw=="), "qQBFCiTgA11cAgAABwAAAAAAAAA=");
        assert_eq!(of_base64("/aNzzCFPS/A="), "/RjFHJgRgicsAR4ACAAAAAAAAAA=");
    }

    #[test]
    fn the_register_wraps_past_its_last_bit() {
        // Byte 160 lands on bit 0 again: a run of 161 bytes of 1 differs from
        // 160 of them by the lowest bit and the length.
        let a = quick_xor_hash(&[1u8; 160]);
        let b = quick_xor_hash(&[1u8; 161]);
        assert_ne!(a, b);
        let raw = |s: &str| base64::engine::general_purpose::STANDARD.decode(s).unwrap();
        let (ra, rb) = (raw(&a), raw(&b));
        assert_eq!(ra[0] ^ rb[0], 1);
        assert_eq!(ra[1..12], rb[1..12]);
    }
}
