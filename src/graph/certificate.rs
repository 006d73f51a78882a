//! Certificate credentials: the application proves itself with a JWT it
//! signs with its certificate's private key (`client_assertion`, RFC 7523)
//! instead of sending a client secret, as Microsoft's "application
//! authentication certificate credentials" describe: header `alg` PS256,
//! `typ` JWT, `x5t#S256`; claims `aud` (the token endpoint), `iss` and `sub`
//! (the client id), a fresh `jti`, `nbf`, `iat` and `exp`.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::pem::{self, PemObject as _};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use super::der;
use crate::error::AuthErrorKind;
use crate::runtime::Secret;
use crate::{Error, Result};

/// `client_assertion_type` of a signed JWT (RFC 7523 section 2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long an assertion may be used: Microsoft asks for 5 to 10 minutes
/// after `nbf` at most.
const ASSERTION_LIFETIME_SECS: i64 = 600;

/// An application's certificate and its RSA private key, read once from
/// PEM; given to [`ClientBuilder::client_certificate`](super::ClientBuilder::client_certificate).
/// Each token request then carries a freshly signed assertion instead of a
/// client secret.
///
/// The key never leaves this value: `Debug` shows the certificate's
/// thumbprint only, and no error names the key's bytes. Cheap to clone.
///
/// ```no_run
/// # async fn run() -> specbound::Result<()> {
/// use specbound::graph::{Client, ClientCertificate, Mailbox, prelude::*};
/// let certificate = ClientCertificate::from_pem_files("app-cert.pem", "app-key.pem")?;
/// let graph = Client::builder()
///     .tenant("contoso.onmicrosoft.com")
///     .client_id("11112222-bbbb-3333-cccc-4444dddd5555")
///     .client_certificate(certificate)
///     .client_credentials()
///     .build()?;
/// let adele = graph.get_user().mailbox(Mailbox::user("adele@contoso.com")?).send().await?;
/// # let _ = adele;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientCertificate(Arc<Inner>);

struct Inner {
    /// `x5t#S256`.
    thumbprint: String,
    /// The JWT header, base64url-encoded once.
    header: String,
    key: RsaKeyPair,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint_sha256", &self.0.thumbprint)
            .finish_non_exhaustive()
    }
}

impl ClientCertificate {
    /// Reads the certificate (the first `CERTIFICATE` block of `cert_pem`)
    /// and its RSA private key (`key_pem`: unencrypted PKCS#8, `BEGIN
    /// PRIVATE KEY`, or PKCS#1, `BEGIN RSA PRIVATE KEY`; 2048 to 4096 bits).
    /// Both may be in one file given twice.
    ///
    /// [`Error::Config`] names what is wrong: no certificate, a certificate
    /// whose key is not RSA, an encrypted key (decrypt it first, e.g.
    /// `openssl pkcs8 -in key.pem -out plain.pem`), an EC key (Entra's
    /// certificate credentials are RSA), or a key that does not belong to
    /// the certificate.
    pub fn from_pem(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<Self> {
        let cert = CertificateDer::from_pem_slice(cert_pem.as_ref()).map_err(|e| match e {
            pem::Error::NoItemsFound => config("no CERTIFICATE block in the certificate PEM"),
            other => config(&format!(
                "the certificate PEM cannot be read: {}",
                pem_problem(&other)
            )),
        })?;
        let public = der::rsa_public_key(&cert).map_err(config)?;
        let key = read_key(key_pem.as_ref())?;
        if key.public().as_ref() != public {
            return Err(config(
                "the private key does not belong to the certificate (their public keys differ)",
            ));
        }
        let thumbprint = der::thumbprint_sha256(&cert);
        let header = json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
        Ok(ClientCertificate(Arc::new(Inner {
            header: b64(header.to_string().as_bytes()),
            thumbprint,
            key,
        })))
    }

    /// [`from_pem`](Self::from_pem) of two files (or one file given twice);
    /// a file that cannot be read is an [`Error::Config`] naming its path.
    pub fn from_pem_files(
        cert_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let read = |path: &std::path::Path| {
            std::fs::read(path).map_err(|e| config(&format!("cannot read {}: {e}", path.display())))
        };
        Self::from_pem(read(cert_path.as_ref())?, read(key_path.as_ref())?)
    }

    /// The certificate's SHA-256 thumbprint, base64url-encoded: the
    /// `x5t#S256` of each assertion, by which Entra finds the certificate
    /// registered with the application.
    pub fn thumbprint_sha256(&self) -> &str {
        &self.0.thumbprint
    }

    /// A fresh assertion of `client_id` for the token endpoint `audience`,
    /// valid for ten minutes from now.
    pub(crate) fn assertion(&self, client_id: &str, audience: &str) -> Result<Secret> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
        });
        let signed = format!("{}.{}", self.0.header, b64(claims.to_string().as_bytes()));
        let mut signature = vec![0; self.0.key.public().modulus_len()];
        self.0
            .key
            .sign(
                &RSA_PSS_SHA256,
                &SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::auth(
                    AuthErrorKind::RefreshFailed,
                    "signing the client assertion failed",
                )
            })?;
        Ok(Secret::new(format!("{signed}.{}", b64(&signature))))
    }
}

