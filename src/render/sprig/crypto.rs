//! Sprig's random and crypto functions: `randAlphaNum`, `randAlpha`,
//! `randNumeric`, `randAscii` (goutils' crypto-random strings), `randBytes`,
//! `randInt`, `uuidv4`; `bcrypt`, `htpasswd`, `derivePassword` (Master
//! Password: scrypt + HMAC-SHA256, deterministic), `encryptAES`/`decryptAES`
//! (AES-256-CBC, PKCS#7, random IV first); `genPrivateKey` (rsa 4096, ecdsa
//! P-256, ed25519, dsa L2048/N256), `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `*WithKey` forms and `buildCustomCert`, returning
//! Sprig's `certificate` struct (`.Cert`, `.Key`).
//!
//! Keys are written byte for byte as Go writes them (`pemBlockForKey`):
//! PKCS#1 "RSA PRIVATE KEY", SEC 1 "EC PRIVATE KEY" with the named curve and
//! the public key, PKCS#8 "PRIVATE KEY" (version 0, seed only) for Ed25519,
//! and Sprig's "DSA PRIVATE KEY" (version, P, Q, G, Y, X). They are read as
//! `parsePrivateKeyPEM` reads them, with Go's error texts: those four plus
//! PKCS#8 RSA, ECDSA and X25519; ECDSA on P-256 and P-384 (Go also reads
//! P-224 and P-521 keys, which rudder refuses). DSA keys are read unchecked
//! and, as in Go, can neither sign nor be certified; X25519 keys cannot sign
//! (nor, unlike Go, be certified).
//!
//! Certificates follow Go's template: random 128-bit serial, CN subject,
//! SANs, key usages keyEncipherment+digitalSignature (+certSign for CAs),
//! server and client auth, basic constraints; signed with SHA-256 (RSA,
//! P-256), SHA-384 (P-384) or Ed25519.

mod der;

use super::encoding::{b64_decode, b64_encode};
use super::{arg_int, arg_str, spec};
use crate::godata::value::{Object, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use rand::Rng;
use std::any::Any;
use std::rc::Rc;

const I: T = T::Int;
const S: T = T::String;
const L: T = T::List;
const CERT: T = T::Object("sprig.certificate");
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("randAlphaNum", &[I], None, |a| random_from(a, ALNUM)),
    spec("randAlpha", &[I], None, |a| random_from(a, &ALNUM[..52])),
    spec("randNumeric", &[I], None, |a| random_from(a, &ALNUM[52..])),
    spec("randAscii", &[I], None, |a| {
        let printable: Vec<u8> = (32u8..127).collect();
        random_from(a, &printable)
    }),
    spec("randBytes", &[I], None, rand_bytes),
    spec("randInt", &[I, I], None, |a| {
        let (min, max) = (arg_int(a, 0)?, arg_int(a, 1)?);
        let n = max.wrapping_sub(min);
        if n <= 0 {
            return Err(FuncError::new("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::rng().random_range(0..n) + min))
    }),
    spec("uuidv4", &[], None, |_| Ok(Value::str(uuid_v4()))),
    spec("bcrypt", &[S], None, |a| {
        Ok(Value::str(bcrypt_hash(arg_str(a, 0)?)))
    }),
    spec("htpasswd", &[S, S], None, |a| {
        let (user, pass) = (arg_str(a, 0)?, arg_str(a, 1)?);
        if user.contains(':') {
            return Ok(Value::str(format!("invalid username: {user}")));
        }
        Ok(Value::str(format!("{user}:{}", bcrypt_hash(pass))))
    }),
    spec("derivePassword", &[I, S, S, S, S], None, derive_password),
    spec("encryptAES", &[S, S], None, encrypt_aes),
    spec("decryptAES", &[S, S], None, decrypt_aes),
    spec("genPrivateKey", &[S], None, |a| {
        Ok(Value::str(gen_private_key(arg_str(a, 0)?)))
    }),
    spec("buildCustomCert", &[S, S], None, build_custom_cert),
    spec("genCA", &[S, I], None, |a| {
        let key = Key::Rsa(new_rsa(2048)?);
        gen_ca(arg_str(a, 0)?, arg_int(a, 1)?, key)
    }),
    spec("genCAWithKey", &[S, I, S], None, |a| {
        let key = parse_key_for(arg_str(a, 2)?)?;
        gen_ca(arg_str(a, 0)?, arg_int(a, 1)?, key)
    }),
    spec("genSelfSignedCert", &[S, L, L, I], None, |a| {
        let key = Key::Rsa(new_rsa(2048)?);
        gen_cert(a, key, None)
    }),
    spec("genSelfSignedCertWithKey", &[S, L, L, I, S], None, |a| {
        let key = parse_key_for(arg_str(a, 4)?)?;
        gen_cert(a, key, None)
    }),
    spec("genSignedCert", &[S, L, L, I, CERT], None, |a| {
        let ca = cert_arg(a.get(4))?;
        let key = Key::Rsa(new_rsa(2048)?);
        gen_cert(a, key, Some(ca))
    }),
    spec("genSignedCertWithKey", &[S, L, L, I, CERT, S], None, |a| {
        let ca = cert_arg(a.get(4))?;
        let key = parse_key_for(arg_str(a, 5)?)?;
        gen_cert(a, key, Some(ca))
    }),
];

/// Refuse random outputs beyond this (Go would try to allocate them).
const MAX_RANDOM: i64 = 64 << 20;

fn random_from(args: &[Value], alphabet: &[u8]) -> FuncResult {
    let count = arg_int(args, 0)?;
    if count <= 0 {
        return Ok(Value::str(""));
    }
    if count > MAX_RANDOM {
        return Err(FuncError::new(format!(
            "random string of {count} characters is too large"
        )));
    }
    let mut rng = rand::rng();
    let s: String = (0..count)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect();
    Ok(Value::str(s))
}

fn rand_bytes(args: &[Value]) -> FuncResult {
    let count = arg_int(args, 0)?;
    if count < 0 {
        return Err(FuncError::new("runtime error: makeslice: len out of range"));
    }
    if count > MAX_RANDOM {
        return Err(FuncError::new(format!(
            "randBytes: {count} bytes is too large"
        )));
    }
    let mut buf = vec![0u8; count as usize];
    rand::rng().fill(&mut buf[..]);
    Ok(Value::str(b64_encode(&buf)))
}

/// A random (version 4, variant 10) UUID in Go's `uuid.New().String()` form.
fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::encoding::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// --- bcrypt, derivePassword, AES ---------------------------------------------

/// Sprig's `bcrypt`: Go's `bcrypt.GenerateFromPassword` at the default cost.
fn bcrypt_hash(input: &str) -> String {
    if input.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(input, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(e) => format!("failed to encrypt string with bcrypt: {e}"),
    }
}

const MASTER_PASSWORD_SEED: &str = "com.lyndir.masterpassword";

fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        b'x' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        _ => b"",
    }
}

/// Sprig's `derivePassword` (the Master Password algorithm).
fn derive_password(args: &[Value]) -> FuncResult {
    use hmac::Mac;
    let counter = arg_int(args, 0)? as u32;
    let (kind, password, user, site) = (
        arg_str(args, 1)?,
        arg_str(args, 2)?,
        arg_str(args, 3)?,
        arg_str(args, 4)?,
    );
    let Some(templates) = password_templates(kind) else {
        return Ok(Value::str(format!("cannot find password template {kind}")));
    };
    let mut salt = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(|e| FuncError::new(e.to_string()))?;
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return Ok(Value::str(format!("failed to derive password: {e}")));
    }
    let mut msg = MASTER_PASSWORD_SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key)
        .map_err(|e| FuncError::new(e.to_string()))?;
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let temp = templates[seed[0] as usize % templates.len()].as_bytes();
    let out: String = temp
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let chars = template_chars(c);
            char::from(chars[seed[i + 1] as usize % chars.len()])
        })
        .collect();
    Ok(Value::str(out))
}

