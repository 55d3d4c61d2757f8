//! Sprig's regex functions over Go's RE2 `regexp`: patterns are translated
//! to the `regex` crate (Go's `\d`, `\w`, `\s`, `\b` are ASCII-only), match
//! iteration and replacement follow Go's `allMatches`/`replaceAll` rules for
//! empty matches, `$1`/`${name}` expansion is Go's `Expand`, and `QuoteMeta`
//! escapes exactly Go's set. Compile errors are worded as Go's where the
//! cause is recognisable.
//!
//! Most patterns compile with `regex-lite` ([`GoRegex::Lite`]): tens of
//! microseconds instead of hundreds for `regex`'s Unicode automata, which a
//! one-shot render pays for every distinct pattern. Patterns that need
//! Unicode tables (`\p{..}` classes, case folding) use `regex`.

use super::{arg_int, arg_str, spec, strings_of};
use crate::godata::gofmt;
use crate::godata::value::Value;
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};

const S: T = T::String;
const I: T = T::Int;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("regexMatch", &[S, S], None, |a| {
        Ok(Value::Bool(
            compile(arg_str(a, 0)?).is_ok_and(|re| re.is_match(arg_str(a, 1).unwrap_or(""))),
        ))
    }),
    spec("mustRegexMatch", &[S, S], None, |a| {
        Ok(Value::Bool(
            compile(arg_str(a, 0)?)?.is_match(arg_str(a, 1)?),
        ))
    }),
    spec("regexFindAll", &[S, S, I], None, |a| find_all(a, true)),
    spec("mustRegexFindAll", &[S, S, I], None, |a| find_all(a, false)),
    spec("regexFind", &[S, S], None, |a| find(a, true)),
    spec("mustRegexFind", &[S, S], None, |a| find(a, false)),
    spec("regexReplaceAll", &[S, S, S], None, |a| {
        replace(a, true, false)
    }),
    spec("mustRegexReplaceAll", &[S, S, S], None, |a| {
        replace(a, false, false)
    }),
    spec("regexReplaceAllLiteral", &[S, S, S], None, |a| {
        replace(a, true, true)
    }),
    spec("mustRegexReplaceAllLiteral", &[S, S, S], None, |a| {
        replace(a, false, true)
    }),
    spec("regexSplit", &[S, S, I], None, |a| split(a, true)),
    spec("mustRegexSplit", &[S, S, I], None, |a| split(a, false)),
    spec("regexQuoteMeta", &[S], None, |a| {
        Ok(Value::str(quote_meta(arg_str(a, 0)?)))
    }),
];

/// Compiles with `MustCompile`'s panic text when `must_panic`, else the
/// plain `Compile` error.
fn compile_for(expr: &str, must_panic: bool) -> Result<GoRegex, FuncError> {
    compile(expr).map_err(|e| {
        if must_panic {
            let quoted = if can_backquote(expr) {
                format!("`{expr}`")
            } else {
                gofmt::quote(expr)
            };
            FuncError::new(format!("regexp: Compile({quoted}): {e}"))
        } else {
            e
        }
    })
}

fn can_backquote(s: &str) -> bool {
    !s.chars()
        .any(|c| c == '`' || c == '\u{FEFF}' || (c.is_control() && c != '\t'))
}

/// How many compiled patterns [`compile`] keeps per thread. Charts use a
/// handful of distinct patterns, each called once per rendered object;
/// compiling one (building its DFA) costs far more than matching it.
const CACHE_CAPACITY: usize = 64;

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, Result<GoRegex, FuncError>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Go's `regexp.Compile`, cached per thread by pattern (the cache is
/// emptied when full, so it stays bounded whatever the templates do).
pub(crate) fn compile(expr: &str) -> Result<GoRegex, FuncError> {
    if let Some(hit) = CACHE.with(|c| c.borrow().get(expr).cloned()) {
        return hit;
    }
    let compiled = compile_uncached(expr);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_CAPACITY {
            c.clear();
        }
        c.insert(expr.to_string(), compiled.clone());
    });
    compiled
}