/// The RSA key pair of `pem`, or what is wrong with it, never its bytes.
fn read_key(pem: &[u8]) -> Result<RsaKeyPair> {
    if contains(pem, b"ENCRYPTED PRIVATE KEY") || contains(pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(config(
            "the private key is encrypted: give it unencrypted (PKCS#8 or PKCS#1 PEM)",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => {
            config("no PRIVATE KEY or RSA PRIVATE KEY block in the private key PEM")
        }
        other => config(&format!(
            "the private key PEM cannot be read: {}",
            pem_problem(&other)
        )),
    })?;
    let parsed = match &key {
        PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => return Err(not_rsa()),
    };
    parsed.map_err(|rejected| match rejected.to_string().as_str() {
        "WrongAlgorithm" => not_rsa(),
        // ring's reasons are fixed words (InvalidEncoding, TooSmall, ...).
        reason => config(&format!(
            "the private key is not a usable RSA key of 2048 to 4096 bits ({reason})"
        )),
    })
}

fn not_rsa() -> Error {
    config(
        "the private key is not an RSA key (an EC key?): Entra's certificate credentials need RSA",
    )
}

/// What is wrong with a PEM text, without any of its contents.
fn pem_problem(e: &pem::Error) -> &'static str {
    match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "it is malformed",
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn config(reason: &str) -> Error {
    Error::Config(format!("client certificate: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &[u8] = include_bytes!("../../tests/fixtures/graph/cert/cert.pem");
    const KEY: &[u8] = include_bytes!("../../tests/fixtures/graph/cert/key.pem");
    const KEY_PKCS1: &[u8] = include_bytes!("../../tests/fixtures/graph/cert/key_pkcs1.pem");
    const OTHER_KEY: &[u8] = include_bytes!("../../tests/fixtures/graph/cert/other_key.pem");
    const PUBLIC: &[u8] =
        include_bytes!("../../tests/fixtures/graph/cert/cert_public_key_pkcs1.der");

    fn refusal(cert: &[u8], key: &[u8]) -> String {
        match ClientCertificate::from_pem(cert, key) {
            Err(Error::Config(reason)) => reason,
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }

    fn part(jwt: &str, n: usize) -> Vec<u8> {
        let text = jwt.split('.').nth(n).unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap()
    }

    #[test]
    fn an_assertion_is_a_ps256_jwt_verified_by_the_certificates_public_key() {
        let cert = ClientCertificate::from_pem(CERT, KEY).unwrap();
        let jwt = cert
            .assertion("app-1", "https://login.example/t/oauth2/v2.0/token")
            .unwrap();
        let jwt = jwt.expose();
        let header: serde_json::Value = serde_json::from_slice(&part(jwt, 0)).unwrap();
        assert_eq!(
            header,
            json!({"alg": "PS256", "typ": "JWT", "x5t#S256": "tIaBwpkq18jk-A7FxIB0zF6ttc4WAYu8mjfEu-Yf6H8"})
        );
        let (signed, _) = jwt.rsplit_once('.').unwrap();
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PSS_2048_8192_SHA256, PUBLIC)
            .verify(signed.as_bytes(), &part(jwt, 2))
            .expect("the signature verifies");
    }

    #[test]
    fn pkcs1_and_pkcs8_keys_are_read_and_anything_else_is_refused_by_name() {
        let pkcs8 = ClientCertificate::from_pem(CERT, KEY).unwrap();
        let pkcs1 = ClientCertificate::from_pem(CERT, KEY_PKCS1).unwrap();
        assert_eq!(pkcs8.thumbprint_sha256(), pkcs1.thumbprint_sha256());
        let cases: [(&[u8], &[u8], &str); 8] = [
            (
                CERT,
                include_bytes!("../../tests/fixtures/graph/cert/key_encrypted.pem"),
                "encrypted",
            ),
            (
                CERT,
                include_bytes!("../../tests/fixtures/graph/cert/ec_key_pkcs8.pem"),
                "not an RSA key",
            ),
            (
                CERT,
                include_bytes!("../../tests/fixtures/graph/cert/ec_key_sec1.pem"),
                "not an RSA key",
            ),
            (CERT, OTHER_KEY, "does not belong to the certificate"),
            (CERT, b"not a key", "no PRIVATE KEY"),
            (KEY, KEY, "no CERTIFICATE block"),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
                KEY,
                "not valid base64",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
                KEY,
                "not a DER X.509 certificate",
            ),
        ];
        for (cert, key, expected) in cases {
            let reason = refusal(cert, key);
            assert!(reason.contains(expected), "{reason}");
        }
    }

    #[test]
    fn debug_and_errors_show_no_key_material() {
        let cert = ClientCertificate::from_pem(CERT, KEY).unwrap();
        let shown = format!("{cert:?}");
        assert_eq!(
            shown,
            "ClientCertificate { thumbprint_sha256: \"tIaBwpkq18jk-A7FxIB0zF6ttc4WAYu8mjfEu-Yf6H8\", .. }"
        );
        // A key PEM whose base64 is broken midway: the error shows none of it.
        let text = std::str::from_utf8(KEY).unwrap();
        let broken = text.replacen("\n", "\n@@", 2);
        let reason = refusal(CERT, broken.as_bytes());
        let body_line = text.lines().nth(2).unwrap();
        assert!(!reason.contains(&body_line[..20]), "{reason}");
    }
}
