//! Sprig's random and crypto functions: `randAlphaNum`, `randAlpha`,
//! `randNumeric`, `randAscii` (goutils' crypto-random strings), `randBytes`,
//! `randInt`, `uuidv4`; `bcrypt`, `htpasswd`, `derivePassword` (Master
//! Password: scrypt + HMAC-SHA256, deterministic), `encryptAES`/`decryptAES`
//! (AES-256-CBC, PKCS#7, random IV first); `genPrivateKey` (rsa 4096, ecdsa
//! P-256, ed25519; Go's PEM block types), `genCA`, `genSelfSignedCert`,
//! `genSignedCert`, their `*WithKey` forms and `buildCustomCert`, returning
//! Sprig's `certificate` struct (`.Cert`, `.Key`). Certificates follow Go's
//! template: random 128-bit serial, CN subject, SANs, key usages
//! keyEncipherment+digitalSignature (+certSign for CAs), server and client
//! auth, basic constraints. DSA keys are not supported.

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
    Ec(p256::SecretKey),
    Ed(ed25519_dalek::SigningKey),
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

/// Go's `pemBlockForKey`.
fn key_pem(key: &Key) -> Result<String, FuncError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::EncodePrivateKey;
    let err = |e: String| FuncError::new(format!("error pem-encoding key: {e}"));
    Ok(match key {
        Key::Rsa(k) => pem_encode(
            "RSA PRIVATE KEY",
            k.to_pkcs1_der().map_err(|e| err(e.to_string()))?.as_bytes(),
        ),
        Key::Ec(k) => pem_encode(
            "EC PRIVATE KEY",
            &k.to_sec1_der().map_err(|e| err(e.to_string()))?,
        ),
        Key::Ed(k) => pem_encode(
            "PRIVATE KEY",
            k.to_pkcs8_der().map_err(|e| err(e.to_string()))?.as_bytes(),
        ),
    })
}

fn pkcs8_der(key: &Key) -> Result<Vec<u8>, String> {
    use rsa::pkcs8::EncodePrivateKey;
    match key {
        Key::Rsa(k) => k
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string()),
        Key::Ec(k) => k
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string()),
        Key::Ed(k) => k
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string()),
    }
}

/// An rcgen signing key for one of our keys.
fn signing_key(key: &Key) -> Result<rcgen::KeyPair, FuncError> {
    let alg = match key {
        Key::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        Key::Ec(_) => &rcgen::PKCS_ECDSA_P256_SHA256,
        Key::Ed(_) => &rcgen::PKCS_ED25519,
    };
    let der =
        pkcs8_der(key).map_err(|e| FuncError::new(format!("error creating certificate: {e}")))?;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der);
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, alg)
        .map_err(|e| FuncError::new(format!("error creating certificate: {e}")))
}

fn gen_private_key(kind: &str) -> String {
    let mut rng = rsa::rand_core::OsRng;
    let key = match kind {
        "" | "rsa" => match rsa::RsaPrivateKey::new(&mut rng, 4096) {
            Ok(k) => Key::Rsa(k),
            Err(e) => return format!("failed to generate private key: {e}"),
        },
        "ecdsa" => Key::Ec(p256::SecretKey::random(&mut rng)),
        "ed25519" => Key::Ed(ed25519_dalek::SigningKey::generate(&mut rng)),
        "dsa" => {
            return "failed to generate dsa params: DSA keys are not supported by rudder".into();
        }
        other => return format!("Unknown type {other}"),
    };
    key_pem(&key).unwrap_or_else(|e| e.0)
}

/// Go's `parsePrivateKeyPEM`.
fn parse_private_key_pem(text: &str) -> Result<Key, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let (kind, der) = pem_decode(text).ok_or("no PEM data in input")?;
    if kind == "PRIVATE KEY" {
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            return Ok(Key::Rsa(k));
        }
        if let Ok(k) = p256::SecretKey::from_pkcs8_der(&der) {
            return Ok(Key::Ec(k));
        }
        if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_der(&der) {
            return Ok(Key::Ed(k));
        }
        return Err("decoding PEM as PKCS#8: x509: failed to parse private key".into());
    }
    let Some(prefix) = kind.strip_suffix(" PRIVATE KEY") else {
        return Err(format!("no private key data in PEM block of type {kind}"));
    };
    match prefix {
        "RSA" => rsa::RsaPrivateKey::from_pkcs1_der(&der)
            .map(Key::Rsa)
            .map_err(|e| format!("parsing RSA private key from PEM: {e}")),
        "EC" => p256::SecretKey::from_sec1_der(&der)
            .map(Key::Ec)
            .map_err(|e| format!("parsing EC private key from PEM: {e}")),
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
    let cert = p
        .self_signed(&kp)
        .map_err(|e| FuncError::new(format!("error creating certificate: {e}")))?;
    cert_value(cert.pem(), key_pem(&key)?)
}

fn gen_cert(args: &[Value], key: Key, ca: Option<Certificate>) -> FuncResult {
    let (cn, days) = (arg_str(args, 0)?, arg_int(args, 3)?);
    let p = base_params(cn, super::arg(args, 1), super::arg(args, 2), days)?;
    let kp = signing_key(&key)?;
    let cert = match ca {
        None => p.self_signed(&kp),
        Some(ca) => {
            let (kind, der) = pem_decode(&ca.cert)
                .ok_or_else(|| FuncError::new("unable to decode certificate"))?;
            if kind != "CERTIFICATE" && der.is_empty() {
                return Err(FuncError::new("unable to decode certificate"));
            }
            let ca_key = parse_private_key_pem(&ca.key)
                .map_err(|e| FuncError::new(format!("error parsing private key: {e}")))?;
            let ca_kp = signing_key(&ca_key)?;
            let der = rustls_pki_types::CertificateDer::from(der);
            let issuer = rcgen::Issuer::from_ca_cert_der(&der, ca_kp).map_err(|e| {
                FuncError::new(format!(
                    "error parsing certificate: decodedSignerCert.Bytes: {e}"
                ))
            })?;
            p.signed_by(&kp, &issuer)
        }
    }
    .map_err(|e| FuncError::new(format!("error creating certificate: {e}")))?;
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
    let der = rustls_pki_types::CertificateDer::from(der);
    let probe = signing_key(&Key::Ec(p256::SecretKey::random(
        &mut rsa::rand_core::OsRng,
    )))?;
    rcgen::Issuer::from_ca_cert_der(&der, probe).map_err(|e| {
        FuncError::new(format!("error parsing certificate: decodedCert.Bytes: {e}"))
    })?;
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
}
