//! Delivery targets: which URLs a webhook may point at, and which addresses hookd refuses to
//! connect to (SSRF protection).
//!
//! The same classifier judges a literal address when a webhook is saved and every resolved
//! address when the dispatcher connects, so a host name cannot be used to reach what a literal
//! could not (no DNS-rebinding bypass).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hyper::Uri;

/// The longest `eventUrl` accepted.
pub const MAX_URL_LEN: usize = 2000;

/// What the URL rules allow, from `[delivery]`.
#[derive(Debug, Clone, Copy)]
pub struct TargetPolicy {
    pub allow_http: bool,
    pub allow_private_targets: bool,
}

/// Checks an `eventUrl` as it is saved; the error is a message for the `eventUrl` field.
pub fn check_url(url: &str, policy: TargetPolicy) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| "must be an absolute URL".to_string())?;
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if policy.allow_http => {}
        Some("http") => {
            return Err("must use https:// (http:// needs delivery.allow_http)".into());
        }
        _ => return Err("must be an absolute https:// URL".into()),
    }
    let authority = uri
        .authority()
        .ok_or_else(|| "must have a host".to_string())?;
    if authority.as_str().contains('@') {
        return Err("must not contain credentials".into());
    }
    let host = authority.host();
    if host.is_empty() {
        return Err("must have a host".into());
    }
    if host.contains('%') && !host.starts_with('[') {
        return Err("must not have a percent-encoded host".into());
    }
    let named = host_address(host)?;
    // A port must be a number from 1 to 65535 (the parser keeps anything after the colon).
    if let Some(port) = authority
        .as_str()
        .strip_prefix(host)
        .and_then(|p| p.strip_prefix(':'))
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err("must have a port from 1 to 65535".into());
    }
    if let Some(ip) = named
        && !policy.allow_private_targets
        && is_forbidden(ip)
    {
        return Err(format!(
            "targets a forbidden address ({ip}); private, loopback and similar addresses need delivery.allow_private_targets"
        ));
    }
    Ok(())
}

/// The address a URL host names literally (`10.0.0.1`, `[::1]`, `127.1`), if it is one; see
/// [`host_address`].
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    host_address(host).ok().flatten()
}

/// The address a URL host names, read as the WHATWG URL standard (and so browsers, URL
/// libraries and the system resolver) reads it: an IPv6 literal in brackets, or an IPv4
/// address in any numeric form — `2130706433`, `0x7f000001`, `0177.0.0.1` and `127.1` all name
/// 127.0.0.1. `Ok(None)` for a domain name; an error for a host that ends in a number but is no
/// valid address (`1.2.3.4.5`, `256.1.1.1`), which such readers refuse too.
pub fn host_address(host: &str) -> Result<Option<IpAddr>, String> {
    if let Some(bracketed) = host.strip_prefix('[') {
        return bracketed
            .strip_suffix(']')
            .unwrap_or("")
            .parse::<Ipv6Addr>()
            .map(|ip| Some(IpAddr::V6(ip)))
            .map_err(|_| "must have a valid IPv6 address in brackets".to_string());
    }
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    // Only a host whose last label is a number is an address; anything else is a name.
    let last = parts.last().copied().unwrap_or_default();
    let numeric_last = !last.is_empty()
        && (last.bytes().all(|b| b.is_ascii_digit()) || ipv4_number(last).is_some());
    if !numeric_last {
        return Ok(None);
    }
    let invalid = || format!("has an invalid IPv4 address as its host ({host})");
    if parts.len() > 4 {
        return Err(invalid());
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| ipv4_number(p).ok_or_else(invalid))
        .collect::<Result<_, _>>()?;
    let (last, leading) = numbers.split_last().ok_or_else(invalid)?;
    if leading.iter().any(|&n| n > 255) || *last >= 256u64.pow(5 - numbers.len() as u32) {
        return Err(invalid());
    }
    let mut address = *last;
    for (i, n) in leading.iter().enumerate() {
        address += n << (8 * (3 - i));
    }
    let address = u32::try_from(address).map_err(|_| invalid())?;
    Ok(Some(IpAddr::V4(Ipv4Addr::from(address))))
}

