//! `.helmignore` rules (Helm's pkg/ignore) and the two glob dialects charts
//! meet: Go's `filepath.Match` (helmignore) and gobwas/glob with `/` as
//! separator (`.Files.Glob`, where `**` crosses directories).

/// One parsed `.helmignore` line.
#[derive(Debug, Clone)]
struct Pattern {
    /// The glob's characters, split once (every file is tested against
    /// every rule).
    glob: Vec<char>,
    /// How the rule is tested when it needs no glob matcher.
    shortcut: Shortcut,
    negate: bool,
    must_dir: bool,
    kind: PatternKind,
}

/// Rules most `.helmignore` files are made of, tested without the glob
/// matcher.
#[derive(Debug, Clone)]
enum Shortcut {
    /// No metacharacter: the name must equal it.
    Literal(String),
    /// `*` then no metacharacter (`*.swp`, `*~`): the name must end with
    /// it, and `*` must not have crossed a `/`.
    Suffix(String),
    None,
}

impl Shortcut {
    fn of(glob: &str) -> Shortcut {
        const META: [char; 4] = ['*', '?', '[', '\\'];
        if !glob.contains(META) {
            return Shortcut::Literal(glob.to_string());
        }
        match glob.strip_prefix('*') {
            Some(rest) if !rest.contains(META) => Shortcut::Suffix(rest.to_string()),
            _ => Shortcut::None,
        }
    }

    fn matches(&self, target: &str) -> Option<bool> {
        match self {
            Shortcut::Literal(lit) => Some(lit == target),
            Shortcut::Suffix(suffix) => Some(
                target
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|head| !head.contains('/')),
            ),
            Shortcut::None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum PatternKind {
    /// Leading `/`: matched against the whole relative path.
    Rooted,
    /// Contains `/`: matched against the whole relative path.
    Structural,
    /// No `/`: matched against the base name only.
    Basename,
}

/// A `.helmignore` rule set.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    /// Parses a `.helmignore` file. Errors name the bad rule like Helm.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for line in text.lines() {
            r.add(line)?;
        }
        Ok(r)
    }

    /// Adds Helm's default rule: dotfiles in `templates/` are ignored.
    pub fn add_defaults(&mut self) {
        let _ = self.add("templates/.?*");
    }

    fn add(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if go_match(rule, "abc").is_err() {
            return Err("syntax error in pattern".into());
        }
        let (negate, rule) = match rule.strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (must_dir, rule) = match rule.strip_suffix('/') {
            Some(r) => (true, r),
            None => (false, rule),
        };
        let (kind, glob) = if let Some(r) = rule.strip_prefix('/') {
            (PatternKind::Rooted, r)
        } else if rule.contains('/') {
            (PatternKind::Structural, rule)
        } else {
            (PatternKind::Basename, rule)
        };
        self.patterns.push(Pattern {
            glob: glob.chars().collect(),
            shortcut: Shortcut::of(glob),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        // Split into characters only if a rule needs the glob matcher.
        let (mut path_chars, mut base_chars) = (None, None);
        for p in &self.patterns {
            let (target, target_chars) = match p.kind {
                PatternKind::Basename => (base, &mut base_chars),
                _ => (path, &mut path_chars),
            };
            let matched = match p.shortcut.matches(target) {
                Some(m) => m,
                None => {
                    let chars = target_chars.get_or_insert_with(|| chars_of(target));
                    match_from(&p.glob, chars).unwrap_or(false)
                }
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched {
                return true;
            }
        }
        false
    }
}

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Go's `filepath.ErrBadPattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

/// Go's `path/filepath.Match` with `/` as separator.
pub fn go_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, BadPattern> {
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
    fn shortcuts_agree_with_the_glob_matcher() {
        let globs = [
            "*", "*.swp", "*~", "*/b", "a/*.key", "OWNERS", "x/y", "*x*", ".?*",
        ];
        let names = [
            "", "a", "a.swp", "d/a.swp", ".swp", "a~", "~", "a/b", "b", "a/x.key", "OWNERS", "x/y",
            "x/y/z", "axb", ".x",
        ];
        for g in globs {
            let chars: Vec<char> = g.chars().collect();
            for n in names {
                let want = match_from(&chars, &n.chars().collect::<Vec<_>>()).unwrap();
                if let Some(got) = Shortcut::of(g).matches(n) {
                    assert_eq!(got, want, "glob {g:?} name {n:?}");
                }
            }
        }
        assert!(matches!(Shortcut::of("*.swp"), Shortcut::Suffix(_)));
        assert!(matches!(Shortcut::of("*x*"), Shortcut::None));
    }

    #[test]
    fn helmignore_rules() {
        let mut r = Rules::parse("# c\n.git/\n*.tmp\n/tests/\nsecret/*.key\n").unwrap();
        r.add_defaults();
        assert!(r.ignore(".git", true));
        assert!(!r.ignore(".git", false));
        assert!(r.ignore("a/b.tmp", false));
        assert!(r.ignore("tests", true));
        assert!(r.ignore("secret/x.key", false));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/x.yaml", false));
        assert!(Rules::parse("a/**").is_err());
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