fn compile_uncached(expr: &str) -> Result<GoRegex, FuncError> {
    if let Some(err) = go_syntax_error(expr) {
        return Err(FuncError::new(format!("error parsing regexp: {err}")));
    }
    let translated = translate(expr);
    if lite_suffices(expr)
        && let Ok(re) = regex_lite::Regex::new(&translated)
    {
        return Ok(GoRegex::Lite(re));
    }
    regex::Regex::new(&translated)
        .map(GoRegex::Full)
        .map_err(|e| {
            let msg = e.to_string();
            let last = msg
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("invalid expression");
            FuncError::new(format!(
                "error parsing regexp: {}: `{expr}`",
                last.trim_start_matches("error: ")
            ))
        })
}

/// Whether `regex-lite` matches `expr` as Go does: it knows no Unicode
/// classes and folds case in ASCII only, while Go's `(?i)` folds Unicode
/// (`k` matches the Kelvin sign). Anything else it supports as `regex` does.
fn lite_suffices(expr: &str) -> bool {
    let unicode_class = expr.contains("\\p") || expr.contains("\\P");
    let case_fold = expr.match_indices("(?").any(|(i, _)| {
        expr[i + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
            .any(|c| c == 'i')
    });
    !unicode_class && !case_fold
}

/// A compiled pattern (see the module documentation for why two engines).
#[derive(Clone, Debug)]
pub(crate) enum GoRegex {
    Lite(regex_lite::Regex),
    Full(regex::Regex),
}

/// The byte spans of one match's groups (group 0 is the whole match).
type Groups = Vec<Option<(usize, usize)>>;

/// The span of the whole match.
fn whole(caps: &Groups) -> Option<(usize, usize)> {
    caps.first().copied().flatten()
}

impl GoRegex {
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match self {
            GoRegex::Lite(re) => re.is_match(s),
            GoRegex::Full(re) => re.is_match(s),
        }
    }

    /// The leftmost-first match starting the search at byte `start`.
    fn captures_at(&self, s: &str, start: usize) -> Option<Groups> {
        match self {
            GoRegex::Lite(re) => re
                .captures_at(s, start)
                .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()),
            GoRegex::Full(re) => re
                .captures_at(s, start)
                .map(|c| c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()),
        }
    }

    /// The span of the leftmost-first match.
    fn find(&self, s: &str) -> Option<(usize, usize)> {
        match self {
            GoRegex::Lite(re) => re.find(s).map(|m| (m.start(), m.end())),
            GoRegex::Full(re) => re.find(s).map(|m| (m.start(), m.end())),
        }
    }

    /// The index of the group called `name`.
    fn group_index(&self, name: &str) -> Option<usize> {
        match self {
            GoRegex::Lite(re) => re.capture_names().position(|n| n == Some(name)),
            GoRegex::Full(re) => re.capture_names().position(|n| n == Some(name)),
        }
    }
}

/// The Go error for the common syntax mistakes (`missing closing )`, …).
fn go_syntax_error(expr: &str) -> Option<String> {
    let b: Vec<char> = expr.chars().collect();
    let mut depth = 0i32;
    let mut i = 0;
    let mut prev_repeat = false;
    let mut at_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            '\\' => {
                if i + 1 >= b.len() {
                    return Some("trailing backslash at end of expression: ``".into());
                }
                let n = b[i + 1];
                if n.is_ascii_alphanumeric() && !"afntrvxpPdDsSwWbBAzQE0".contains(n) {
                    return Some(format!("invalid escape sequence: `\\{n}`"));
                }
                i += 2;
                prev_repeat = false;
                at_start = false;
                continue;
            }
            '[' => {
                let start = i;
                i += 1;
                if i < b.len() && b[i] == '^' {
                    i += 1;
                }
                if i < b.len() && b[i] == ']' {
                    i += 1;
                }
                let mut closed = false;
                while i < b.len() {
                    if b[i] == '\\' {
                        i += 2;
                        continue;
                    }
                    let posix_end = (b[i] == '[' && i + 1 < b.len() && b[i + 1] == ':')
                        .then(|| {
                            (i + 2..b.len().saturating_sub(1))
                                .find(|&j| b[j] == ':' && b[j + 1] == ']')
                        })
                        .flatten();
                    if let Some(end) = posix_end {
                        i = end + 2;
                        continue;
                    }
                    if b[i] == ']' {
                        closed = true;
                        break;
                    }
                    if let [lo, '-', hi, ..] = b[i..]
                        && hi != ']'
                        && hi != '\\'
                        && lo > hi
                    {
                        return Some(format!("invalid character class range: `{lo}-{hi}`"));
                    }
                    i += 1;
                }
                if !closed {
                    let frag: String = b[start..].iter().collect();
                    return Some(format!("missing closing ]: `{frag}`"));
                }
                prev_repeat = false;
                at_start = false;
            }
            '(' => {
                depth += 1;
                at_start = true;
                prev_repeat = false;
                if i + 1 < b.len() && b[i + 1] == '?' {
                    // flags or named group: skip to ':' or ')' or '>'
                    i += 1;
                }
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Some(format!("unexpected ): `{expr}`"));
                }
                prev_repeat = false;
                at_start = false;
            }
            '|' => {
                at_start = true;
                prev_repeat = false;
            }
            '*' | '+' | '?' => {
                if at_start {
                    return Some(format!("missing argument to repetition operator: `{c}`"));
                }
                if prev_repeat {
                    let frag: String = b[i - 1..=i].iter().collect();
                    if c != '?' {
                        return Some(format!("invalid nested repetition operator: `{frag}`"));
                    }
                    prev_repeat = false;
                    i += 1;
                    continue;
                }
                prev_repeat = true;
            }
            _ => {
                prev_repeat = false;
                at_start = false;
            }
        }
        i += 1;
    }
    if depth > 0 {
        return Some(format!("missing closing ): `{expr}`"));
    }
    None
}

