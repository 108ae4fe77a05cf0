//! Stateless server nonces (RFC 9449 §9): `base64url(window || tag)` where
//! `window` is the big-endian number of the current time window
//! (`now / window_secs`) and `tag` is HMAC-SHA-256 over a domain label and
//! that number, under the [`NonceKey`] secret.
//!
//! A nonce is valid in its own window, the next one, and the one before (a
//! replica whose clock is slightly ahead may have issued it). Replicas
//! sharing the secret accept each other's nonces; nothing is stored.
//! The encoding (base64url, 54 characters) fits RFC 9449's `NQCHAR` syntax.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use super::options::NonceKey;
use crate::crypto::{self, NoBackend};

/// Separates these MACs from any other use of the same secret.
const DOMAIN: &[u8] = b"mcp-auth-actix/dpop-nonce/v1\0";
/// 8 bytes of window number and a 32-byte tag.
const RAW_LEN: usize = 8 + 32;
/// Length of the encoded nonce.
const ENCODED_LEN: usize = (RAW_LEN * 4).div_ceil(3);

fn tag(key: &NonceKey, window: u64) -> Result<[u8; 32], NoBackend> {
    let mut message = [0u8; DOMAIN.len() + 8];
    message[..DOMAIN.len()].copy_from_slice(DOMAIN);
    message[DOMAIN.len()..].copy_from_slice(&window.to_be_bytes());
    crypto::hmac_sha256(&key.secret, &message)
}

/// The nonce of the window containing `now` (Unix seconds).
pub(crate) fn issue(key: &NonceKey, now: u64) -> Result<String, NoBackend> {
    let window = now / key.window_secs();
    let mut raw = [0u8; RAW_LEN];
    raw[..8].copy_from_slice(&window.to_be_bytes());
    raw[8..].copy_from_slice(&tag(key, window)?);
    Ok(URL_SAFE_NO_PAD.encode(raw))
}

/// Whether `nonce` was issued with `key` for a window still accepted at `now`.
pub(crate) fn is_valid(key: &NonceKey, nonce: &str, now: u64) -> Result<bool, NoBackend> {
    if nonce.len() != ENCODED_LEN {
        return Ok(false);
    }
    let raw = match URL_SAFE_NO_PAD.decode(nonce) {
        Ok(raw) if raw.len() == RAW_LEN => raw,
        _ => return Ok(false),
    };
    let mut number = [0u8; 8];
    number.copy_from_slice(&raw[..8]);
    let window = u64::from_be_bytes(number);
    let current = now / key.window_secs();
    // The previous, current or next window.
    if window.abs_diff(current) > 1 {
        return Ok(false);
    }
    Ok(crypto::ct_eq(&tag(key, window)?, &raw[8..]))
}

#[cfg(all(test, any(feature = "aws-lc-rs", feature = "rust-crypto")))]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(byte: u8) -> NonceKey {
        NonceKey::new([byte; 32]).window(Duration::from_secs(60))
    }

    #[test]
    fn nonces_live_one_to_two_windows_and_are_shared_by_replicas() {
        let (a, replica) = (key(1), key(1));
        let t = 1_700_000_040; // start of a window (divisible by 60)
        let nonce = issue(&a, t).unwrap();
        assert_eq!(nonce.len(), ENCODED_LEN);
        assert!(
            nonce
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(issue(&a, t + 59).unwrap(), nonce, "same window, same nonce");
        for now in [t, t + 59, t + 60, t + 119] {
            assert!(is_valid(&replica, &nonce, now).unwrap(), "{now}");
        }
        // A replica whose clock is a little behind accepts it too.
        assert!(is_valid(&replica, &nonce, t - 1).unwrap());
        for now in [t + 120, t + 10_000, t - 61, 0] {
            assert!(!is_valid(&replica, &nonce, now).unwrap(), "{now}");
        }
    }

    #[test]
    fn forged_and_foreign_nonces_are_refused() {
        let t = 1_700_000_000;
        let nonce = issue(&key(1), t).unwrap();
        assert!(!is_valid(&key(2), &nonce, t).unwrap(), "another secret");
        // Another window number with the old tag.
        let mut raw = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        raw[7] ^= 1;
        let moved = URL_SAFE_NO_PAD.encode(&raw);
        assert!(!is_valid(&key(1), &moved, t).unwrap());
        // A flipped tag bit.
        let mut raw = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        raw[20] ^= 0x80;
        assert!(!is_valid(&key(1), &URL_SAFE_NO_PAD.encode(&raw), t).unwrap());
        for junk in [
            "",
            "x",
            &"A".repeat(ENCODED_LEN),
            &format!("{nonce}A"),
            &nonce[1..],
        ] {
            assert!(!is_valid(&key(1), junk, t).unwrap(), "{junk}");
        }
        // Far-future window numbers do not overflow.
        let mut raw = [0xFFu8; RAW_LEN];
        raw[8..].copy_from_slice(&[0; 32]);
        assert!(!is_valid(&key(1), &URL_SAFE_NO_PAD.encode(raw), u64::MAX).unwrap());
    }
}