fn aes_key(password: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    key
}

fn encrypt_aes(args: &[Value]) -> FuncResult {
    use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    let (password, plaintext) = (arg_str(args, 0)?, arg_str(args, 1)?);
    if plaintext.is_empty() {
        return Ok(Value::str(""));
    }
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv);
    let enc = cbc::Encryptor::<aes::Aes256>::new(&aes_key(password).into(), &iv.into());
    let len = plaintext.len();
    let mut buf = plaintext.as_bytes().to_vec();
    buf.resize(len + 16, 0);
    let ct = enc
        .encrypt_padded_mut::<Pkcs7>(&mut buf, len)
        .map_err(|_| FuncError::new("crypto/cipher: padding failed"))?;
    let mut out = iv.to_vec();
    out.extend_from_slice(ct);
    Ok(Value::str(b64_encode(&out)))
}

fn decrypt_aes(args: &[Value]) -> FuncResult {
    use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::NoPadding};
    let (password, crypt64) = (arg_str(args, 0)?, arg_str(args, 1)?);
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let data = b64_decode(crypt64)
        .map_err(|at| FuncError::new(format!("illegal base64 data at input byte {at}")))?;
    if data.len() < 16 {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            data.len()
        )));
    }
    let (iv, body) = data.split_at(16);
    if body.len() % 16 != 0 {
        return Err(FuncError::new("crypto/cipher: input not full blocks"));
    }
    let dec = cbc::Decryptor::<aes::Aes256>::new(&aes_key(password).into(), iv.into());
    let mut buf = body.to_vec();
    let plain = dec
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| FuncError::new("crypto/cipher: input not full blocks"))?
        .to_vec();
    let Some(&pad) = plain.last() else {
        return Err(FuncError::new("runtime error: index out of range [-1]"));
    };
    let keep = plain.len() as i64 - i64::from(pad);
    if keep < 0 {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{keep}]"
        )));
    }
    Ok(Value::str(
        String::from_utf8_lossy(&plain[..keep as usize]).into_owned(),
    ))
}

// --- keys ----------------------------------------------------------------------

/// A private key Sprig can create or read.
enum Key {
    Rsa(rsa::RsaPrivateKey),
    Ec(EcKey),
    Ed(ed25519_dalek::SigningKey),
    Dsa(DsaKey),
    /// Go reads PKCS#8 X25519 keys; they cannot sign.
    X25519([u8; 32]),
}

/// The NIST curves rudder signs with (Go also reads P-224 and P-521).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Curve {
    P256,
    P384,
}

// OID contents (the bytes after tag and length).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P224: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x21];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];

impl Curve {
    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => OID_P256,
            Curve::P384 => OID_P384,
        }
    }

    /// Bytes in a scalar (the curve order's length).
    fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// Go's `x509` signs with the hash matching the curve.
    fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Curve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Curve::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }
}

/// An ECDSA key: the scalar at the curve's length and the uncompressed
/// public point. Go reads a zero scalar and only fails when certifying
/// with it; `public` is `None` then.
struct EcKey {
    curve: Curve,
    secret: Vec<u8>,
    public: Option<Vec<u8>>,
}

impl EcKey {
    fn random(curve: Curve) -> Self {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let mut rng = rsa::rand_core::OsRng;
        let (secret, public) = match curve {
            Curve::P256 => {
                let k = p256::SecretKey::random(&mut rng);
                let public = k.public_key().to_encoded_point(false).as_bytes().to_vec();
                (k.to_bytes().to_vec(), public)
            }
            Curve::P384 => {
                let k = p384::SecretKey::random(&mut rng);
                let public = k.public_key().to_encoded_point(false).as_bytes().to_vec();
                (k.to_bytes().to_vec(), public)
            }
        };
        EcKey {
            curve,
            secret,
            public: Some(public),
        }
    }