/// Rewrites Go's ASCII-only Perl classes and `\b` for the `regex` crate.
/// In RE2 a `-` right after a class escape inside `[...]` (`[\\w-.]`) is a
/// literal; after expanding the escape it would start a range, so escape it.
fn escape_dash_after_class(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    if chars.peek() == Some(&'-') {
        chars.next();
        out.push_str("\\-");
    }
}

fn translate(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len() + 16);
    let mut chars = expr.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(n) = chars.next() else {
                out.push('\\');
                break;
            };
            let ascii = match n {
                'd' => Some(("0-9", false)),
                'D' => Some(("0-9", true)),
                'w' => Some(("0-9A-Za-z_", false)),
                'W' => Some(("0-9A-Za-z_", true)),
                's' => Some(("\\t\\n\\x0C\\r ", false)),
                'S' => Some(("\\t\\n\\x0C\\r ", true)),
                _ => None,
            };
            match (ascii, in_class) {
                (Some((set, false)), true) => {
                    out.push_str(set);
                    escape_dash_after_class(&mut chars, &mut out);
                }
                (Some((set, true)), true) => {
                    out.push_str("[^");
                    out.push_str(set);
                    out.push(']');
                    escape_dash_after_class(&mut chars, &mut out);
                }
                (Some((set, neg)), false) => {
                    out.push('[');
                    if neg {
                        out.push('^');
                    }
                    out.push_str(set);
                    out.push(']');
                }
                (None, false) if n == 'b' || n == 'B' => {
                    out.push_str("(?-u:\\");
                    out.push(n);
                    out.push(')');
                }
                _ => {
                    out.push('\\');
                    out.push(n);
                    if matches!(n, 'p' | 'P') && chars.peek() == Some(&'{') {
                        // `\p{Greek}`: the braces name the class.
                        for d in chars.by_ref() {
                            out.push(d);
                            if d == '}' {
                                break;
                            }
                        }
                    }
                }
            }
            class_start = false;
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
            } else if c == '[' && chars.peek() == Some(&':') {
                // POSIX class [:alpha:]: copy through its closing ":]".
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
                class_start = false;
                continue;
            } else if c == '[' {
                // A literal '[' inside a Go class; the regex crate would nest.
                out.push_str("\\[");
                class_start = false;
                continue;
            } else if c == '^' && class_start {
                out.push(c);
                continue;
            } else if matches!(c, '&' | '~' | '-') && chars.peek() == Some(&c) {
                // Go has no set operations: `&&`, `~~`, `--` are literals.
                out.push('\\');
                out.push(c);
                class_start = false;
                continue;
            }
            class_start = false;
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
        }
        match c {
            // Go reads `{` that does not start `{n}`, `{n,}` or `{n,m}` (and
            // any `}` outside one) as a literal; both Rust engines reject it.
            '{' => match repeat_body(chars.clone()) {
                Some(len) => {
                    out.push('{');
                    out.extend(chars.by_ref().take(len));
                }
                None => out.push_str("\\{"),
            },
            '}' => out.push_str("\\}"),
            _ => out.push(c),
        }
    }
    out
}

