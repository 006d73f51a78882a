//! Verifying push notifications (and Smart Invite and real-time scheduling
//! callbacks): Cronofy signs each body with HMAC-SHA256 keyed by the client
//! secret and sends it Base64-encoded in the `Cronofy-HMAC-SHA256` header,
//! one value per active secret, comma-separated.

use crate::runtime::Secret;
use crate::runtime::signature::hmac_sha256_matches;

/// The header Cronofy signs notifications in.
pub const HMAC_HEADER: &str = "Cronofy-HMAC-SHA256";

/// True when one of the comma-separated values in `header` is the
/// HMAC-SHA256 of the raw `body` under one of `secrets`. Compare the body as
/// received, before parsing it. The comparison is constant-time.
///
/// ```
/// use specbound::cronofy::verify_hmac;
/// use specbound::runtime::Secret;
/// let secret = Secret::new("opposable thumbs");
/// let body = br#"{"example":"well-known"}"#;
/// assert!(verify_hmac(&[&secret], "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk=", body));
/// assert!(verify_hmac(&[&secret], "wrong,38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk=", body));
/// assert!(!verify_hmac(&[&secret], "38ArsN7+J/O8joGsgirVEdV16a/+eb+5QgHGIiuv4hk=", b"{}"));
/// ```
pub fn verify_hmac(secrets: &[&Secret], header: &str, body: &[u8]) -> bool {
    header.split(',').any(|signature| {
        secrets
            .iter()
            .any(|secret| hmac_sha256_matches(secret.expose().as_bytes(), &[body], signature))
    })
}
