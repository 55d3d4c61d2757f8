//! Encodings and hashes: `b64enc`/`b64dec`, `b32enc`/`b32dec` (Go's
//! standard encodings; decoding errors come back as the result text, with
//! Go's `illegal base64 data at input byte N` offsets), `sha1sum`,
//! `sha256sum`, `sha512sum`, `adler32sum`.

use super::{arg_str, spec};
use crate::godata::value::Value;
use crate::render::funcs::{FuncResult, FuncSpec, GoType as T};
use sha2::Digest;

const S: T = T::String;
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("b64enc", &[S], None, |a| {
        Ok(Value::str(b64_encode(arg_str(a, 0)?.as_bytes())))
    }),
    spec("b64dec", &[S], None, |a| {
        Ok(Value::str(decoded_or_error(
            b64_decode(arg_str(a, 0)?),
            "base64",
        )))
    }),
    spec("b32enc", &[S], None, |a| {
        Ok(Value::str(b32_encode(arg_str(a, 0)?.as_bytes())))
    }),
    spec("b32dec", &[S], None, |a| {
        Ok(Value::str(decoded_or_error(
            b32_decode(arg_str(a, 0)?),
            "base32",
        )))
    }),
    spec("sha1sum", &[S], None, |a| {
        hashed(a, |b| sha1::Sha1::digest(b).to_vec())
    }),
    spec("sha256sum", &[S], None, |a| {
        hashed(a, |b| sha2::Sha256::digest(b).to_vec())
    }),
    spec("sha512sum", &[S], None, |a| {
        hashed(a, |b| sha2::Sha512::digest(b).to_vec())
    }),
    spec("adler32sum", &[S], None, |a| {
        Ok(Value::str(adler32(arg_str(a, 0)?.as_bytes()).to_string()))
    }),
];

fn hashed(args: &[Value], f: impl Fn(&[u8]) -> Vec<u8>) -> FuncResult {
    Ok(Value::str(hex(&f(arg_str(args, 0)?.as_bytes()))))
}

/// Lower-case hex, as Go's `hex.EncodeToString`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn decoded_or_error(r: Result<Vec<u8>, usize>, kind: &str) -> String {
    match r {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(at) => format!("illegal {kind} data at input byte {at}"),
    }
}

/// `base64.StdEncoding.EncodeToString`.
pub(crate) fn b64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(char::from(B64[((v >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_value(c: u8) -> Option<u8> {
    B64.iter().position(|&x| x == c).map(|p| p as u8)
}

/// `base64.StdEncoding.DecodeString`; `Err(offset)` as Go's CorruptInputError.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src = s.as_bytes();
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0usize;
    while si < src.len() {
        let mut dbuf = [0u8; 4];
        let mut dlen = 4;
        let mut j = 0usize;
        let mut trailing_err = None;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                trailing_err = Some(si);
            }
            dlen = j;
            break;
        }
        let val = (u32::from(dbuf[0]) << 18)
            | (u32::from(dbuf[1]) << 12)
            | (u32::from(dbuf[2]) << 6)
            | u32::from(dbuf[3]);
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if let Some(at) = trailing_err {
            return Err(at);
        }
    }
    Ok(out)
}

/// `base32.StdEncoding.EncodeToString`.
pub(crate) fn b32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(char::from(B32[((v >> (35 - 5 * i)) & 31) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `base32.StdEncoding.DecodeString` (newlines stripped first).
pub(crate) fn b32_decode(s: &str) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = s.bytes().filter(|&c| c != b'\n' && c != b'\r').collect();
    let olen = src.len();
    let mut rest: &[u8] = &src;
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut dbuf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0usize;
        while j < 8 {
            if rest.is_empty() {
                return Err(olen - rest.len() - j);
            }
            let c = rest[0];
            rest = &rest[1..];
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - rest.len() - 1);
                }
                break;
            }
            match B32.iter().position(|&x| x == c) {
                Some(v) => dbuf[j] = v as u8,
                None => return Err(olen - rest.len() - 1),
            }
            j += 1;
        }
        let v = dbuf.iter().fold(0u64, |acc, &b| (acc << 5) | u64::from(b));
        let bytes = [
            (v >> 32) as u8,
            (v >> 24) as u8,
            (v >> 16) as u8,
            (v >> 8) as u8,
            v as u8,
        ];
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..n]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};

    #[test]
    fn encodings_and_hashes() {
        // Expected values from helm v4.1.4.
        assert_eq!(
            call_str("sha256sum", &[s("x")]),
            "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
        );
        assert_eq!(call_str("b64enc", &[s("hello")]), "aGVsbG8=");
        assert_eq!(call_str("b64dec", &[s("aGVsbG8=")]), "hello");
        assert_eq!(
            call_str("b64dec", &[s("aGVsbG8")]),
            "illegal base64 data at input byte 4"
        );
        assert_eq!(call_str("b32enc", &[s("hello")]), "NBSWY3DP");
        assert_eq!(call_str("b32dec", &[s("NBSWY3DP")]), "hello");
        assert_eq!(call_str("adler32sum", &[s("hello")]), "103547413");
    }
}
