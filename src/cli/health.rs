//! `hookd healthcheck`: exit 0 when `GET /healthz` answers 200 within 2 seconds, else 1.
//!
//! Made for container `HEALTHCHECK`s in images with no shell or curl, so it needs no token and
//! no arguments: without `--server`/`HOOKD_SERVER` it checks the address the server itself
//! listens on (`HOOKD_LISTEN`, or the configuration file), reaching an unspecified address
//! (`0.0.0.0`, `::`) through loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use ureq::Agent;

use super::HealthcheckArgs;
use super::http;
use crate::config::Config;

/// The whole check, connection included, must finish within this.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Runs the check; prints `ok` or why not.
pub fn run(args: &HealthcheckArgs, config_file: Option<&Path>) -> ExitCode {
    match check(args, config_file) {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("hookd: unhealthy: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn check(args: &HealthcheckArgs, config_file: Option<&Path>) -> Result<(), String> {
    let explicit = args.server.as_deref().filter(|s| !s.trim().is_empty());
    let (base, agent) = match explicit {
        Some(server) => (http::base_url(server)?, http::agent(TIMEOUT, TIMEOUT)),
        None => {
            let config = Config::from_env(config_file).map_err(|e| e.to_string())?;
            let tls = config.tls.cert_file.is_some();
            (local_url(config.listen, tls)?, local_agent())
        }
    };
    let url = format!("{base}/healthz");
    let response = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
    match response.status().as_u16() {
        200 => Ok(()),
        status => Err(format!("{url} answered {status}")),
    }
}

/// The URL of the server's own listener; an unspecified address is reached on loopback.
fn local_url(listen: SocketAddr, tls: bool) -> Result<String, String> {
    if listen.port() == 0 {
        return Err("the configured listen port is 0 (chosen at start-up); pass --server".into());
    }
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    Ok(format!("{scheme}://{}", SocketAddr::new(ip, listen.port())))
}

/// The agent for the server's own listener: no proxy (it is this machine), and no certificate
/// check — the certificate names the public host, not the loopback address, and nothing secret
/// is sent or trusted: only the status of `/healthz` is read.
fn local_agent() -> Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(true)
        .build();
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .timeout_connect(Some(TIMEOUT))
        .max_redirects(0)
        .proxy(None)
        .tls_config(tls)
        .user_agent(format!("hookd-healthcheck/{}", crate::VERSION))
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_are_reached_on_loopback() {
        let url = |s: &str, tls| local_url(s.parse().unwrap_or_else(|_| panic!("{s}")), tls);
        assert_eq!(
            url("0.0.0.0:8080", false).ok().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            url("[::]:9000", false).ok().as_deref(),
            Some("http://[::1]:9000")
        );
        assert_eq!(
            url("10.1.2.3:80", true).ok().as_deref(),
            Some("https://10.1.2.3:80")
        );
        assert!(url("127.0.0.1:0", false).is_err());
    }
}
