//! Go's `path` functions (`base`, `dir`, `clean`, `ext`, `isAbs`) and their
//! `filepath` twins (`osBase`, …), identical on Linux.

use super::{arg_str, spec};
use crate::godata::value::Value;
use crate::render::funcs::{FuncResult, FuncSpec, GoType as T};

const S: T = T::String;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("base", &[S], None, |a| s1(a, base)),
    spec("dir", &[S], None, |a| s1(a, dir)),
    spec("clean", &[S], None, |a| s1(a, clean)),
    spec("ext", &[S], None, |a| s1(a, ext)),
    spec("isAbs", &[S], None, |a| {
        Ok(Value::Bool(arg_str(a, 0)?.starts_with('/')))
    }),
    spec("osBase", &[S], None, |a| s1(a, base)),
    spec("osDir", &[S], None, |a| s1(a, dir)),
    spec("osClean", &[S], None, |a| s1(a, clean)),
    spec("osExt", &[S], None, |a| s1(a, ext)),
    spec("osIsAbs", &[S], None, |a| {
        Ok(Value::Bool(arg_str(a, 0)?.starts_with('/')))
    }),
];

fn s1(args: &[Value], f: fn(&str) -> String) -> FuncResult {
    Ok(Value::str(f(arg_str(args, 0)?)))
}

/// `path.Base`.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// `path.Dir`.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// `path.Ext`.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

/// `path.Clean`: lexical shortening (`.`/`..`/double slashes).
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_semantics() {
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base(""), ".");
        assert_eq!(base("///"), "/");
        assert_eq!(dir("/a/b/c"), "/a/b");
        assert_eq!(dir("abc"), ".");
        assert_eq!(clean("a/../../b/./c//"), "../b/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }
}
