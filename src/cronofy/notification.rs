//! Verifying push notifications (and Smart Invite and real-time scheduling
//! callbacks): Cronofy signs each body with HMAC-SHA256 keyed by the client
//! secret and sends it Base64-encoded in the `Cronofy-HMAC-SHA256` header,
//! one value per active secret, comma-separated.

use base64::Engine as _;
use hmac::{KeyInit, Mac};

use crate::runtime::Secret;

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
    let engine = base64::engine::general_purpose::STANDARD;
    header
        .split(',')
        .filter_map(|v| engine.decode(v.trim()).ok())
        .any(|signature| {
            secrets.iter().any(|secret| {
                let Ok(mut mac) =
                    hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
                else {
                    return false;
                };
                mac.update(body);
                mac.verify_slice(&signature).is_ok()
            })
        })
}
