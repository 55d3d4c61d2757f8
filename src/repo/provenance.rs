//! Helm provenance files (`<archive>.prov`, written by `helm package
//! --sign`): the clearsigned block is verified against an OpenPGP keyring
//! and the archive's sha256 must equal the `files:` entry of the signed
//! text for the archive's file name — what `helm verify` checks.

use std::collections::BTreeMap;
use std::io::Cursor;

use pgp::composed::{CleartextSignedMessage, PublicOrSecret, SignedPublicKey};
use pgp::types::KeyDetails;
use serde::Deserialize;

use super::cache::sha256_hex;

/// Why a provenance file did not verify an archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error("keyring {source_name}: {reason}")]
    Keyring { source_name: String, reason: String },
    #[error("the keyring holds no public key")]
    EmptyKeyring,
    #[error("provenance file is not a PGP clearsigned message: {0}")]
    Malformed(String),
    #[error("the provenance signature is not made by any key of the keyring")]
    UnknownSigner,
    #[error("provenance file lists no sha256 for {file:?}")]
    NoSum { file: String },
    #[error("sha256 of {file} is {actual}, the signed provenance says {signed}")]
    SumMismatch {
        file: String,
        actual: String,
        signed: String,
    },
}

/// Public keys a provenance file may be signed with.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

/// Who signed a verified provenance file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Fingerprint (upper-case hex) of the primary key whose key signed.
    pub fingerprint: String,
    /// The key's first user id, if it has one.
    pub signer: String,
}

impl Keyring {
    /// Reads keyrings, each binary (`gpg --export`, a legacy `pubring.gpg`)
    /// or ASCII-armored; secret keys contribute their public part.
    /// `sources` pairs a name (for errors) with the bytes.
    pub fn read<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Keyring, ProvenanceError> {
        let mut keys = Vec::new();
        for (name, bytes) in sources {
            keys.extend(read_one(name, bytes)?);
        }
        if keys.is_empty() {
            return Err(ProvenanceError::EmptyKeyring);
        }
        Ok(Keyring { keys })
    }

    /// Fingerprints of the primary keys, sorted and comma-separated: what
    /// identifies the keyring in a cache of verification results.
    pub fn fingerprints(&self) -> String {
        let mut all: Vec<String> = self.keys.iter().map(fingerprint_of).collect();
        all.sort();
        all.join(",")
    }

    /// Verifies `prov` (the `.prov` file's bytes) and that it names
    /// `archive` under `file_name` with its sha256.
    pub fn verify(
        &self,
        prov: &[u8],
        archive: &[u8],
        file_name: &str,
    ) -> Result<Verified, ProvenanceError> {
        let text = std::str::from_utf8(prov)
            .map_err(|e| ProvenanceError::Malformed(format!("not UTF-8: {e}")))?;
        let (msg, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| ProvenanceError::Malformed(e.to_string()))?;
        let signer = self.signer_of(&msg).ok_or(ProvenanceError::UnknownSigner)?;
        let signed = msg.signed_text().replace("\r\n", "\n");
        check_sum(&signed, archive, file_name)?;
        Ok(signer)
    }

    /// The key (primary or subkey) one of the message's signatures verifies with.
    fn signer_of(&self, msg: &CleartextSignedMessage) -> Option<Verified> {
        self.keys.iter().find_map(|key| {
            let by_primary = msg.verify(&key.primary_key).is_ok();
            let by_subkey = || {
                key.public_subkeys
                    .iter()
                    .any(|s| msg.verify(&s.key).is_ok())
            };
            (by_primary || by_subkey()).then(|| Verified {
                fingerprint: fingerprint_of(key),
                signer: key
                    .details
                    .users
                    .first()
                    .map(|u| String::from_utf8_lossy(u.id.id()).into_owned())
                    .unwrap_or_default(),
            })
        })
    }
}

fn fingerprint_of(key: &SignedPublicKey) -> String {
    format!("{:X}", key.fingerprint())
}

fn read_one(name: &str, bytes: &[u8]) -> Result<Vec<SignedPublicKey>, ProvenanceError> {
    let fail = |reason: String| ProvenanceError::Keyring {
        source_name: name.into(),
        reason,
    };
    let (parsed, _) =
        PublicOrSecret::from_reader_many(Cursor::new(bytes)).map_err(|e| fail(e.to_string()))?;
    let mut keys = Vec::new();
    for key in parsed {
        match key.map_err(|e| fail(e.to_string()))? {
            PublicOrSecret::Public(k) => keys.push(k),
            PublicOrSecret::Secret(k) => keys.push(k.to_public_key()),
        }
    }
    Ok(keys)
}

/// The part of the signed text after Chart.yaml (`...` separates them).
#[derive(Deserialize)]
struct SumCollection {
    #[serde(default)]
    files: BTreeMap<String, String>,
}

fn check_sum(signed: &str, archive: &[u8], file_name: &str) -> Result<(), ProvenanceError> {
    let files_part = signed
        .split_once("\n...\n")
        .map(|(_, rest)| rest)
        .ok_or_else(|| ProvenanceError::Malformed("no `...` separator before files:".into()))?;
    let sums: SumCollection = serde_saphyr::from_str(files_part)
        .map_err(|e| ProvenanceError::Malformed(format!("files: block: {e}")))?;
    let signed_sum = sums
        .files
        .get(file_name)
        .ok_or_else(|| ProvenanceError::NoSum {
            file: file_name.into(),
        })?;
    let actual = format!("sha256:{}", sha256_hex(archive));
    if *signed_sum != actual {
        return Err(ProvenanceError::SumMismatch {
            file: file_name.into(),
            actual,
            signed: signed_sum.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_read_after_the_separator() {
        let signed = "name: demo\nversion: 0.1.0\n\n...\nfiles:\n  demo-0.1.0.tgz: sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n";
        assert_eq!(check_sum(signed, b"hello", "demo-0.1.0.tgz"), Ok(()));
        assert!(matches!(
            check_sum(signed, b"hello!", "demo-0.1.0.tgz"),
            Err(ProvenanceError::SumMismatch { .. })
        ));
        assert!(matches!(
            check_sum(signed, b"hello", "other-0.1.0.tgz"),
            Err(ProvenanceError::NoSum { .. })
        ));
        assert!(matches!(
            check_sum("name: demo\n", b"hello", "demo-0.1.0.tgz"),
            Err(ProvenanceError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_keyrings_and_messages_are_errors() {
        assert!(Keyring::read([("k", b"not a key".as_slice())]).is_err());
        assert!(matches!(
            Keyring::read(std::iter::empty()),
            Err(ProvenanceError::EmptyKeyring)
        ));
    }
}
