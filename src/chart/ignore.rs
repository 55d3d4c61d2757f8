//! `.helmignore` rules (Helm's pkg/ignore), matched with Go's
//! `filepath.Match` ([`crate::godata::glob`]).

use crate::godata::glob::{go_match, match_from};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