    /// Go's reading of a scalar (`parseECPrivateKey`): leading zeros are
    /// dropped or added, values from the curve order up are refused.
    fn from_scalar(curve: Curve, raw: &[u8]) -> Result<Self, String> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let invalid = || "x509: invalid elliptic curve private key value".to_string();
        let digits = &raw[raw.iter().take_while(|&&b| b == 0).count()..];
        let size = curve.size();
        if digits.len() > size {
            return Err(invalid());
        }
        let mut secret = vec![0u8; size];
        secret[size - digits.len()..].copy_from_slice(digits);
        let public = match curve {
            Curve::P256 => p256::SecretKey::from_slice(&secret)
                .map(|k| k.public_key().to_encoded_point(false).as_bytes().to_vec()),
            Curve::P384 => p384::SecretKey::from_slice(&secret)
                .map(|k| k.public_key().to_encoded_point(false).as_bytes().to_vec()),
        };
        let public = match public {
            Ok(p) => Some(p),
            Err(_) if digits.is_empty() => None,
            Err(_) => return Err(invalid()),
        };
        Ok(EcKey {
            curve,
            secret,
            public,
        })
    }

    /// SEC 1 `ECPrivateKey`, optionally with the named curve; always with
    /// the public key (Go's `marshalECPrivateKeyWithOID`).
    fn sec1_der(&self, with_curve: bool) -> Vec<u8> {
        let mut parts = vec![der::small_int(1), der::tlv(der::OCTET_STRING, &self.secret)];
        if with_curve {
            parts.push(der::tlv(
                der::CONTEXT_0,
                &der::tlv(der::OID, self.curve.oid()),
            ));
        }
        if let Some(public) = &self.public {
            let mut bits = vec![0u8];
            bits.extend_from_slice(public);
            parts.push(der::tlv(der::CONTEXT_1, &der::tlv(der::BIT_STRING, &bits)));
        }
        let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        der::sequence(&parts)
    }

    /// PKCS#8 with the curve in the algorithm, as Go's
    /// `MarshalPKCS8PrivateKey` writes it (and ring reads it).
    fn pkcs8_der(&self) -> Vec<u8> {
        let algorithm = der::sequence(&[
            &der::tlv(der::OID, OID_EC_PUBLIC_KEY),
            &der::tlv(der::OID, self.curve.oid()),
        ]);
        let inner = der::tlv(der::OCTET_STRING, &self.sec1_der(false));
        der::sequence(&[&der::small_int(0), &algorithm, &inner])
    }
}

/// Sprig's `DSAKeyFormat`: the five integers as their DER contents. Go
/// reads them without checking them, and cannot certify with DSA keys.
struct DsaKey {
    p: Vec<u8>,
    q: Vec<u8>,
    g: Vec<u8>,
    y: Vec<u8>,
    x: Vec<u8>,
}

impl DsaKey {
    /// Go's `dsa.GenerateParameters(L2048N256)` and `dsa.GenerateKey`.
    fn generate() -> Self {
        let mut rng = rsa::rand_core::OsRng;
        let params = dsa::Components::generate(&mut rng, dsa::KeySize::DSA_2048_256);
        let key = dsa::SigningKey::generate(&mut rng, params);
        let public = key.verifying_key();
        let params = public.components();
        let int = |n: &dsa::BigUint| der::uint_content(&n.to_bytes_be());
        DsaKey {
            p: int(params.p()),
            q: int(params.q()),
            g: int(params.g()),
            y: int(public.y()),
            x: int(key.x()),
        }
    }

    /// `asn1.Marshal(DSAKeyFormat{...})`: version 0, then P, Q, G, Y, X.
    fn der(&self) -> Vec<u8> {
        let ints = [&self.p, &self.q, &self.g, &self.y, &self.x].map(|n| der::tlv(der::INTEGER, n));
        let mut parts: Vec<&[u8]> = vec![&[der::INTEGER, 1, 0]];
        parts.extend(ints.iter().map(Vec::as_slice));
        der::sequence(&parts)
    }

    /// `asn1.Unmarshal` into `DSAKeyFormat`.
    fn parse(der: &[u8]) -> Result<Self, String> {
        let mut r = der::Reader::sequence_in(der)?;
        r.int()?;
        let mut next = || r.big_int().map(<[u8]>::to_vec);
        Ok(DsaKey {
            p: next()?,
            q: next()?,
            g: next()?,
            y: next()?,
            x: next()?,
        })
    }
}

fn new_rsa(bits: usize) -> Result<rsa::RsaPrivateKey, FuncError> {
    let mut rng = rsa::rand_core::OsRng;
    rsa::RsaPrivateKey::new(&mut rng, bits)
        .map_err(|e| FuncError::new(format!("error generating rsa key: {e}")))
}

/// Go's `pem.EncodeToMemory`.
fn pem_encode(kind: &str, der: &[u8]) -> String {
    let b64 = b64_encode(der);
    let mut out = format!("-----BEGIN {kind}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {kind}-----\n"));
    out
}

/// Go's `pem.Decode` of the first block: (type, bytes).
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + 11..];
    let type_end = rest.find("-----")?;
    let kind = rest[..type_end].to_string();
    let body_start = rest[type_end + 5..].trim_start_matches(['\r', '\n']);
    let end_marker = format!("-----END {kind}-----");
    let body_end = body_start.find(&end_marker)?;
    let body: String = body_start[..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = b64_decode(&body).ok()?;
    Some((kind, bytes))
}

/// Go's `x509.MarshalPKCS8PrivateKey` of an Ed25519 or X25519 key: version
/// 0, the bare algorithm, the seed in an OCTET STRING, no public key.
fn curve25519_pkcs8(oid: &[u8], seed: &[u8; 32]) -> Vec<u8> {
    let algorithm = der::sequence(&[&der::tlv(der::OID, oid)]);
    let seed = der::tlv(der::OCTET_STRING, &der::tlv(der::OCTET_STRING, seed));
    der::sequence(&[&der::small_int(0), &algorithm, &seed])
}

/// Sprig's `pemBlockForKey`: PKCS#1 "RSA PRIVATE KEY", SEC 1 "EC PRIVATE
/// KEY" with the named curve, PKCS#8 "PRIVATE KEY" for Ed25519, Sprig's own
/// "DSA PRIVATE KEY".
fn key_pem(key: &Key) -> Result<String, FuncError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    Ok(match key {
        Key::Rsa(k) => pem_encode(
            "RSA PRIVATE KEY",
            k.to_pkcs1_der()
                .map_err(|e| FuncError::new(format!("error pem-encoding key: {e}")))?
                .as_bytes(),
        ),
        Key::Ec(k) => pem_encode("EC PRIVATE KEY", &k.sec1_der(true)),
        Key::Ed(k) => pem_encode("PRIVATE KEY", &curve25519_pkcs8(OID_ED25519, &k.to_bytes())),
        Key::Dsa(k) => pem_encode("DSA PRIVATE KEY", &k.der()),
        Key::X25519(k) => pem_encode("PRIVATE KEY", &curve25519_pkcs8(OID_X25519, k)),
    })
}

