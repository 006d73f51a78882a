//! HMAC-SHA256 signatures of the bodies that APIs push to us (webhooks,
//! notifications), checked in constant time on the raw bytes.

use base64::Engine as _;
use hmac::{KeyInit, Mac};

/// The longest Base64 signature worth decoding: an HMAC-SHA256 is 44
/// characters; anything much longer is refused before it is decoded.
const MAX_SIGNATURE_LEN: usize = 128;

/// True when `signature` (standard Base64) is the HMAC-SHA256 under `key` of
/// `parts` joined end to end (no separator). The comparison is
/// constant-time; an empty part (an empty body) counts as empty bytes.
pub(crate) fn hmac_sha256_matches(key: &[u8], parts: &[&[u8]], signature: &str) -> bool {
    let signature = signature.trim();
    if signature.is_empty() || signature.len() > MAX_SIGNATURE_LEN {
        return false;
    }
    let Ok(signature) = base64::engine::general_purpose::STANDARD.decode(signature) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(&signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::hmac_sha256_matches;

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?",
    // HMAC-SHA256 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843.
    const RFC4231_2: &str = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=";

    #[test]
    fn the_rfc_4231_vector_matches_whole_or_in_parts() {
        assert!(hmac_sha256_matches(
            b"Jefe",
            &[b"what do ya want for nothing?"],
            RFC4231_2
        ));
        assert!(hmac_sha256_matches(
            b"Jefe",
            &[b"what do ya ", b"", b"want for nothing?"],
            RFC4231_2
        ));
    }

    #[test]
    fn a_wrong_key_body_or_garbage_signature_does_not_match() {
        assert!(!hmac_sha256_matches(
            b"jefe",
            &[b"what do ya want for nothing?"],
            RFC4231_2
        ));
        assert!(!hmac_sha256_matches(
            b"Jefe",
            &[b"what do ya want for nothing!"],
            RFC4231_2
        ));
        assert!(!hmac_sha256_matches(b"Jefe", &[b"x"], "not base64 !"));
        assert!(!hmac_sha256_matches(b"Jefe", &[b"x"], ""));
        assert!(!hmac_sha256_matches(b"Jefe", &[b"x"], &"A".repeat(4096)));
    }
}
