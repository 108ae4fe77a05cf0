//! SHA-256 and HMAC-SHA-256 from the crypto backend jsonwebtoken already
//! compiles: `aws-lc-rs` (preferred when both features are on) or the
//! RustCrypto `sha2`/`hmac` crates. No other crate is brought in.
//!
//! Without either backend every function here returns [`NoBackend`], so a
//! caller fails closed (the builder also reports the missing backend).

/// Neither the `aws-lc-rs` nor the `rust-crypto` feature is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no hashing backend: enable the `aws-lc-rs` or `rust-crypto` feature")]
pub(crate) struct NoBackend;

/// Whether a hashing backend was compiled in.
pub(crate) const AVAILABLE: bool = cfg!(any(feature = "aws-lc-rs", feature = "rust-crypto"));

/// SHA-256 of `data`.
pub(crate) fn sha256(data: &[u8]) -> Result<[u8; 32], NoBackend> {
    #[cfg(feature = "aws-lc-rs")]
    {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Ok(out)
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use sha2::Digest as _;
        Ok(sha2::Sha256::digest(data).into())
    }
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    {
        let _ = data;
        Err(NoBackend)
    }
}

/// HMAC-SHA-256 of `data` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; 32], NoBackend> {
    #[cfg(feature = "aws-lc-rs")]
    {
        use aws_lc_rs::hmac;
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use hmac::{KeyInit as _, Mac as _};
        // HMAC accepts keys of any length: `new_from_slice` cannot fail.
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(|_| NoBackend)?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().into())
    }
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    {
        let _ = (key, data);
        Err(NoBackend)
    }
}

/// Compares two byte strings in time that depends only on their lengths
/// (which are public here: digests and MACs of fixed size).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(all(test, any(feature = "aws-lc-rs", feature = "rust-crypto")))]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_known_answers() {
        // FIPS 180-2 examples.
        assert_eq!(
            hex(&sha256(b"abc").unwrap()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(b"").unwrap()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hmac_sha256_known_answers() {
        // RFC 4231 test cases 1 and 2.
        assert_eq!(
            hex(&hmac_sha256(&[0x0b; 20], b"Hi There").unwrap()),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?").unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block size is hashed first.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )
            .unwrap()),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