fn create_error(e: impl std::fmt::Display) -> FuncError {
    FuncError::new(format!("error creating certificate: {e}"))
}

/// An rcgen key to sign a certificate with: Go's `x509.CreateCertificate`
/// refuses DSA and X25519 keys (they are not a `crypto.Signer`).
fn signing_key(key: &Key) -> Result<rcgen::KeyPair, FuncError> {
    use rsa::pkcs8::EncodePrivateKey;
    let (alg, der) = match key {
        Key::Rsa(k) => (
            &rcgen::PKCS_RSA_SHA256,
            k.to_pkcs8_der().map_err(create_error)?.as_bytes().to_vec(),
        ),
        Key::Ec(k) => {
            if k.public.is_none() {
                return Err(create_error("x509: invalid elliptic curve public key"));
            }
            (k.curve.algorithm(), k.pkcs8_der())
        }
        // ring wants the public key in the PKCS#8 (version 2) form.
        Key::Ed(k) => (
            &rcgen::PKCS_ED25519,
            k.to_pkcs8_der().map_err(create_error)?.as_bytes().to_vec(),
        ),
        Key::Dsa(_) | Key::X25519(_) => {
            return Err(create_error(
                "x509: certificate private key does not implement crypto.Signer",
            ));
        }
    };
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der);
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg).map_err(create_error)
}

/// The key a certificate is issued for, when another key signs it: Go's
/// `x509` cannot write DSA public keys (rudder cannot write X25519 ones,
/// which Go can).
fn subject_key(key: &Key) -> Result<rcgen::KeyPair, FuncError> {
    match key {
        Key::Dsa(_) => Err(create_error(
            "x509: unsupported public key type: *dsa.PublicKey",
        )),
        Key::X25519(_) => Err(create_error(
            "certificates for X25519 keys are not supported by rudder",
        )),
        _ => signing_key(key),
    }
}

fn gen_private_key(kind: &str) -> String {
    let key = match kind {
        "" | "rsa" => match rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 4096) {
            Ok(k) => Key::Rsa(k),
            Err(e) => return format!("failed to generate private key: {e}"),
        },
        "ecdsa" => Key::Ec(EcKey::random(Curve::P256)),
        "ed25519" => Key::Ed(ed25519_dalek::SigningKey::generate(
            &mut rsa::rand_core::OsRng,
        )),
        "dsa" => Key::Dsa(DsaKey::generate()),
        other => return format!("Unknown type {other}"),
    };
    key_pem(&key).unwrap_or_else(|e| e.0)
}

const USE_PKCS8: &str =
    "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)";
const USE_PKCS1: &str =
    "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)";
const USE_SEC1: &str =
    "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)";

/// The fields of a SEC 1 `ECPrivateKey` that Go uses.
struct Sec1<'a> {
    version: i64,
    secret: &'a [u8],
    /// The named curve's OID content.
    curve: Option<&'a [u8]>,
}

fn sec1_fields(der: &[u8]) -> Result<Sec1<'_>, String> {
    let mut r = der::Reader::sequence_in(der)?;
    let version = r.int()?;
    let secret = r.expect(der::OCTET_STRING)?;
    let curve = match r.optional(der::CONTEXT_0)? {
        Some(explicit) => Some(der::Reader::new(explicit).expect(der::OID)?),
        None => None,
    };
    if let Some(explicit) = r.optional(der::CONTEXT_1)? {
        der::Reader::new(explicit).expect(der::BIT_STRING)?;
    }
    Ok(Sec1 {
        version,
        secret,
        curve,
    })
}

/// The fields of a PKCS#8 `PrivateKeyInfo` that Go uses.
struct Pkcs8<'a> {
    /// The algorithm's OID content.
    algorithm: &'a [u8],
    /// The algorithm's parameters, whole; empty when absent.
    params: &'a [u8],
    key: &'a [u8],
}

fn pkcs8_fields(der: &[u8]) -> Result<Pkcs8<'_>, String> {
    let mut r = der::Reader::sequence_in(der)?;
    r.int()?;
    let mut alg = der::Reader::new(r.expect(der::SEQUENCE)?);
    let algorithm = alg.expect(der::OID)?;
    let params = alg.optional_any()?;
    let key = r.expect(der::OCTET_STRING)?;
    Ok(Pkcs8 {
        algorithm,
        params,
        key,
    })
}

/// Whether `der` has the shape of a PKCS#1 `RSAPrivateKey`.
fn is_pkcs1(der: &[u8]) -> bool {
    let Ok(mut r) = der::Reader::sequence_in(der) else {
        return false;
    };
    r.int().is_ok() && r.big_int().is_ok() && r.int().is_ok() && (0..3).all(|_| r.big_int().is_ok())
}

/// Go's `x509.ParseECPrivateKey`; `curve` is the one a PKCS#8 wrapping
/// names, which wins over the key's own.
fn parse_sec1(curve: Option<&[u8]>, der: &[u8]) -> Result<EcKey, String> {
    let Sec1 {
        version,
        secret,
        curve: own_curve,
    } = sec1_fields(der).map_err(|e| {
        if pkcs8_fields(der).is_ok() {
            USE_PKCS8.to_string()
        } else if is_pkcs1(der) {
            USE_PKCS1.to_string()
        } else {
            format!("x509: failed to parse EC private key: {e}")
        }
    })?;
    if version != 1 {
        return Err(format!("x509: unknown EC private key version {version}"));
    }
    let curve = match curve.or(own_curve) {
        Some(OID_P256) => Curve::P256,
        Some(OID_P384) => Curve::P384,
        Some(OID_P224) => {
            return Err("elliptic curve P-224 is not supported by rudder".into());
        }
        Some(OID_P521) => {
            return Err("elliptic curve P-521 is not supported by rudder".into());
        }
        _ => return Err("x509: unknown elliptic curve".into()),
    };
    EcKey::from_scalar(curve, secret)
}

