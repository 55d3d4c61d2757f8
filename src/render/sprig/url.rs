//! `urlParse` and `urlJoin`: Go's `net/url` parsing into Sprig's dict
//! (`scheme`, `host`, `hostname`, `path`, `query`, `opaque`, `fragment`,
//! `userinfo`) and `URL.String()` back, with Go's escaping rules.

use super::{arg_str, spec};
use crate::godata::value::{Map, Value};
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("urlParse", &[T::String], None, url_parse),
    spec("urlJoin", &[T::Map], None, url_join),
];

#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<String>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn url_parse(args: &[Value]) -> FuncResult {
    let raw = arg_str(args, 0)?;
    let u = parse(raw).map_err(|e| FuncError::new(format!("unable to parse url: {e}")))?;
    let mut m = Map::new();
    let hostname = hostname(&u.host);
    m.insert("scheme".into(), Value::str(u.scheme));
    m.insert("host".into(), Value::str(u.host));
    m.insert("hostname".into(), Value::str(hostname));
    m.insert("path".into(), Value::str(u.path));
    m.insert("query".into(), Value::str(u.raw_query));
    m.insert("opaque".into(), Value::str(u.opaque));
    m.insert("fragment".into(), Value::str(u.fragment));
    m.insert("userinfo".into(), Value::str(u.user.unwrap_or_default()));
    Ok(Value::map(m))
}

fn url_join(args: &[Value]) -> FuncResult {
    let d = args
        .first()
        .and_then(Value::as_map)
        .ok_or_else(|| FuncError::new("internal error: urlJoin needs a map"))?;
    let d = d.borrow();
    let get = |key: &str| -> Result<String, FuncError> {
        match d.get(key) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(Value::Nil) => Err(FuncError::new(super::NIL_DEREF)),
            Some(other) => Err(FuncError::new(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                super::kind_name(other)
            ))),
        }
    };
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        user: None,
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let tmp = parse(&format!("proto://{userinfo}@host"))
            .map_err(|e| FuncError::new(format!("unable to parse userinfo in dict: {e}")))?;
        u.user = tmp.user;
    }
    Ok(Value::str(to_string(&u)))
}

fn hostname(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|c| c.is_ascii_digit()) => host[..i].to_string(),
        _ => host.to_string(),
    }
}

/// Go's `url.Parse` (simplified to what templates reach).
fn parse(raw: &str) -> Result<Url, String> {
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    let mut u = parse_no_fragment(raw, rest)?;
    if let Some(f) = frag {
        u.fragment = unescape(f).map_err(|e| format!("parse {:?}: {e}", raw))?;
    }
    Ok(u)
}

fn parse_no_fragment(full: &str, raw: &str) -> Result<Url, String> {
    if raw.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err(format!(
            "parse {}: net/url: invalid control character in URL",
            crate::godata::gofmt::quote(full)
        ));
    }
    let mut u = Url::default();
    let mut rest = raw;
    if let Some(i) = raw.find(':') {
        let candidate = &raw[..i];
        let valid = candidate.bytes().enumerate().all(|(j, c)| {
            c.is_ascii_alphabetic()
                || (j > 0 && (c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.')))
        });
        if i == 0 {
            return Err(format!(
                "parse {}: missing protocol scheme",
                crate::godata::gofmt::quote(full)
            ));
        }
        if valid {
            u.scheme = candidate.to_ascii_lowercase();
            rest = &raw[i + 1..];
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if rest.starts_with("//") && !(u.scheme.is_empty() && rest.starts_with("///")) {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        match authority.rfind('@') {
            Some(i) => {
                u.user = Some(authority[..i].to_string());
                u.host = authority[i + 1..].to_string();
            }
            None => u.host = authority.to_string(),
        }
        rest = path;
    }
    u.path =
        unescape(rest).map_err(|e| format!("parse {}: {e}", crate::godata::gofmt::quote(full)))?;
    Ok(u)
}

fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            match hex {
                Some(h) => {
                    out.push(u8::from_str_radix(h, 16).map_err(|e| e.to_string())?);
                    i += 3;
                    continue;
                }
                None => {
                    let bad: String = s[i..].chars().take(3).collect();
                    return Err(format!(
                        "invalid URL escape {}",
                        crate::godata::gofmt::quote(&bad)
                    ));
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Fragment,
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'_' | b'.' | b'~')
            || matches!(
                c,
                b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
            )
            || (mode == Mode::Fragment && matches!(c, b'?' | b'!' | b'(' | b')' | b'*'));
        if keep {
            out.push(char::from(c));
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// Go's `URL.String()`.
fn to_string(u: &Url) -> String {
    let mut buf = String::new();
    if !u.scheme.is_empty() {
        buf.push_str(&u.scheme);
        buf.push(':');
    }
    if !u.opaque.is_empty() {
        buf.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                buf.push_str("//");
            }
            if let Some(user) = &u.user {
                buf.push_str(user);
                buf.push('@');
            }
            buf.push_str(&u.host);
        }
        let path = escape(&u.path, Mode::Path);
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            buf.push('/');
        }
        if buf.is_empty() && path.split('/').next().is_some_and(|seg| seg.contains(':')) {
            buf.push_str("./");
        }
        buf.push_str(&path);
    }
    if !u.raw_query.is_empty() {
        buf.push('?');
        buf.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        buf.push('#');
        buf.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    buf
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call, call_str, s};

    #[test]
    fn parse_and_join_round_trip() {
        let parsed = call(
            "urlParse",
            &[s("https://user:pw@example.com:8443/a%20b?x=1#frag")],
        )
        .unwrap();
        assert_eq!(
            super::super::vfmt(&parsed),
            "map[fragment:frag host:example.com:8443 hostname:example.com opaque: path:/a b query:x=1 scheme:https userinfo:user:pw]"
        );
        assert_eq!(
            call_str("urlJoin", &[parsed]),
            "https://user:pw@example.com:8443/a%20b?x=1#frag"
        );
    }
}
