//! Bank details sealed at rest: AES-256-GCM under `auth.bank_details_key` (in a deployment
//! `ALONGSIDE_BANK_DETAILS_KEY`, from its Secret; the embedded run makes its own), with
//! the tenant and partner as associated data, so a sealed value copied onto another partner's
//! row does not open. Stored as `v1:` and base64 of nonce then ciphertext; the version leaves
//! room for a key rotation.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// The environment variable that holds the key (the chart fills it from `bank-details-key`).
pub const KEY_VARIABLE: &str = "ALONGSIDE_BANK_DETAILS_KEY";
const VERSION: &str = "v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("{KEY_VARIABLE} must be at least 32 characters (e.g. `openssl rand -base64 48`)")]
    ShortKey,
    #[error("sealed bank details could not be opened (wrong key, or not this partner's)")]
    Open,
}

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// A sealer keyed by `secret`: any string of at least 32 characters, hashed to 256 bits.
    pub fn new(secret: &SecretString) -> Result<Self, SealError> {
        let secret = secret.expose_secret();
        if secret.len() < 32 {
            return Err(SealError::ShortKey);
        }
        let key: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        })
    }

    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            // Encryption fails only for messages beyond GCM's 64 GiB limit.
            .expect("bank details are small");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{VERSION}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    pub fn open(&self, stored: &str, context: &str) -> Result<String, SealError> {
        let bytes = stored
            .strip_prefix(VERSION)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(SealError::Open)?;
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(key: &str) -> Sealer {
        Sealer::new(&SecretString::from(key.to_string())).unwrap()
    }

    #[test]
    fn opens_only_with_the_same_key_and_context() {
        let s = sealer("a test key that is long enough to be a key");
        let sealed = s.seal("12345678", "RZA/ptn_1");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("12345678"));
        assert_eq!(s.open(&sealed, "RZA/ptn_1").unwrap(), "12345678");
        assert_eq!(s.open(&sealed, "RZA/ptn_2"), Err(SealError::Open));
        let other = sealer("another key, also long enough to be a key");
        assert_eq!(other.open(&sealed, "RZA/ptn_1"), Err(SealError::Open));
        assert_eq!(s.open("v1:AAAA", "RZA/ptn_1"), Err(SealError::Open));
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let s = sealer("a test key that is long enough to be a key");
        assert_ne!(s.seal("x", "c"), s.seal("x", "c"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(matches!(
            Sealer::new(&SecretString::from("short".to_string())),
            Err(SealError::ShortKey)
        ));
    }
}
