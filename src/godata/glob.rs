//! Go's path patterns: `path/filepath.Match` (what `.helmignore` rules
//! use) and gobwas/glob with `/` as separator (what `.Files.Glob` uses).

/// Go's `filepath.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `path/filepath.Match` with `/` as separator.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

pub(crate) fn match_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    let (mut pi, mut ni) = (0, 0);
    while pi < p.len() {
        match p[pi] {
            '*' => {
                while pi < p.len() && p[pi] == '*' {
                    pi += 1;
                }
                let rest = &p[pi..];
                if rest.is_empty() {
                    return Ok(!n[ni..].contains(&'/'));
                }
                let mut k = ni;
                loop {
                    if match_from(rest, &n[k..])? {
                        return Ok(true);
                    }
                    if k >= n.len() || n[k] == '/' {
                        // Validate the rest of the pattern as Go does.
                        match_from(rest, &[])?;
                        return Ok(false);
                    }
                    k += 1;
                }
            }
            '?' => {
                if ni >= n.len() || n[ni] == '/' {
                    return Ok(false);
                }
                pi += 1;
                ni += 1;
            }
            '[' => {
                let (ok, next) = match_class(p, pi, n.get(ni).copied())?;
                if !ok || ni >= n.len() {
                    return Ok(false);
                }
                pi = next;
                ni += 1;
            }
            '\\' => {
                pi += 1;
                if pi >= p.len() {
                    return Err(BadPattern);
                }
                if ni >= n.len() || n[ni] != p[pi] {
                    return Ok(false);
                }
                pi += 1;
                ni += 1;
            }
            c => {
                if ni >= n.len() || n[ni] != c {
                    return Ok(false);
                }
                pi += 1;
                ni += 1;
            }
        }
    }
    Ok(ni == n.len())
}

/// Matches a `[...]` class at `p[start]`; returns (matched, index after `]`).
fn match_class(p: &[char], start: usize, c: Option<char>) -> Result<(bool, usize), BadPattern> {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let ch = *p.get(i).ok_or(BadPattern)?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let lo = read_class_char(p, &mut i)?;
        let hi = if p.get(i) == Some(&'-') {
            i += 1;
            read_class_char(p, &mut i)?
        } else {
            lo
        };
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    let ok = match c {
        Some('/') | None => false,
        Some(_) => matched != negated,
    };
    Ok((ok, i))
}

fn read_class_char(p: &[char], i: &mut usize) -> Result<char, BadPattern> {
    let mut ch = *p.get(*i).ok_or(BadPattern)?;
    if ch == '\\' {
        *i += 1;
        ch = *p.get(*i).ok_or(BadPattern)?;
    } else if ch == '-' || ch == ']' {
        return Err(BadPattern);
    }
    *i += 1;
    Ok(ch)
}

/// gobwas/glob with `/` separator, as `.Files.Glob` uses it: `*` and `?` stop
/// at `/`, `**` crosses it, `{a,b}` alternatives, `[...]` / `[!...]` classes.
/// An invalid pattern matches everything (Helm falls back to `**`).
pub fn files_glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_from(&p, &n).unwrap_or(true)
}

fn glob_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            let super_star = p.get(1) == Some(&'*');
            let rest = if super_star { &p[2..] } else { &p[1..] };
            for k in 0..=n.len() {
                if glob_from(rest, &n[k..])? {
                    return Ok(true);
                }
                if k < n.len() && !super_star && n[k] == '/' {
                    break;
                }
            }
            Ok(false)
        }
        '?' => Ok(!n.is_empty() && n[0] != '/' && glob_from(&p[1..], &n[1..])?),
        '[' => {
            let close = p.iter().skip(1).position(|c| *c == ']').ok_or(BadPattern)? + 1;
            let body = &p[1..close];
            let (neg, body) = match body.first() {
                Some('!') => (true, &body[1..]),
                _ => (false, body),
            };
            let Some(&c) = n.first() else {
                return Ok(false);
            };
            let mut hit = false;
            let mut i = 0;
            while i < body.len() {
                if i + 2 < body.len() && body[i + 1] == '-' {
                    if body[i] <= c && c <= body[i + 2] {
                        hit = true;
                    }
                    i += 3;
                } else {
                    if body[i] == c {
                        hit = true;
                    }
                    i += 1;
                }
            }
            Ok(hit != neg && glob_from(&p[close + 1..], &n[1..])?)
        }
        '{' => {
            let close = find_brace_close(p).ok_or(BadPattern)?;
            let rest = &p[close + 1..];
            for alt in split_alternatives(&p[1..close]) {
                let mut cand = alt.to_vec();
                cand.extend_from_slice(rest);
                if glob_from(&cand, n)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        '\\' => {
            let c = *p.get(1).ok_or(BadPattern)?;
            Ok(n.first() == Some(&c) && glob_from(&p[2..], &n[1..])?)
        }
        c => Ok(n.first() == Some(&c) && glob_from(&p[1..], &n[1..])?),
    }
}

fn find_brace_close(p: &[char]) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in p.iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_alternatives(p: &[char]) -> Vec<&[char]> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in p.iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&p[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&p[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_filepath_match() {
        assert_eq!(go_match("*.txt", "a.txt"), Ok(true));
        assert_eq!(go_match("*.txt", "d/a.txt"), Ok(false));
        assert_eq!(go_match("templates/.?*", "templates/.x"), Ok(true));
        assert_eq!(go_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(go_match("[^a-c]x", "bx"), Ok(false));
        assert!(go_match("[", "a").is_err());
    }

    #[test]
    fn files_glob_dialect() {
        assert!(files_glob("files/*", "files/a.txt"));
        assert!(!files_glob("files/*", "files/d/a.txt"));
        assert!(files_glob("files/**", "files/d/a.txt"));
        assert!(files_glob("**.json", "dash/a.json"));
        assert!(files_glob("{a,b}/*.yaml", "b/x.yaml"));
    }
}
