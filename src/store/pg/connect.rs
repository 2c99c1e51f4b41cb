//! Connecting to PostgreSQL: the URL (with `sslmode` as libpq reads it), TLS through rustls,
//! and the pool every request and background task takes its connections from.
//!
//! tokio-postgres itself knows `disable`, `prefer` and `require` and never checks the server's
//! certificate; libpq's `verify-full` (the only mode that resists a man in the middle) is read
//! here: the URL's `sslmode` is taken out before tokio-postgres parses it, and the TLS
//! configuration follows it — the web's root certificates and the host name checked for
//! `verify-full`, encryption without a certificate check for `prefer` and `require` (libpq's
//! meaning of those words).

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How long a request waits for a connection (from the pool or a new one) before it gets 503.
pub const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// The `sslmode`s hookd accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// `disable`: plain TCP.
    Disable,
    /// `prefer`: TLS when the server offers it, without checking its certificate.
    Prefer,
    /// `require`: TLS, without checking the certificate (libpq's meaning).
    Require,
    /// `verify-full`: TLS with the certificate checked against the web's roots and the host.
    VerifyFull,
}

/// A database URL made ready for tokio-postgres.
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
}

/// Reads a `postgres://` URL; errors never repeat the URL (it holds a password).
pub fn parse_url(url: &str) -> Result<Target, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut tls = Tls::Prefer;
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.into_iter().flat_map(|q| q.split('&')) {
        match pair.split_once('=') {
            Some(("sslmode", mode)) => {
                tls = match mode {
                    "disable" => Tls::Disable,
                    "prefer" => Tls::Prefer,
                    "require" => Tls::Require,
                    "verify-full" => Tls::VerifyFull,
                    other => {
                        return Err(format!(
                            "postgres.url: unknown sslmode {other:?} (use disable, prefer, require or verify-full)"
                        ));
                    }
                }
            }
            _ if !pair.is_empty() => kept.push(pair),
            _ => {}
        }
    }
    let cleaned = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: tokio_postgres::Config = cleaned
        .parse()
        .map_err(|e| format!("postgres.url: not a valid PostgreSQL URL ({e})"))?;
    config.ssl_mode(match tls {
        Tls::Disable => SslMode::Disable,
        Tls::Prefer => SslMode::Prefer,
        Tls::Require | Tls::VerifyFull => SslMode::Require,
    });
    if config.get_application_name().is_none() {
        config.application_name("hookd");
    }
    config.connect_timeout(CONNECT_WAIT);
    Ok(Target { config, tls })
}

/// The TLS connector for `tls` (rustls with ring; no system OpenSSL).
pub fn connector(tls: Tls) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS to the database: {e}"))?;
    let config = match tls {
        Tls::VerifyFull => {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Tls::Disable | Tls::Prefer | Tls::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// A pool of `size` connections to `target`: a caller waits at most [`CONNECT_WAIT`] for one.
pub fn pool(target: &Target, size: usize) -> Result<Pool, String> {
    let manager = Manager::from_config(
        target.config.clone(),
        connector(target.tls)?,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(CONNECT_WAIT))
        .create_timeout(Some(CONNECT_WAIT))
        .recycle_timeout(Some(CONNECT_WAIT))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| format!("cannot create the database pool: {e}"))
}

/// A connection of its own (not from the pool), driven by a task: for LISTEN and the
/// housekeeping lock, which belong to one session.
pub async fn dedicated(
    target: &Target,
) -> Result<
    (
        tokio_postgres::Client,
        tokio_postgres::Connection<
            tokio_postgres::Socket,
            <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
        >,
    ),
    String,
>{
    let tls = connector(target.tls)?;
    match tokio::time::timeout(CONNECT_WAIT, target.config.connect(tls)).await {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(e)) => Err(format!("cannot connect to the database: {e}")),
        Err(_) => Err("cannot connect to the database: timed out".into()),
    }
}

/// The certificate check of `prefer` and `require`: none, as libpq does without a root
/// certificate file; the handshake's signatures are still verified, so the session is
/// encrypted with the key of whoever presented the certificate.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_is_read_and_taken_out_of_the_url() {
        let t = parse_url("postgres://u:p@db.example.com:5433/hookd?sslmode=verify-full").unwrap();
        assert_eq!(t.tls, Tls::VerifyFull);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.config.get_dbname(), Some("hookd"));
        assert_eq!(t.config.get_ports(), &[5433]);
        let t = parse_url("postgres://u@h/d?application_name=x&sslmode=disable").unwrap();
        assert_eq!(t.tls, Tls::Disable);
        assert_eq!(t.config.get_application_name(), Some("x"));
        assert_eq!(parse_url("postgres://u@h/d").unwrap().tls, Tls::Prefer);
        let e = parse_url("postgres://u:secret@h/d?sslmode=sometimes")
            .err()
            .unwrap();
        assert!(e.contains("sslmode") && !e.contains("secret"), "{e}");
        for tls in [Tls::Disable, Tls::Prefer, Tls::Require, Tls::VerifyFull] {
            assert!(connector(tls).is_ok());
        }
    }
}