/// The length in characters of `n}`, `n,}` or `n,m}` at the start of
/// `rest` (what follows a `{`), if it is a repetition.
fn repeat_body(rest: impl Iterator<Item = char>) -> Option<usize> {
    let mut len = 0;
    let (mut digits, mut comma) = (0, false);
    for c in rest {
        len += 1;
        match c {
            '0'..='9' => digits += 1,
            ',' if !comma && digits > 0 => comma = true,
            '}' if digits > 0 => return Some(len),
            _ => return None,
        }
    }
    None
}

/// Go's `regexp.QuoteMeta`.
pub(crate) fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's `allMatches`: successive matches, ignoring an empty match right
/// after a previous match; at most `n` when `n >= 0`.
fn all_matches(re: &GoRegex, s: &str, n: i64) -> Vec<Groups> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while (n < 0 || (out.len() as i64) < n) && pos <= s.len() {
        let Some(caps) = re.captures_at(s, pos) else {
            break;
        };
        let m = whole(&caps).unwrap_or((pos, pos));
        let mut accept = true;
        if m.1 == pos {
            if Some(m.0) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.1;
        }
        prev_end = Some(m.1);
        if accept {
            out.push(caps);
        }
    }
    out
}

fn find_all(args: &[Value], must_panic: bool) -> FuncResult {
    let re = compile_for(arg_str(args, 0)?, must_panic)?;
    let (s, n) = (arg_str(args, 1)?, arg_int(args, 2)?);
    if n == 0 {
        return strings_of(Vec::new());
    }
    let found = all_matches(&re, s, n)
        .iter()
        .filter_map(whole)
        .map(|(a, b)| s[a..b].to_string())
        .collect();
    strings_of(found)
}

fn find(args: &[Value], must_panic: bool) -> FuncResult {
    let re = compile_for(arg_str(args, 0)?, must_panic)?;
    let s = arg_str(args, 1)?;
    Ok(Value::str(re.find(s).map_or("", |(a, b)| &s[a..b])))
}

fn replace(args: &[Value], must_panic: bool, literal: bool) -> FuncResult {
    let re = compile_for(arg_str(args, 0)?, must_panic)?;
    let (src, repl) = (arg_str(args, 1)?, arg_str(args, 2)?);
    Ok(Value::str(replace_all(&re, src, repl, literal)))
}

/// Go's `replaceAll`.
fn replace_all(re: &GoRegex, src: &str, repl: &str, literal: bool) -> String {
    let mut out = String::with_capacity(src.len());
    let mut last_end = 0usize;
    let mut search = 0usize;
    while search <= src.len() {
        let Some(caps) = re.captures_at(src, search) else {
            break;
        };
        let Some((start, end)) = whole(&caps) else {
            break;
        };
        out.push_str(&src[last_end..start]);
        if end > last_end || start == 0 {
            if literal {
                out.push_str(repl);
            } else {
                expand(re, src, &caps, repl, &mut out);
            }
        }
        last_end = end;
        let width = src[search..].chars().next().map_or(0, char::len_utf8);
        if search + width > end {
            search += width;
        } else if search + 1 > end {
            search += 1;
        } else {
            search = end;
        }
    }
    out.push_str(&src[last_end.min(src.len())..]);
    out
}

