//! Serving HTTPS directly with `[tls]`, and clear start-up errors for bad certificate files.

use std::time::Duration;

use crate::common::*;

struct Pki {
    _dir: tempfile::TempDir,
    cert: String,
    key: String,
    ca_der: Vec<u8>,
}

/// A throwaway CA and a server certificate for localhost signed by it.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hookd test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let ca_der = ca.der().to_vec();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server = params.signed_by(&server_key, &issuer).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, server.pem()).unwrap();
    std::fs::write(&key, server_key.serialize_pem()).unwrap();
    Pki {
        cert: cert.to_str().unwrap().to_string(),
        key: key.to_str().unwrap().to_string(),
        ca_der,
        _dir: dir,
    }
}

fn https_agent(ca_der: &[u8]) -> ureq::Agent {
    let root = ureq::tls::Certificate::from_der(ca_der).to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&[root]))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

#[test]
fn serves_https_with_the_configured_certificate() {
    let pki = pki();
    let server = Server::start_with(
        &format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            pki.cert, pki.key
        ),
        &[],
    );
    let https = server.base.replace("http://127.0.0.1", "https://localhost");
    let agent = https_agent(&pki.ca_der);
    let mut r = agent
        .get(&format!("{https}/v1/accounts"))
        .header("authorization", format!("Bearer {ADMIN}"))
        .call()
        .expect("an HTTPS request verified against the test CA");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.body_mut().read_to_string().unwrap().contains("\"items\""));
    // A client that does not trust the CA is refused during the handshake.
    let untrusted: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    assert!(untrusted.get(&format!("{https}/healthz")).call().is_err());
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    assert!(
        plain
            .get(&format!("{}/healthz", server.base))
            .call()
            .is_err()
    );
    // The server still serves after the failed handshakes.
    let r = agent.get(&format!("{https}/healthz")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

fn start_error(extra: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("listen = \"127.0.0.1:0\"\n{extra}")).unwrap();
    let data = dir.path().join("data");
    let (status, _, stderr) = run_hookd(
        &["--config", config.to_str().unwrap()],
        &[
            ("HOOKD_DATA_DIR", data.to_str().unwrap()),
            ("HOOKD_ADMIN_TOKEN", "x"),
        ],
        dir.path(),
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn missing_or_bad_certificate_files_stop_the_start_naming_the_file() {
    let pki = pki();
    let (code, stderr) = start_error(&format!(
        "[tls]\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = {:?}\n",
        pki.key
    ));
    assert_ne!(code, 0);
    assert!(stderr.contains("/nonexistent/cert.pem"), "{stderr}");

    // A PEM without a certificate (the key file given as the certificate).
    let (code, stderr) = start_error(&format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        pki.key, pki.key
    ));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("cert_file") && stderr.contains(&pki.key),
        "{stderr}"
    );

    // A PEM without a key.
    let (code, stderr) = start_error(&format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        pki.cert, pki.cert
    ));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("key_file") && stderr.contains(&pki.cert),
        "{stderr}"
    );

    // Only one of the two.
    let (code, stderr) = start_error(&format!("[tls]\ncert_file = {:?}\n", pki.cert));
    assert_eq!(code, 2);
    assert!(stderr.contains("key_file"), "{stderr}");
}
