//! Certificate credentials at the token endpoint: a `client_assertion` (a
//! JWT signed with the application's certificate, RFC 7523) checked as the
//! identity platform checks it, against the certificates registered with
//! [`GraphBuilder::app_certificate`](super::GraphBuilder::app_certificate).
//!
//! In order: the assertion type (400 `invalid_request`, AADSTS90011), the
//! JWT's form (`invalid_client` AADSTS50027), the algorithm (RS256 or PS256,
//! AADSTS5002738), `iss` and `sub` equal to `client_id` (AADSTS700021),
//! `aud` equal to the URL the request was posted to (AADSTS700023), `nbf`
//! and `exp` around now with five minutes' skew (AADSTS700024), the
//! certificate by `x5t#S256` or `x5t` among those of the client, and the
//! signature by its public key (AADSTS700027). `invalid_client` is a 401.

use base64::Engine as _;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::Value;

use super::errors::{GraphErr, oauth};
use super::store::Config;
use crate::graph::der;

/// `client_assertion_type` of a signed JWT.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew allowed on `nbf` and `exp`.
const SKEW_SECS: i64 = 300;
/// Longer assertions are refused as malformed before any decoding.
const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// A certificate registered with an application.
pub(super) struct AppCertificate {
    pub(super) client_id: String,
    /// `x5t#S256`: base64url SHA-256 of the DER.
    sha256: String,
    /// `x5t`: base64url SHA-1 of the DER (older clients send it).
    sha1: String,
    /// The DER `RSAPublicKey`.
    public_key: Vec<u8>,
}

impl AppCertificate {
    /// The first certificate of `pem`, or what is wrong with it.
    pub(super) fn from_pem(client_id: &str, pem: &[u8]) -> Result<Self, String> {
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pem)
            .map_err(|e| format!("the certificate of `{client_id}` cannot be read: {e}"))?;
        let public_key = der::rsa_public_key(&der)
            .map_err(|e| format!("the certificate of `{client_id}`: {e}"))?
            .to_vec();
        let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
        Ok(AppCertificate {
            client_id: client_id.to_string(),
            sha256: der::thumbprint_sha256(&der),
            sha1: b64().encode(sha1.as_ref()),
            public_key,
        })
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn invalid_client(aadsts: u32, message: &str) -> GraphErr {
    oauth("invalid_client", aadsts, message)
}

/// Checks the `client_assertion` of `body` for `client_id`, posted to
/// `token_url`.
pub(super) fn verify(
    config: &Config,
    body: &Value,
    client_id: &str,
    token_url: &str,
) -> Result<(), GraphErr> {
    let field = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    if field("client_assertion_type") != JWT_BEARER {
        return Err(oauth(
            "invalid_request",
            90011,
            "Unexpected client assertion type.",
        ));
    }
    let jwt = field("client_assertion");
    let malformed = || invalid_client(50027, "JWT token is invalid or malformed.");
    if jwt.len() > MAX_ASSERTION_LEN {
        return Err(malformed());
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let decode = |part: &str| -> Option<Value> {
        let bytes = b64().decode(part).ok()?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    };
    let (Some(header), Some(claims), Ok(sig)) = (decode(header), decode(claims), b64().decode(sig))
    else {
        return Err(malformed());
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let alg = text(&header, "alg").unwrap_or_default();
    let algorithm: &'static dyn VerificationAlgorithm = match alg.as_str() {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => {
            return Err(invalid_client(
                5002738,
                &format!(
                    "Invalid JWT token. '{other}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'"
                ),
            ));
        }
    };
    for claim in ["iss", "sub"] {
        if text(&claims, claim).as_deref() != Some(client_id) {
            return Err(invalid_client(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
            ));
        }
    }
    if text(&claims, "aud").as_deref() != Some(token_url) {
        return Err(invalid_client(
            700023,
            "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    check_times(&claims)?;
    let thumbprint = text(&header, "x5t#S256").or_else(|| text(&header, "x5t"));
    let certificate = config.certificates.iter().find(|c| {
        c.client_id == client_id
            && thumbprint
                .as_deref()
                .is_some_and(|t| t == c.sha256 || t == c.sha1)
    });
    let Some(certificate) = certificate else {
        return Err(invalid_client(
            700027,
            &format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]",
                thumbprint.unwrap_or_default()
            ),
        ));
    };
    let (signed, _) = jwt.rsplit_once('.').unwrap_or_default();
    UnparsedPublicKey::new(algorithm, &certificate.public_key)
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| {
            invalid_client(
                700027,
                "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]",
            )
        })
}

/// `nbf` (if any) and `exp` against now, with [`SKEW_SECS`].
fn check_times(claims: &Value) -> Result<(), GraphErr> {
    let now = chrono::Utc::now().timestamp();
    let nbf = claims.get("nbf").and_then(Value::as_i64);
    let Some(exp) = claims.get("exp").and_then(Value::as_i64) else {
        return Err(invalid_client(
            50027,
            "JWT token is invalid or malformed: it has no 'exp' claim.",
        ));
    };
    let show = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0).map_or_else(
            || t.to_string(),
            |d| d.format("%m/%d/%Y %H:%M:%S").to_string(),
        )
    };
    let early = nbf.is_some_and(|nbf| nbf > now.saturating_add(SKEW_SECS));
    if early || exp <= now.saturating_sub(SKEW_SECS) {
        return Err(invalid_client(
            700024,
            &format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
                show(now),
                nbf.map_or_else(|| "-".to_string(), show),
                show(exp)
            ),
        ));
    }
    Ok(())
}