/// Go's `Regexp.Expand`: `$name`, `${name}`, `$$`; a bad `$` stays literal.
fn expand(re: &GoRegex, src: &str, caps: &Groups, template: &str, out: &mut String) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.len() > 1 && rest.as_bytes()[1] == b'$' {
            out.push('$');
            rest = &rest[2..];
            continue;
        }
        match extract_name(rest) {
            Some((name, after)) => {
                let index = match name.parse::<usize>() {
                    Ok(num) if name.bytes().all(|c| c.is_ascii_digit()) => Some(num),
                    _ => re.group_index(name),
                };
                if let Some((a, b)) = index.and_then(|i| caps.get(i).copied().flatten()) {
                    out.push_str(&src[a..b]);
                }
                rest = after;
            }
            None => {
                out.push('$');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// Go's `extract`: the name after `$` (letters, digits, `_`), braced or not.
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let body = &s[1..];
    let (inner, braced) = match body.strip_prefix('{') {
        Some(b) => (b, true),
        None => (body, false),
    };
    let len = inner
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(inner.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let name = &inner[..len];
    if braced {
        let after = inner[len..].strip_prefix('}')?;
        Some((name, after))
    } else {
        Some((name, &inner[len..]))
    }
}

fn split(args: &[Value], must_panic: bool) -> FuncResult {
    let expr = arg_str(args, 0)?;
    let re = compile_for(expr, must_panic)?;
    let (s, n) = (arg_str(args, 1)?, arg_int(args, 2)?);
    if n == 0 {
        return strings_of(Vec::new());
    }
    if !expr.is_empty() && s.is_empty() {
        return strings_of(vec![String::new()]);
    }
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for caps in all_matches(&re, s, n) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        let Some((start, stop)) = whole(&caps) else {
            continue;
        };
        end = start;
        if stop != 0 {
            parts.push(s[beg..end].to_string());
        }
        beg = stop;
    }
    if end != s.len() {
        parts.push(s[beg..].to_string());
    }
    strings_of(parts)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};
    use super::*;

    #[test]
    fn go_regexp_behaviour() {
        assert_eq!(
            call_str("regexReplaceAll", &[s("a*"), s("baaac"), s("X")]),
            "XbXcX"
        );
        assert_eq!(
            call_str(
                "regexReplaceAll",
                &[s("a(x*)b"), s("-ab-axxb-"), s("${1}W")]
            ),
            "-W-xxW-"
        );
        assert_eq!(
            call_str("regexReplaceAll", &[s("a(x*)b"), s("-ab-axxb-"), s("$1W")]),
            "---"
        );
        assert_eq!(
            call_str(
                "regexReplaceAllLiteral",
                &[s("a(x*)b"), s("-ab-axxb-"), s("$1")]
            ),
            "-$1-$1-"
        );
        assert_eq!(
            call_str("regexFindAll", &[s("a."), s("paranormal"), Value::Int(-1)]),
            "[ar an al]"
        );
        assert_eq!(
            call_str("regexFindAll", &[s("a."), s("paranormal"), Value::Int(2)]),
            "[ar an]"
        );
        assert_eq!(
            call_str("regexSplit", &[s("z+"), s("pizza"), Value::Int(-1)]),
            "[pi a]"
        );
        assert_eq!(
            call_str("regexSplit", &[s(""), s("abc"), Value::Int(-1)]),
            "[a b c]"
        );
        assert_eq!(call_str("regexMatch", &[s("^\\d+$"), s("١٢")]), "false");
        assert_eq!(call_str("regexQuoteMeta", &[s("1.2.3-a#")]), "1\\.2\\.3-a#");
        assert_eq!(
            call_str("mustRegexFind", &[s("(a"), s("x")]),
            "ERR: error parsing regexp: missing closing ): `(a`"
        );
        assert_eq!(
            call_str("regexFind", &[s("(a"), s("x")]),
            "ERR: regexp: Compile(`(a`): error parsing regexp: missing closing ): `(a`"
        );
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;

    #[test]
    fn unicode_tables_and_case_folding_use_the_full_engine() {
        for p in [
            "\\pL",
            "\\P{Greek}",
            "(?i)k",
            "a(?i:b)",
            "(?mi)x",
            "[\\p{Lu}]",
        ] {
            assert!(matches!(compile(p), Ok(GoRegex::Full(_))), "{p}");
        }
        for p in [
            "[^}]*",
            "(?P<digit>\\d)",
            "(?s)a.b",
            "\\bx",
            "-r\\d+$|sha256:",
            "x{2,3}",
        ] {
            assert!(matches!(compile(p), Ok(GoRegex::Lite(_))), "{p}");
        }
    }

    #[test]
    fn brace_outside_a_repetition_is_literal() {
        assert_eq!(translate("{(v[0-9])*}}$"), "\\{(v[0-9])*\\}\\}$");
        assert_eq!(translate("a{2,}b{,3}c{1,2}"), "a{2,}b\\{,3\\}c{1,2}");
        assert_eq!(translate("\\p{Greek}{2}"), "\\p{Greek}{2}");
    }
}
