//! The little DER that Sprig's key formats need: writing PKCS#1/SEC 1/PKCS#8
//! and Sprig's DSA structure as Go's `encoding/asn1` marshals them, and
//! reading them with its leniencies (bytes after a value, and after the last
//! field a structure declares, are ignored) and its error texts.

pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const OID: u8 = 0x06;
pub(super) const SEQUENCE: u8 = 0x30;
/// `[0] EXPLICIT` and `[1] EXPLICIT` (context-specific, constructed).
pub(super) const CONTEXT_0: u8 = 0xa0;
pub(super) const CONTEXT_1: u8 = 0xa1;

/// One element: tag, DER length, content.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let len = n.to_be_bytes();
        let skip = len.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (len.len() - skip) as u8);
        out.extend_from_slice(&len[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SEQUENCE of already-encoded elements.
pub(super) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

/// The content of a DER INTEGER holding the unsigned big-endian `magnitude`:
/// minimal, with a zero byte in front when the top bit is set.
pub(super) fn uint_content(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let digits = &magnitude[skip..];
    let mut out = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// A small non-negative INTEGER.
pub(super) fn small_int(v: u8) -> Vec<u8> {
    tlv(INTEGER, &uint_content(&[v]))
}

/// Go's `ObjectIdentifier.String()` of an OID's content bytes.
pub(super) fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in content {
        acc = acc.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Reads elements one after another; the errors are `encoding/asn1`'s.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

/// An element cut short.
const TRUNCATED: &str = "asn1: syntax error: data truncated";
/// No element where a field was due.
const SEQUENCE_TRUNCATED: &str = "asn1: syntax error: sequence truncated";

impl<'a> Reader<'a> {
    pub(super) fn new(der: &'a [u8]) -> Self {
        Reader { rest: der }
    }

    /// The content of the single SEQUENCE `der` starts with, as a reader of
    /// its fields.
    pub(super) fn sequence_in(der: &'a [u8]) -> Result<Self, String> {
        Reader::new(der).expect(SEQUENCE).map(Reader::new)
    }

    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element: (tag, content, the whole encoding).
    fn element(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), String> {
        let all = self.rest;
        let (&tag, after_tag) = all.split_first().ok_or(TRUNCATED)?;
        if tag & 0x1f == 0x1f {
            return Err("asn1: structure error: tags don't match".into());
        }
        let (&first, mut after_len) = after_tag.split_first().ok_or(TRUNCATED)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err("asn1: syntax error: indefinite length found (not DER)".into());
            }
            if count > 4 || after_len.len() < count {
                return Err(if count > 4 {
                    "asn1: structure error: length too large".into()
                } else {
                    TRUNCATED.into()
                });
            }
            let (bytes, tail) = after_len.split_at(count);
            after_len = tail;
            if bytes[0] == 0 {
                return Err("asn1: structure error: superfluous leading zeros in length".into());
            }
            let len = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
            if len < 0x80 {
                return Err("asn1: structure error: non-minimal length".into());
            }
            len
        };
        if after_len.len() < len {
            return Err(TRUNCATED.into());
        }
        let header = all.len() - after_len.len();
        let (content, rest) = after_len.split_at(len);
        self.rest = rest;
        Ok((tag, content, &all[..header + len]))
    }

    /// The content of the next element, which must have `tag`.
    pub(super) fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
        match self.peek() {
            None => Err(SEQUENCE_TRUNCATED.into()),
            Some(t) if t != tag => Err("asn1: structure error: tags don't match".into()),
            Some(_) => self.element().map(|(_, content, _)| content),
        }
    }

    /// The content of the next element if it has `tag` (an optional field).
    pub(super) fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
        if self.peek() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The whole encoding of the next element, whatever it is, if any (an
    /// optional `asn1.RawValue`).
    pub(super) fn optional_any(&mut self) -> Result<&'a [u8], String> {
        if self.rest.is_empty() {
            return Ok(&[]);
        }
        self.element().map(|(_, _, all)| all)
    }

    /// An INTEGER's content, checked as Go checks it (non-empty, minimal).
    pub(super) fn big_int(&mut self) -> Result<&'a [u8], String> {
        let content = self.expect(INTEGER)?;
        match content {
            [] => Err("asn1: syntax error: empty integer".into()),
            [0x00, next, ..] if next & 0x80 == 0 => {
                Err("asn1: structure error: integer not minimally-encoded".into())
            }
            [0xff, next, ..] if next & 0x80 != 0 => {
                Err("asn1: structure error: integer not minimally-encoded".into())
            }
            _ => Ok(content),
        }
    }

    /// An INTEGER that must fit Go's `int`.
    pub(super) fn int(&mut self) -> Result<i64, String> {
        let content = self.big_int()?;
        if content.len() > 8 {
            return Err("asn1: structure error: integer too large".into());
        }
        let negative = content[0] & 0x80 != 0;
        let init: i64 = if negative { -1 } else { 0 };
        Ok(content.iter().fold(init, |n, &b| (n << 8) | i64::from(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_lengths_round_trip() {
        assert_eq!(uint_content(&[]), [0]);
        assert_eq!(uint_content(&[0, 0, 0x7f]), [0x7f]);
        assert_eq!(uint_content(&[0x80]), [0, 0x80]);
        let long = tlv(OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], [0x04, 0x82, 0x01, 0x2c]);
        let seq = sequence(&[&small_int(1), &tlv(INTEGER, &[0xff, 0x7f]), &long]);
        let mut r = Reader::sequence_in(&seq).unwrap();
        assert_eq!(r.int(), Ok(1));
        assert_eq!(r.int(), Ok(-129));
        assert_eq!(r.expect(OCTET_STRING).unwrap().len(), 300);
        assert_eq!(r.optional(CONTEXT_0), Ok(None));
        assert_eq!(r.int().unwrap_err(), SEQUENCE_TRUNCATED);
    }

    #[test]
    fn go_rejections() {
        let r = |b: &[u8]| Reader::new(b).big_int().map(<[u8]>::to_vec);
        assert!(r(&[0x02, 0x00]).unwrap_err().contains("empty integer"));
        assert!(
            r(&[0x02, 0x02, 0x00, 0x01])
                .unwrap_err()
                .contains("minimally")
        );
        assert!(r(&[0x02, 0x80]).unwrap_err().contains("indefinite"));
        assert!(
            r(&[0x02, 0x81, 0x01, 0x05])
                .unwrap_err()
                .contains("non-minimal")
        );
        assert_eq!(r(&[0x02, 0x02, 0x01]).unwrap_err(), TRUNCATED);
        assert!(
            r(&[0x04, 0x01, 0x01])
                .unwrap_err()
                .contains("tags don't match")
        );
    }

    #[test]
    fn oids_print_as_go_prints_them() {
        assert_eq!(oid_string(&[0x2b, 0x65, 0x71]), "1.3.101.113");
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
            "1.2.840.10045.3.1.7"
        );
    }
}