/// One part of a numeric IPv4 host: decimal, `0x` hexadecimal (an empty `0x` is 0), or octal
/// with a leading zero. `None` if it is none of them (or absurdly long).
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() || part.len() > 32 {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Past u64 it is out of every IPv4 range anyway.
    Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX))
}

/// Whether hookd must refuse to connect to `ip` unless private targets are allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_forbidden_v4(v4),
            None => is_forbidden_v6(v6),
        },
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation 2001:db8::/32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_ranges() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden(ip(s)), "{s} must be forbidden");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(s)), "{s} must be allowed");
        }
    }

    #[test]
    fn numeric_hosts_are_read_as_browsers_read_them() {
        let v4 = |s: &str| host_address(s).unwrap().unwrap().to_string();
        for form in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0X7F000001",
            "0177.0.0.1",
            "127.1",
            "127.0.1",
            "0x7f.1",
            "127.0.0.1.",
            "017700000001",
        ] {
            assert_eq!(v4(form), "127.0.0.1", "{form}");
        }
        assert_eq!(v4("10.0x10.1"), "10.16.0.1");
        assert_eq!(v4("0"), "0.0.0.0");
        for name in [
            "example.com",
            "localhost",
            "1.example",
            "a.0xg",
            "xn--bcher-kva.ch",
        ] {
            assert_eq!(host_address(name).unwrap(), None, "{name}");
        }
        for bad in [
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "4294967296",
            "0x1.0x2.0x3.0x100",
            "08.1.1.1",
            "a.0x",
            "1.2.3.09",
            "[::1",
            "[not-v6]",
        ] {
            assert!(host_address(bad).is_err(), "{bad}");
        }
        assert_eq!(host_address("[::1]").unwrap().unwrap().to_string(), "::1");
    }

    #[test]
    fn url_rules() {
        let strict = TargetPolicy {
            allow_http: false,
            allow_private_targets: false,
        };
        assert!(check_url("https://my.system.com/webhook/wink", strict).is_ok());
        assert!(check_url("https://localhost:8443/x", strict).is_ok());
        assert!(check_url("http://my.system.com/", strict).is_err());
        assert!(check_url("ftp://my.system.com/", strict).is_err());
        assert!(check_url("/relative", strict).is_err());
        for bad_port in [":7x", ":99999", ":-1", ":0", ":"] {
            assert!(
                check_url(&format!("https://a.com{bad_port}/"), strict).is_err(),
                "{bad_port}"
            );
        }
        assert!(check_url("https://a.com:8443/", strict).is_ok());
        assert!(check_url("https://[2606:4700::1111]:8443/", strict).is_ok());
        assert!(check_url("HTTPS://a.com/", strict).is_ok());
        assert!(check_url("https://user:pw@my.system.com/", strict).is_err());
        assert!(check_url("https://10.0.0.1/", strict).is_err());
        assert!(check_url("https://[::1]:8080/", strict).is_err());
        assert!(check_url("https://[::ffff:192.168.0.1]/", strict).is_err());
        assert!(check_url(&format!("https://a.com/{}", "x".repeat(2000)), strict).is_err());
        // Loopback in the numeric forms URL parsers accept is refused like 127.0.0.1.
        for host in ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x0a.1"] {
            let url = format!("https://{host}/");
            let err = check_url(&url, strict).unwrap_err();
            assert!(err.contains("forbidden address"), "{url}: {err}");
        }
        assert!(check_url("https://1.2.3.4.5/", strict).is_err());
        assert!(check_url("https://%31%32%37.0.0.1/", strict).is_err());
        let open = TargetPolicy {
            allow_http: true,
            allow_private_targets: true,
        };
        assert!(check_url("http://127.0.0.1:9000/hook", open).is_ok());
    }
}
