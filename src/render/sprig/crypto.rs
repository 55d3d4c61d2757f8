//! Sprig's random functions: `randAlphaNum`, `randAlpha`, `randNumeric`,
//! `randAscii` (goutils' crypto-random strings), `randBytes` (base64 of
//! random bytes), `randInt`, `uuidv4`. Certificate and key generation
//! (`genCA`, `genPrivateKey`, …), `bcrypt`, `htpasswd`, `derivePassword`
//! and `encryptAES` are not implemented yet: templates calling them fail with
//! the engine's `function "NAME" not defined` error.

use super::encoding::b64_encode;
use super::{arg_int, spec};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use crate::render::value::Value;
use rand::Rng;

const I: T = T::Int;
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
}