/// Go's `x509.ParsePKCS8PrivateKey`.
fn parse_pkcs8(der: &[u8]) -> Result<Key, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let Pkcs8 {
        algorithm: oid,
        params,
        key: inner,
    } = pkcs8_fields(der).map_err(|e| {
        if sec1_fields(der).is_ok() {
            USE_SEC1.to_string()
        } else if is_pkcs1(der) {
            USE_PKCS1.to_string()
        } else {
            e
        }
    })?;
    match oid {
        OID_RSA => rsa::RsaPrivateKey::from_pkcs1_der(inner)
            .map(Key::Rsa)
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}")),
        OID_EC_PUBLIC_KEY => {
            let curve = der::Reader::new(params).expect(der::OID).ok();
            parse_sec1(curve, inner).map(Key::Ec).map_err(|e| {
                format!("x509: failed to parse EC private key embedded in PKCS#8: {e}")
            })
        }
        OID_ED25519 => {
            if !params.is_empty() {
                return Err("x509: invalid Ed25519 private key parameters".into());
            }
            let seed = der::Reader::new(inner)
                .expect(der::OCTET_STRING)
                .map_err(|e| format!("x509: invalid Ed25519 private key: {e}"))?;
            let seed: [u8; 32] = seed
                .try_into()
                .map_err(|_| format!("x509: invalid Ed25519 private key length: {}", seed.len()))?;
            Ok(Key::Ed(ed25519_dalek::SigningKey::from_bytes(&seed)))
        }
        OID_X25519 => {
            if !params.is_empty() {
                return Err("x509: invalid X25519 private key parameters".into());
            }
            let seed = der::Reader::new(inner)
                .expect(der::OCTET_STRING)
                .map_err(|e| format!("x509: invalid X25519 private key: {e}"))?;
            seed.try_into()
                .map(Key::X25519)
                .map_err(|_| "crypto/ecdh: invalid private key size".to_string())
        }
        other => Err(format!(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: {}",
            der::oid_string(other)
        )),
    }
}

/// Sprig's `parsePrivateKeyPEM`: PKCS#8 "PRIVATE KEY" (RSA, ECDSA, Ed25519, X25519),
/// PKCS#1 "RSA PRIVATE KEY", SEC 1 "EC PRIVATE KEY", "DSA PRIVATE KEY".
fn parse_private_key_pem(text: &str) -> Result<Key, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    let (kind, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if kind == "PRIVATE KEY" {
        return parse_pkcs8(&der).map_err(|e| format!("decoding PEM as PKCS#8: {e}"));
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {kind}"));
    };
    match prefix {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(Key::Rsa)
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => parse_sec1(None, &der)
            .map(Key::Ec)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
        "DSA" => DsaKey::parse(&der)
            .map(Key::Dsa)
            .map_err(|e| format!("parsing DSA private key from PEM: {e}")),
        _ => Err(format!("invalid private key type {kind}")),
    }
}

fn parse_key_for(text: &str) -> Result<Key, FuncError> {
    parse_private_key_pem(text).map_err(|e| FuncError::new(format!("parsing private key: {e}")))
}

// --- certificates --------------------------------------------------------------

/// Sprig's `certificate` struct.
#[derive(Clone, Debug)]
struct Certificate {
    cert: String,
    key: String,
}

