//! Webhook rules (docs/events.md): Standard Webhooks signatures, the retry schedule, which
//! addresses may be called, and how a secret is sealed at rest. Pure: keys, nonces, jitter
//! and times are arguments.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::IpAddr;
use std::time::Duration;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: `whsec_` + base64 of 32 random bytes (the spec's format).
pub fn secret_text(random: &[u8; 32]) -> String {
    format!("{SECRET_PREFIX}{}", B64.encode(random))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` for one secret.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!("v1,{}", B64.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per live secret, space-separated (during a
/// rotation's overlap both the new and the old secret sign).
pub fn signature_header(secrets: &[String], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|secret| signature(secret, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Attempts before a delivery goes to the dead-letter queue (the queue's maxReceiveCount).
pub const MAX_ATTEMPTS: u32 = 8;

/// Wait after failed attempt n (1-based), before jitter: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
/// 10 h (about 27.6 h over 8 attempts; SQS caps one visibility timeout at 12 h).
pub const SCHEDULE_SECS: [u64; 7] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/// The visibility timeout after failed attempt `attempt`: the schedule × `scale` (1.0 in
/// production; local tests shrink it), ±20 % jitter from `jitter` in [0, 1).
pub fn retry_delay(attempt: u32, scale: f64, jitter: f64) -> Duration {
    let index = (attempt.max(1) as usize - 1).min(SCHEDULE_SECS.len() - 1);
    let base = SCHEDULE_SECS[index] as f64 * scale;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Duration::from_secs_f64((base * factor).clamp(0.0, 43_200.0))
}

/// An endpoint failing every delivery for this long is disabled.
pub const DISABLE_AFTER_SECS: i64 = 5 * 24 * 3600;

/// Where deliveries may go: production refuses private, loopback, link-local and other
/// non-public addresses (SSRF); local mode allows loopback only, for a receiver on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressPolicy {
    Production,
    Local,
}

pub fn allowed(ip: IpAddr, policy: AddressPolicy) -> bool {
    if ip.is_loopback() {
        return policy == AddressPolicy::Local;
    }
    public(ip)
}

fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (18..20).contains(&b)) // benchmarking
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    }
}

/// Whether a subscription URL is acceptable before any resolution: https always; http only
/// to a loopback host in local mode. Returns the host.
pub fn check_url(url: &str, policy: AddressPolicy) -> Result<String, &'static str> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("The url must be absolute (https://...).")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("The url must not carry credentials.");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    }
    .to_ascii_lowercase();
    if host.is_empty() {
        return Err("The url has no host.");
    }
    let loopback_host = host == "localhost"
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip: IpAddr| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if policy == AddressPolicy::Local && loopback_host => {}
        "http" => {
            return Err(
                "The url must use https (http is allowed for loopback in local mode only).",
            );
        }
        _ => return Err("The url must use https."),
    }
    if let Ok(ip) = host.parse::<IpAddr>()
        && !allowed(ip, policy)
    {
        return Err("The url points at a private, loopback or link-local address.");
    }
    if policy == AddressPolicy::Production && (host == "localhost" || host.ends_with(".localhost"))
    {
        return Err("The url points at a private, loopback or link-local address.");
    }
    Ok(host)
}

/// Secrets at rest: AES-256-GCM under a key derived from the deployment secret (a signing
/// secret must be usable to sign, so it cannot be hashed like an API key). The subscription id
/// is the associated data: a sealed secret copied to another subscription does not open.
pub fn seal(key: &[u8; 32], nonce: [u8; 12], aad: &str, secret: &str) -> Option<String> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut data = secret.as_bytes().to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad.as_bytes()),
        &mut data,
    )
    .ok()?;
    let mut out = nonce.to_vec();
    out.extend(data);
    Some(B64.encode(out))
}

pub fn open(key: &[u8; 32], aad: &str, sealed: &str) -> Option<String> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let raw = B64.decode(sealed).ok()?;
    if raw.len() < 12 {
        return None;
    }
    let (nonce, data) = raw.split_at(12);
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut data = data.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).ok()?,
            Aad::from(aad.as_bytes()),
            &mut data,
        )
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_specs_example() {
        // The Standard Webhooks specification's published example.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn both_secrets_sign_during_overlap() {
        let a = secret_text(&[1; 32]);
        let b = secret_text(&[2; 32]);
        let header = signature_header(&[a, b], "evt_1", 1, "{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }

    #[test]
    fn schedule_is_about_a_day_and_jittered() {
        let total: f64 = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay(n, 1.0, 0.5).as_secs_f64())
            .sum();
        assert!((20.0 * 3600.0..30.0 * 3600.0).contains(&total), "{total}");
        assert!(retry_delay(1, 1.0, 0.0) < retry_delay(1, 1.0, 0.99));
    }

    #[test]
    fn ssrf_policy() {
        let p = AddressPolicy::Production;
        for bad in [
            "10.0.0.1",
            "127.0.0.1",
            "169.254.169.254",
            "192.168.1.1",
            "172.16.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(!allowed(bad.parse().unwrap(), p), "{bad}");
        }
        assert!(allowed("93.184.216.34".parse().unwrap(), p));
        assert!(allowed("127.0.0.1".parse().unwrap(), AddressPolicy::Local));
        assert!(!allowed("10.0.0.1".parse().unwrap(), AddressPolicy::Local));
        assert!(check_url("http://127.0.0.1:9/x", p).is_err());
        assert!(check_url("https://169.254.169.254/", p).is_err());
        assert!(check_url("https://localhost/", p).is_err());
        assert!(check_url("https://user@example.com/", p).is_err());
        assert!(check_url("http://example.com/", AddressPolicy::Local).is_err());
        assert_eq!(
            check_url("http://127.0.0.1:9/x", AddressPolicy::Local).as_deref(),
            Ok("127.0.0.1")
        );
        assert_eq!(
            check_url("https://Example.com:8443/h", p).as_deref(),
            Ok("example.com")
        );
    }

    #[test]
    fn sealed_secret_opens_only_with_its_key_and_subscription() {
        let sealed = seal(&[7; 32], [1; 12], "wh_1", "whsec_abc").unwrap();
        assert_eq!(
            open(&[7; 32], "wh_1", &sealed).as_deref(),
            Some("whsec_abc")
        );
        assert_eq!(open(&[8; 32], "wh_1", &sealed), None);
        assert_eq!(open(&[7; 32], "wh_2", &sealed), None);
    }
}
