//! PEM certificates and keys: a webhook's mTLS client certificate, and the extra root
//! certificates of `delivery.ca_file`.
//!
//! Parsing and checking use what TLS itself uses: `rustls-pki-types` reads PEM sections,
//! rustls (with the `ring` provider) loads the private key and compares its public key with
//! the certificate's, so a key that is accepted here is one the handshake can use. The
//! certificate's subject and expiry are read with `x509-parser`, which is already the parser
//! of the test-certificate tool (`rcgen`) in this tree, is pure Rust and maintained by the
//! Rusticata project; rustls and webpki do not expose those fields.

use std::fmt;
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};

use crate::time::format_rfc3339;

/// The largest PEM text accepted for a certificate chain or a key.
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// The most certificates in a client chain.
pub const MAX_CHAIN_LEN: usize = 10;

/// A client certificate and its key, checked and ready for TLS, with what the API shows of it.
/// Deliberately not `Debug`-printable beyond its public facts: it holds a private key.
#[derive(Clone)]
pub struct ClientCertificate {
    /// The chain as rustls presents it, with the key loaded (`ring`).
    pub certified_key: Arc<CertifiedKey>,
    /// The first certificate's subject, RFC 4514 style (`CN=client, O=Example`).
    pub subject: String,
    /// The first certificate's `notAfter`, RFC 3339.
    pub not_after: String,
    /// The same as Unix seconds.
    pub not_after_secs: i64,
    /// Lower-case hex SHA-256 of the first certificate's DER.
    pub sha256: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// Why a certificate or key was refused: the API field (`auth.certificate` or
/// `auth.privateKey`) and a message that never quotes the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemError {
    pub field: &'static str,
    pub message: String,
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for PemError {}

const CERTIFICATE: &str = "auth.certificate";
const PRIVATE_KEY: &str = "auth.privateKey";

fn certificate_error(message: impl Into<String>) -> PemError {
    PemError {
        field: CERTIFICATE,
        message: message.into(),
    }
}

fn key_error(message: impl Into<String>) -> PemError {
    PemError {
        field: PRIVATE_KEY,
        message: message.into(),
    }
}

/// Parses and checks a client certificate chain and its private key as a webhook is saved:
/// the chain must parse (end-entity first), the key must be an unencrypted PKCS#8, SEC1 (EC)
/// or PKCS#1 (RSA) key that rustls can sign with and that matches the first certificate, and
/// that certificate must not have expired at `now_secs`.
pub fn parse_client_certificate(
    certificate_pem: &str,
    key_pem: &str,
    now_secs: i64,
) -> Result<ClientCertificate, PemError> {
    let chain = parse_certificates(certificate_pem).map_err(certificate_error)?;
    let key = parse_private_key(key_pem)?;
    let first = chain
        .first()
        .ok_or_else(|| certificate_error("holds no certificate"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(first.as_ref())
        .map_err(|e| certificate_error(format!("does not parse: {e}")))?;
    let subject = parsed.subject().to_string();
    let not_after_secs = parsed.validity().not_after.timestamp();
    if not_after_secs < now_secs {
        return Err(certificate_error(format!(
            "has expired (notAfter {})",
            rfc3339_secs(not_after_secs)
        )));
    }
    let sha256 = hex(&Sha256::digest(first.as_ref()));
    let provider = default_provider();
    let signing_key = provider.key_provider.load_private_key(key).map_err(|_| {
        key_error("is not a key TLS can sign with (RSA, ECDSA P-256/P-384 or Ed25519)")
    })?;
    let certified_key = CertifiedKey::new(chain, signing_key);
    if certified_key.keys_match().is_err() {
        return Err(key_error("does not match the certificate"));
    }
    Ok(ClientCertificate {
        certified_key: Arc::new(certified_key),
        subject,
        not_after: rfc3339_secs(not_after_secs),
        not_after_secs,
        sha256,
    })
}

/// Parses a bundle of root certificates (`delivery.ca_file`): at least one, each a
/// certificate webpki accepts as a trust anchor.
pub fn parse_ca_bundle(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = parse_certificates_unbounded(pem)?;
    let mut store = rustls::RootCertStore::empty();
    for (n, certificate) in certificates.iter().enumerate() {
        store
            .add(certificate.clone())
            .map_err(|e| format!("certificate {} is not a usable root: {e}", n + 1))?;
    }
    Ok(certificates)
}

/// The certificates of a PEM chain, in order; other sections are ignored.
fn parse_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    if pem.len() > MAX_PEM_BYTES {
        return Err(format!("must be at most {MAX_PEM_BYTES} bytes of PEM"));
    }
    let certificates = parse_certificates_unbounded(pem)?;
    if certificates.len() > MAX_CHAIN_LEN {
        return Err(format!("must hold at most {MAX_CHAIN_LEN} certificates"));
    }
    for certificate in &certificates {
        x509_parser::parse_x509_certificate(certificate.as_ref())
            .map_err(|e| format!("holds a certificate that does not parse: {e}"))?;
    }
    Ok(certificates)
}

fn parse_certificates_unbounded(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("is not valid PEM: {e}"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certificates)
}

/// The one private key of a PEM text: PKCS#8, SEC1 or PKCS#1, not encrypted.
fn parse_private_key(pem: &str) -> Result<PrivateKeyDer<'static>, PemError> {
    if pem.len() > MAX_PEM_BYTES {
        return Err(key_error(format!(
            "must be at most {MAX_PEM_BYTES} bytes of PEM"
        )));
    }
    // Both the PKCS#8 form and the legacy OpenSSL form of an encrypted key.
    if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(key_error(
            "is encrypted; give the key unencrypted (PKCS#8, SEC1 or PKCS#1 PEM)",
        ));
    }
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| key_error("holds no PEM private key (PKCS#8, SEC1 or PKCS#1, unencrypted)"))
}