impl Object for Certificate {
    fn type_name(&self) -> &str {
        "sprig.certificate"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(Value::str(self.cert.as_str())),
            "Key" => Some(Value::str(self.key.as_str())),
            _ => None,
        }
    }

    fn format(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn cert_arg(v: Option<&Value>) -> Result<Certificate, FuncError> {
    match v {
        Some(Value::Object(o)) => o
            .as_any()
            .downcast_ref::<Certificate>()
            .cloned()
            .ok_or_else(|| {
                FuncError::new(format!(
                    "wrong type for value; expected sprig.certificate; got {}",
                    o.type_name()
                ))
            }),
        _ => Err(FuncError::new("internal error: expected sprig.certificate")),
    }
}

fn cert_value(cert: String, key: String) -> FuncResult {
    Ok(Value::Object(Rc::new(Certificate { cert, key })))
}

/// Go's `getBaseCertTemplate`.
fn base_params(
    cn: &str,
    ips: &Value,
    dns: &Value,
    days: i64,
) -> Result<rcgen::CertificateParams, FuncError> {
    let mut p = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    p.distinguished_name = dn;
    for d in dns.as_list().unwrap_or(&[]) {
        let Value::Str(s) = d else {
            return Err(FuncError::new(format!(
                "error processing alternate dns name: {} is not a string",
                super::vfmt(d)
            )));
        };
        let name = rcgen::string::Ia5String::try_from(s.to_string())
            .map_err(|e| FuncError::new(e.to_string()))?;
        p.subject_alt_names.push(rcgen::SanType::DnsName(name));
    }
    for ip in ips.as_list().unwrap_or(&[]) {
        let Value::Str(s) = ip else {
            return Err(FuncError::new(format!(
                "error parsing ip: {} is not a string",
                super::vfmt(ip)
            )));
        };
        let addr: std::net::IpAddr = s
            .parse()
            .map_err(|_| FuncError::new(format!("error parsing ip: {s}")))?;
        p.subject_alt_names.push(rcgen::SanType::IpAddress(addr));
    }
    let mut serial = [0u8; 16];
    rand::rng().fill(&mut serial);
    serial[0] &= 0x7f;
    p.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now;
    p.not_after = now + time::Duration::hours(24 * days);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    Ok(p)
}

fn gen_ca(cn: &str, days: i64, key: Key) -> FuncResult {
    let mut p = base_params(cn, &Value::Nil, &Value::Nil, days)?;
    p.key_usages.push(rcgen::KeyUsagePurpose::KeyCertSign);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let kp = signing_key(&key)?;
    let cert = p.self_signed(&kp).map_err(create_error)?;
    cert_value(cert.pem(), key_pem(&key)?)
}

/// A stand-in key for reading a CA certificate before its key is known.
struct NoKey;

impl rcgen::PublicKeyData for NoKey {
    fn der_bytes(&self) -> &[u8] {
        &[]
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for NoKey {
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Err(rcgen::Error::RemoteKeyError)
    }
}

/// Go's `x509.ParseCertificate` of a signer certificate (errors only).
fn check_certificate(der: &[u8], what: &str) -> Result<(), FuncError> {
    let der = rustls_pki_types::CertificateDer::from(der);
    rcgen::Issuer::from_ca_cert_der(&der, NoKey)
        .map(drop)
        .map_err(|e| FuncError::new(format!("error parsing certificate: {what}: {e}")))
}

/// Go's `generate{SelfSigned,Signed}CertificateWithKeyInternal`: the CA is
/// read (certificate, then key) before the template is built, the signer is
/// checked before the subject key.
fn gen_cert(args: &[Value], key: Key, ca: Option<Certificate>) -> FuncResult {
    let (cn, days) = (arg_str(args, 0)?, arg_int(args, 3)?);
    let cert = match ca {
        None => {
            let p = base_params(cn, super::arg(args, 1), super::arg(args, 2), days)?;
            let kp = signing_key(&key)?;
            p.self_signed(&kp)
        }
        Some(ca) => {
            let (_, der) = pem_decode(&ca.cert)
                .ok_or_else(|| FuncError::new("unable to decode certificate"))?;
            check_certificate(&der, "decodedSignerCert.Bytes")?;
            let ca_key = parse_private_key_pem(&ca.key)
                .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
            let p = base_params(cn, super::arg(args, 1), super::arg(args, 2), days)?;
            let ca_kp = signing_key(&ca_key)?;
            let kp = subject_key(&key)?;
            let der = rustls_pki_types::CertificateDer::from(der);
            let issuer = rcgen::Issuer::from_ca_cert_der(&der, ca_kp).map_err(|e| {
                FuncError::new(format!(
                    "error parsing certificate: decodedSignerCert.Bytes: {e}"
                ))
            })?;
            p.signed_by(&kp, &issuer)
        }
    }
    .map_err(create_error)?;
    cert_value(cert.pem(), key_pem(&key)?)
}

fn build_custom_cert(args: &[Value]) -> FuncResult {
    let cert = b64_decode(arg_str(args, 0)?)
        .map_err(|_| FuncError::new("unable to decode base64 certificate"))?;
    let key = b64_decode(arg_str(args, 1)?)
        .map_err(|_| FuncError::new("unable to decode base64 private key"))?;
    let cert = String::from_utf8_lossy(&cert).into_owned();
    let key = String::from_utf8_lossy(&key).into_owned();
    let (_, der) =
        pem_decode(&cert).ok_or_else(|| FuncError::new("unable to decode certificate"))?;
    check_certificate(&der, "decodedCert.Bytes")?;
    parse_private_key_pem(&key)
        .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
    cert_value(cert, key)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::call;
    use super::*;

    #[test]
    fn random_strings_have_length_and_charset() {
        let s = call("randAlphaNum", &[Value::Int(40)]).unwrap();
        let s = s.as_str().unwrap();
        assert_eq!(s.len(), 40);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
        let n = call("randNumeric", &[Value::Int(10)]).unwrap();
        assert!(n.as_str().unwrap().bytes().all(|c| c.is_ascii_digit()));
        let u = call("uuidv4", &[]).unwrap();
        let u = u.as_str().unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(
            call("randBytes", &[Value::Int(3)])
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            4
        );
        let r = call("randInt", &[Value::Int(5), Value::Int(6)]).unwrap();
        assert!(matches!(r, Value::Int(5)));
        assert!(call("randInt", &[Value::Int(5), Value::Int(5)]).is_err());
    }

    fn cert_of(v: &Value) -> Certificate {
        cert_arg(Some(v)).unwrap()
    }

    fn parsed(pem: &str) -> Vec<u8> {
        pem_decode(pem).unwrap().1
    }

    #[test]
    fn ca_and_signed_certificates_parse_and_chain() {
        use x509_parser::prelude::*;
        let ca = call("genCA", &[Value::str("my-ca"), Value::Int(365)]).unwrap();
        let ca_c = cert_of(&ca);
        let ca_der = parsed(&ca_c.cert);
        let (_, ca_x) = X509Certificate::from_der(&ca_der).unwrap();
        assert_eq!(ca_x.subject().to_string(), "CN=my-ca");
        assert!(ca_x.is_ca());
        let days = (ca_x.validity().not_after.timestamp() - ca_x.validity().not_before.timestamp())
            / 86400;
        assert_eq!(days, 365);
        assert!(ca_c.key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));

        let ips = Value::list(vec![Value::str("10.0.0.1")]);
        let dns = Value::list(vec![Value::str("svc"), Value::str("svc.ns.svc")]);
        let leaf = call(
            "genSignedCert",
            &[Value::str("svc.ns.svc"), ips, dns, Value::Int(30), ca],
        )
        .unwrap();
        let leaf_c = cert_of(&leaf);
        let leaf_der = parsed(&leaf_c.cert);
        let (_, leaf_x) = X509Certificate::from_der(&leaf_der).unwrap();
        assert_eq!(leaf_x.issuer().to_string(), "CN=my-ca");
        assert!(!leaf_x.is_ca());
        let san = leaf_x.subject_alternative_name().unwrap().unwrap();
        let names: Vec<String> = san
            .value
            .general_names
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            names,
            [
                "DNSName(svc)",
                "DNSName(svc.ns.svc)",
                "IPAddress(0a:00:00:01)"
            ]
        );
        assert!(leaf_x.verify_signature(Some(ca_x.public_key())).is_ok());
        let eku = leaf_x.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
    }

    #[test]
    fn private_keys_round_trip_through_with_key_variants() {
        for kind in ["ecdsa", "ed25519"] {
            let key = call("genPrivateKey", &[Value::str(kind)]).unwrap();
            let pem = key.as_str().unwrap().to_string();
            let c = call(
                "genSelfSignedCertWithKey",
                &[Value::str("x"), Value::Nil, Value::Nil, Value::Int(1), key],
            )
            .unwrap();
            assert_eq!(cert_of(&c).key, pem, "{kind}");
        }
    }

    #[test]
    fn aes_round_trip_and_password_hashes() {
        let enc = call("encryptAES", &[Value::str("k"), Value::str("secret")]).unwrap();
        let dec = call("decryptAES", &[Value::str("k"), enc]).unwrap();
        assert_eq!(dec.as_str(), Some("secret"));
        let h = call("bcrypt", &[Value::str("pw")]).unwrap();
        let h = h.as_str().unwrap();
        assert!(h.starts_with("$2a$10$") && h.len() == 60);
        assert!(bcrypt::verify("pw", h).unwrap());
    }

    fn gen_key(kind: &str) -> String {
        let key = call("genPrivateKey", &[Value::str(kind)]).unwrap();
        key.as_str().unwrap().to_string()
    }

    fn err_of(r: FuncResult) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {}", super::super::vfmt(&v)),
            Err(e) => e.0,
        }
    }

    fn with_key(kind: &str, der: &[u8]) -> Value {
        Value::str(pem_encode(kind, der))
    }

    fn self_signed(key: Value) -> FuncResult {
        call(
            "genSelfSignedCertWithKey",
            &[Value::str("x"), Value::Nil, Value::Nil, Value::Int(1), key],
        )
    }

    /// The prime256v1 OID as it appears in DER.
    const P256_OID_DER: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn generated_keys_have_gos_pem_types() {
        for (kind, block) in [
            ("rsa", "RSA PRIVATE KEY"),
            ("ecdsa", "EC PRIVATE KEY"),
            ("ed25519", "PRIVATE KEY"),
            ("dsa", "DSA PRIVATE KEY"),
        ] {
            let pem = gen_key(kind);
            assert!(
                pem.starts_with(&format!("-----BEGIN {block}-----\n")),
                "{kind}: {pem}"
            );
            assert!(
                pem.ends_with(&format!("\n-----END {block}-----\n")),
                "{kind}"
            );
        }
        assert_eq!(gen_key("x25519"), "Unknown type x25519");
    }

    #[test]
    fn ecdsa_keys_are_sec1_with_the_named_curve_and_public_key() {
        let der = parsed(&gen_key("ecdsa"));
        // x509.MarshalECPrivateKey: version 1, 32-byte scalar, [0] the
        // curve, [1] the uncompressed point.
        assert_eq!(der.len(), 121);
        assert_eq!(der[..7], [0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20]);
        assert_eq!(der[39..41], [0xa0, 0x0a]);
        assert_eq!(der[41..51], P256_OID_DER);
        assert!(contains(&der, &P256_OID_DER));
        assert_eq!(der[51..57], [0xa1, 0x44, 0x03, 0x42, 0x00, 0x04]);
        let key = p256::SecretKey::from_sec1_der(&der).unwrap();
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        assert_eq!(
            der[56..],
            *key.public_key().to_encoded_point(false).as_bytes()
        );
    }

    #[test]
    fn ed25519_keys_are_gos_pkcs8() {
        let der = parsed(&gen_key("ed25519"));
        // x509.MarshalPKCS8PrivateKey: version 0, no parameters, the seed,
        // no public key.
        assert_eq!(der.len(), 48);
        assert_eq!(
            der[..16],
            [
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20
            ]
        );
    }

    #[test]
    fn dsa_keys_are_sprigs_structure_and_consistent() {
        let der = parsed(&gen_key("dsa"));
        let mut r = der::Reader::sequence_in(&der).unwrap();
        assert_eq!(r.int(), Ok(0));
        let mut int = || dsa::BigUint::from_bytes_be(r.big_int().unwrap());
        let (p, q, g, y, x) = (int(), int(), int(), int(), int());
        assert_eq!((p.bits(), q.bits()), (2048, 256));
        let params = dsa::Components::from_components(p, q, g).unwrap();
        let public = dsa::VerifyingKey::from_components(params, y).unwrap();
        assert!(dsa::SigningKey::from_components(public, x).is_ok());
    }

    #[test]
    fn generated_keys_read_back_to_the_same_pem() {
        for kind in ["ecdsa", "ed25519", "dsa"] {
            let pem = gen_key(kind);
            let key = parse_private_key_pem(&pem).unwrap();
            assert_eq!(key_pem(&key).unwrap(), pem, "{kind}");
        }
    }

    #[test]
    fn pkcs8_keys_are_read_and_written_back_in_sprigs_formats() {
        use rsa::pkcs8::EncodePrivateKey;
        let ec = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let pkcs8 = ec.to_pkcs8_der().unwrap();
        let c = self_signed(with_key("PRIVATE KEY", pkcs8.as_bytes())).unwrap();
        let out = cert_of(&c).key;
        assert!(out.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(contains(&parsed(&out), &P256_OID_DER));
        assert!(contains(&parsed(&out), &ec.to_bytes()));

        // Ed25519 in the version 2 form (with the public key), as OpenSSL
        // and ed25519-dalek write it: written back as Go writes it.
        let ed = ed25519_dalek::SigningKey::generate(&mut rsa::rand_core::OsRng);
        let c = self_signed(with_key(
            "PRIVATE KEY",
            ed.to_pkcs8_der().unwrap().as_bytes(),
        ))
        .unwrap();
        assert_eq!(
            parsed(&cert_of(&c).key),
            curve25519_pkcs8(OID_ED25519, &ed.to_bytes())
        );

        let rsa = new_rsa(2048).unwrap();
        let c = self_signed(with_key(
            "PRIVATE KEY",
            rsa.to_pkcs8_der().unwrap().as_bytes(),
        ))
        .unwrap();
        assert!(
            cert_of(&c)
                .key
                .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
        );
    }

    #[test]
    fn p384_keys_sign_with_sha384() {
        use x509_parser::prelude::*;
        let key = Key::Ec(EcKey::random(Curve::P384));
        let pem = key_pem(&key).unwrap();
        let c = self_signed(Value::str(pem.clone())).unwrap();
        assert_eq!(cert_of(&c).key, pem);
        let der = parsed(&cert_of(&c).cert);
        let (_, x) = X509Certificate::from_der(&der).unwrap();
        assert_eq!(
            x.signature_algorithm.algorithm.to_id_string(),
            "1.2.840.10045.4.3.3"
        );
        assert!(x.verify_signature(None).is_ok());
    }

    #[test]
    fn certificates_verify_for_each_signing_key_kind() {
        use x509_parser::prelude::*;
        for kind in ["ecdsa", "ed25519"] {
            let key = Value::str(gen_key(kind));
            let ca = call(
                "genCAWithKey",
                &[Value::str("ca"), Value::Int(2), key.clone()],
            )
            .unwrap();
            let ca_der = parsed(&cert_of(&ca).cert);
            let (_, ca_x) = X509Certificate::from_der(&ca_der).unwrap();
            assert!(ca_x.verify_signature(None).is_ok(), "{kind}");
            // A leaf for a key of the same kind, signed by the CA.
            let leaf_key = Value::str(gen_key(kind));
            let leaf = call(
                "genSignedCertWithKey",
                &[
                    Value::str("leaf"),
                    Value::Nil,
                    Value::Nil,
                    Value::Int(1),
                    ca,
                    leaf_key.clone(),
                ],
            )
            .unwrap();
            assert_eq!(Some(cert_of(&leaf).key.as_str()), leaf_key.as_str());
            let leaf_der = parsed(&cert_of(&leaf).cert);
            let (_, leaf_x) = X509Certificate::from_der(&leaf_der).unwrap();
            assert!(
                leaf_x.verify_signature(Some(ca_x.public_key())).is_ok(),
                "{kind}"
            );
        }
    }

    #[test]
    fn dsa_keys_fail_certificates_as_in_go() {
        let dsa = Value::str(key_pem(&Key::Dsa(DsaKey::parse(&DSA_TINY).unwrap())).unwrap());
        let signer = "error creating certificate: x509: certificate private key does not implement crypto.Signer";
        assert_eq!(err_of(self_signed(dsa.clone())), signer);
        assert_eq!(
            err_of(call(
                "genCAWithKey",
                &[Value::str("ca"), Value::Int(1), dsa.clone()]
            )),
            signer
        );
        let ca = call(
            "genCAWithKey",
            &[
                Value::str("ca"),
                Value::Int(1),
                Value::str(gen_key("ecdsa")),
            ],
        )
        .unwrap();
        let args = |key: Value, ca: Value| {
            vec![
                Value::str("leaf"),
                Value::Nil,
                Value::Nil,
                Value::Int(1),
                ca,
                key,
            ]
        };
        assert_eq!(
            err_of(call("genSignedCertWithKey", &args(dsa.clone(), ca.clone()))),
            "error creating certificate: x509: unsupported public key type: *dsa.PublicKey"
        );
        // A CA with a DSA key is read (buildCustomCert), but cannot sign.
        let dsa_ca = call(
            "buildCustomCert",
            &[
                Value::str(b64_encode(cert_of(&ca).cert.as_bytes())),
                Value::str(b64_encode(dsa.as_str().unwrap().as_bytes())),
            ],
        )
        .unwrap();
        let ec = Value::str(gen_key("ecdsa"));
        assert_eq!(
            err_of(call("genSignedCertWithKey", &args(ec, dsa_ca.clone()))),
            signer
        );
        assert_eq!(
            err_of(call("genSignedCertWithKey", &args(dsa, dsa_ca))),
            signer
        );
    }

    /// A DSA key Go reads (it checks nothing): version 0, P=23, Q=11, G=4,
    /// Y=8, X=3.
    const DSA_TINY: [u8; 20] = [
        0x30, 0x12, 0x02, 0x01, 0x00, 0x02, 0x01, 23, 0x02, 0x01, 11, 0x02, 0x01, 4, 0x02, 0x01, 8,
        0x02, 0x01, 3,
    ];

    #[test]
    fn keys_go_refuses_are_refused_with_gos_words() {
        let parse = |kind: &str, der: &[u8]| match parse_private_key_pem(&pem_encode(kind, der)) {
            Ok(_) => panic!("{kind} parsed"),
            Err(e) => e,
        };
        let scalar = der::tlv(der::OCTET_STRING, &[5; 32]);
        let curve = der::tlv(der::CONTEXT_0, &der::tlv(der::OID, OID_P256));
        // No named curve: Go does not guess one.
        assert_eq!(
            parse(
                "EC PRIVATE KEY",
                &der::sequence(&[&der::small_int(1), &scalar])
            ),
            "parsing EC private key from PEM: x509: unknown elliptic curve"
        );
        assert_eq!(
            parse(
                "EC PRIVATE KEY",
                &der::sequence(&[&der::small_int(2), &scalar, &curve])
            ),
            "parsing EC private key from PEM: x509: unknown EC private key version 2"
        );
        let order = der::tlv(der::OCTET_STRING, &[0xff; 32]);
        assert_eq!(
            parse(
                "EC PRIVATE KEY",
                &der::sequence(&[&der::small_int(1), &order, &curve])
            ),
            "parsing EC private key from PEM: x509: invalid elliptic curve private key value"
        );
        // A PKCS#8 key in an "EC PRIVATE KEY" block, and the reverse.
        let ec = EcKey::random(Curve::P256);
        let Ok(Key::Ec(_)) = parse_pkcs8(&ec.pkcs8_der()) else {
            panic!("PKCS#8 P-256 key not read");
        };
        assert_eq!(
            parse("EC PRIVATE KEY", &ec.pkcs8_der()),
            format!("parsing EC private key from PEM: {USE_PKCS8}")
        );
        assert_eq!(
            parse("PRIVATE KEY", &ec.sec1_der(true)),
            format!("decoding PEM as PKCS#8: {USE_SEC1}")
        );
        // Ed448 is not among Go's PKCS#8 algorithms.
        let ed448 = der::sequence(&[
            &der::small_int(0),
            &der::sequence(&[&der::tlv(der::OID, &[0x2b, 0x65, 0x71])]),
            &der::tlv(der::OCTET_STRING, &der::tlv(der::OCTET_STRING, &[1; 57])),
        ]);
        assert_eq!(
            parse("PRIVATE KEY", &ed448),
            "decoding PEM as PKCS#8: x509: PKCS#8 wrapping contained private key with unknown algorithm: 1.3.101.113"
        );
        assert_eq!(
            parse("DSA PRIVATE KEY", &DSA_TINY[..DSA_TINY.len() - 1]),
            "parsing DSA private key from PEM: asn1: syntax error: data truncated"
        );
        assert_eq!(
            parse("FOO PRIVATE KEY", &DSA_TINY),
            "invalid private key type FOO PRIVATE KEY"
        );
    }

    #[test]
    fn x25519_keys_are_read_but_cannot_sign() {
        let x = curve25519_pkcs8(OID_X25519, &[9; 32]);
        let key = with_key("PRIVATE KEY", &x);
        assert_eq!(
            err_of(self_signed(key)),
            "error creating certificate: x509: certificate private key does not implement crypto.Signer"
        );
    }
}
