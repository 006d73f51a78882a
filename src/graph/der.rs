//! The little of X.509 that certificate credentials need: the RSA public
//! key inside a DER certificate (`Certificate` → `tbsCertificate` →
//! `subjectPublicKeyInfo`, RFC 5280 section 4.1) and the certificate's
//! SHA-256 thumbprint as JWT headers carry it (`x5t#S256`). Used by
//! [`ClientCertificate`](super::ClientCertificate) to check that a key
//! belongs to its certificate, and by the sandbox to verify assertions.

use base64::Engine as _;
use sha2::Digest as _;

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
/// `[0] EXPLICIT Version` at the head of `tbsCertificate`.
const VERSION: u8 = 0xa0;
/// 1.2.840.113549.1.1.1, `rsaEncryption`.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// The base64url (unpadded) SHA-256 of a certificate's DER: its `x5t#S256`.
pub(crate) fn thumbprint_sha256(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

/// The DER `RSAPublicKey` (modulus and exponent) of a DER certificate:
/// the contents of its `subjectPublicKey` bit string, as ring's RSA
/// verification and `RsaKeyPair::public_key()` have it. The error says
/// what is wrong, for an `Error::Config` (a certificate is public).
pub(crate) fn rsa_public_key(certificate: &[u8]) -> Result<&[u8], &'static str> {
    const MALFORMED: &str = "the certificate is not a DER X.509 certificate";
    let (certificate, _) = expect(certificate, SEQUENCE).ok_or(MALFORMED)?;
    let (tbs, _) = expect(certificate, SEQUENCE).ok_or(MALFORMED)?;
    let mut fields = tbs;
    if fields.first() == Some(&VERSION) {
        fields = element(fields).ok_or(MALFORMED)?.2;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        fields = element(fields).ok_or(MALFORMED)?.2;
    }
    let (spki, _) = expect(fields, SEQUENCE).ok_or(MALFORMED)?;
    let (algorithm, key) = expect(spki, SEQUENCE).ok_or(MALFORMED)?;
    let (oid, _) = expect(algorithm, OID).ok_or(MALFORMED)?;
    if oid != RSA_ENCRYPTION {
        return Err("the certificate's public key is not an RSA key (rsaEncryption)");
    }
    let (bits, _) = expect(key, BIT_STRING).ok_or(MALFORMED)?;
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key),
        _ => Err(MALFORMED),
    }
}

/// The contents of the element at the head of `input` if its tag is
/// `tag`, and what follows it.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// The element at the head of `input`: (tag, contents, rest). `None` for
/// what DER does not allow or a certificate never holds: a length running
/// past the input, an indefinite length, a multi-byte tag, a length of more
/// than four bytes.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len, rest) = rest.split_at(n);
        let len = len
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;

    fn fixture_der(pem: &[u8]) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem).unwrap().to_vec()
    }

    #[test]
    fn the_rsa_public_key_is_the_one_openssl_reads_from_the_certificate() {
        let der = fixture_der(include_bytes!("../../tests/fixtures/graph/cert/cert.pem"));
        let expected: &[u8] =
            include_bytes!("../../tests/fixtures/graph/cert/cert_public_key_pkcs1.der");
        assert_eq!(rsa_public_key(&der).unwrap(), expected);
        // The thumbprint openssl computed (see the fixtures' README).
        assert_eq!(
            thumbprint_sha256(&der),
            "tIaBwpkq18jk-A7FxIB0zF6ttc4WAYu8mjfEu-Yf6H8"
        );
    }

    #[test]
    fn truncated_or_garbage_input_is_an_error_and_never_a_panic() {
        let der = fixture_der(include_bytes!("../../tests/fixtures/graph/cert/cert.pem"));
        for end in 0..der.len() {
            assert!(rsa_public_key(&der[..end]).is_err(), "cut at {end}");
        }
        for garbage in [
            &[0x30, 0x80, 0x00, 0x00][..],             // indefinite length
            &[0x30, 0x85, 1, 0, 0, 0, 0][..],          // a five-byte length
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff][..], // longer than the input
            &[0x1f, 0x01, 0x00][..],                   // a multi-byte tag
            b"-----BEGIN CERTIFICATE-----",
        ] {
            assert!(rsa_public_key(garbage).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn a_certificate_with_another_key_type_is_named_as_such() {
        // tbsCertificate with version, serial, signature, issuer, validity,
        // subject and an id-ecPublicKey SPKI.
        let spki = [
            0x30, 0x0f, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x02, 0x00, 0x04,
        ];
        let mut tbs = vec![0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01];
        for _ in 0..4 {
            tbs.extend([0x30, 0x00]);
        }
        tbs.extend(spki);
        let mut cert = vec![0x30, tbs.len() as u8];
        cert.extend(&tbs);
        let mut outer = vec![0x30, cert.len() as u8];
        outer.extend(&cert);
        let err = rsa_public_key(&outer).unwrap_err();
        assert!(err.contains("not an RSA key"), "{err}");
    }
}