fn rfc3339_secs(secs: i64) -> String {
    format_rfc3339(secs.saturating_mul(1000))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
        PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256,
    };

    const NOW: i64 = 1_800_000_000;

    /// A throwaway 2048-bit RSA key made for these tests (`ring` cannot generate RSA keys).
    const TEST_RSA_KEY: &str = include_str!("testdata/rsa2048.pkcs8.pem");

    /// A self-signed certificate with the given algorithm; returns (cert PEM, key PEM).
    fn self_signed(alg: &'static rcgen::SignatureAlgorithm) -> (String, String) {
        let key = if alg == &PKCS_RSA_SHA256 {
            KeyPair::from_pem_and_sign_algo(TEST_RSA_KEY, alg).unwrap()
        } else {
            KeyPair::generate_for(alg).unwrap()
        };
        let mut params = CertificateParams::new(vec!["client.example".into()]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "client one");
        dn.push(DnType::OrganizationName, "Example");
        params.distinguished_name = dn;
        params.not_after = rcgen::date_time_ymd(2040, 1, 2);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_matching_pair_parses_and_reports_its_facts() {
        let (cert, key) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let parsed = parse_client_certificate(&cert, &key, NOW).unwrap();
        assert_eq!(parsed.subject, "CN=client one, O=Example");
        assert_eq!(parsed.not_after, "2040-01-02T00:00:00.000Z");
        let der = CertificateDer::from_pem_slice(cert.as_bytes()).unwrap();
        assert_eq!(parsed.sha256, hex(&Sha256::digest(der.as_ref())));
        assert_eq!(parsed.sha256.len(), 64);
        assert!(!format!("{parsed:?}").contains("PRIVATE"));
    }

    #[test]
    fn rsa_pkcs1_sec1_and_ed25519_keys_are_accepted() {
        let (cert, key) = self_signed(&PKCS_ED25519);
        assert!(parse_client_certificate(&cert, &key, NOW).is_ok());
        // rcgen writes PKCS#8; rewrap the same keys as SEC1 and PKCS#1.
        let (cert, key) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let sec1 = pkcs8_to_legacy(&key, "EC PRIVATE KEY");
        assert!(parse_client_certificate(&cert, &sec1, NOW).is_ok());
        let (cert, key) = self_signed(&PKCS_RSA_SHA256);
        assert!(parse_client_certificate(&cert, &key, NOW).is_ok());
        let pkcs1 = pkcs8_to_legacy(&key, "RSA PRIVATE KEY");
        assert!(parse_client_certificate(&cert, &pkcs1, NOW).is_ok());
    }

    /// The inner key of a PKCS#8 document re-encoded in its algorithm's own PEM form: the
    /// OCTET STRING at the end of the PKCS#8 `PrivateKeyInfo` is the SEC1/PKCS#1 key.
    fn pkcs8_to_legacy(pkcs8_pem: &str, label: &str) -> String {
        use base64::Engine;
        let der = PrivateKeyDer::from_pem_slice(pkcs8_pem.as_bytes()).unwrap();
        let PrivateKeyDer::Pkcs8(pkcs8) = der else {
            panic!("not PKCS#8")
        };
        let (_, info) = x509_parser::der_parser::der::parse_der(pkcs8.secret_pkcs8_der()).unwrap();
        let items = info.as_sequence().unwrap();
        let inner = items[2].as_slice().unwrap();
        let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (cert, _) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let (_, other_key) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let error = parse_client_certificate(&cert, &other_key, NOW).unwrap_err();
        assert_eq!(error.field, "auth.privateKey");
        assert!(error.message.contains("does not match"), "{error}");
    }

    #[test]
    fn an_expired_certificate_is_refused() {
        let (cert, key) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let after_expiry = 2_300_000_000;
        let error = parse_client_certificate(&cert, &key, after_expiry).unwrap_err();
        assert_eq!(error.field, "auth.certificate");
        assert!(error.message.contains("expired"), "{error}");
    }

    #[test]
    fn encrypted_and_missing_keys_name_the_key_field() {
        let (cert, _) = self_signed(&PKCS_ECDSA_P256_SHA256);
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let error = parse_client_certificate(&cert, encrypted, NOW).unwrap_err();
        assert_eq!(error.field, "auth.privateKey");
        assert!(error.message.contains("encrypted"), "{error}");
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(
            parse_client_certificate(&cert, legacy, NOW)
                .unwrap_err()
                .message
                .contains("encrypted")
        );
        let error = parse_client_certificate(&cert, "not a key", NOW).unwrap_err();
        assert_eq!(error.field, "auth.privateKey");
        // A certificate where the key should be is not a key.
        assert_eq!(
            parse_client_certificate(&cert, &cert, NOW)
                .unwrap_err()
                .field,
            "auth.privateKey"
        );
    }

    #[test]
    fn bad_certificates_name_the_certificate_field() {
        let (_, key) = self_signed(&PKCS_ECDSA_P256_SHA256);
        for bad in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            let error = parse_client_certificate(bad, &key, NOW).unwrap_err();
            assert_eq!(error.field, "auth.certificate", "{bad:?}");
        }
    }

    #[test]
    fn ca_bundles_need_usable_roots() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let two = format!("{}{}", ca.pem(), ca.pem());
        assert_eq!(parse_ca_bundle(&two).unwrap().len(), 2);
        assert!(parse_ca_bundle("").is_err());
        assert!(
            parse_ca_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
