//! Masterminds/semver v3.4.0's rules (the version Helm v4 links): loose
//! ("coerced") version parsing (`v1`, `1.2`), constraints with `=`, `!=`,
//! `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`, x-ranges (`1.2.x`, `*`), hyphen
//! ranges (`1 - 2`), `,`/space AND, `||` OR, and the prerelease rule (a
//! prerelease version only satisfies an OR group whose constraints mention
//! a prerelease). Used for chart dependencies, `kubeVersion`, repository
//! resolution and Sprig's `semver`/`semverCompare`.

use regex_lite::Regex;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// A parsed version (Masterminds `Version`).
#[derive(Clone, Debug, PartialEq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// Masterminds' loose version pattern ([`match_loose`] matches it by hand).
#[cfg(test)]
const LOOSE: &str = r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$";
const ALLOWED: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789";

/// A pattern compiled on first use (each separately: `semver` needs none
/// of them, `semverCompare` only the constraint ones). These fixed patterns
/// use `regex-lite`: its `\s` is ASCII like Go's, and it compiles in a
/// fraction of the time the full engine takes to build its automata (the
/// patterns are matched against a few short strings per render).
fn lazy(cell: &'static OnceLock<Regex>, pattern: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| {
        // Go's `\s` has no `\v`; regex-lite's has.
        let pattern = pattern().replace(r"\s", r"[\t\n\f\r ]");
        Regex::new(&pattern).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
    })
}

fn constraint_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy(&R, || format!(r"^\s*({OPS})\s*({CV})\s*$"))
}

fn range_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy(&R, || format!(r"\s*({CV})\s+-\s+({CV})\s*"))
}

fn find_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy(&R, || format!(r"({OPS})\s*({CV})"))
}

fn valid_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    lazy(&R, || {
        format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")
    })
}

/// The parts of a version as Masterminds' loose pattern captures them:
/// major, `.minor`, `.patch` (with their dots), prerelease, metadata.
type LooseParts<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

/// Masterminds' loose version pattern (`^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?
/// (-IDENTS)?(\+IDENTS)?$`, IDENTS being dot-separated non-empty runs of
/// `[0-9A-Za-z-]`), matched by hand: every optional part opens with its own
/// character and digit runs are maximal, so there is nothing to backtrack.
fn match_loose(v: &str) -> Option<LooseParts<'_>> {
    fn digits(s: &str) -> usize {
        s.bytes().take_while(u8::is_ascii_digit).count()
    }
    fn dotted(s: &str) -> Option<usize> {
        let n = s
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'.')
            .count();
        let part = &s[..n];
        (n > 0 && part.split('.').all(|p| !p.is_empty())).then_some(n)
    }
    let rest = v.strip_prefix('v').unwrap_or(v);
    let n = digits(rest);
    if n == 0 {
        return None;
    }
    let (major, mut rest) = rest.split_at(n);
    let mut dotted_num = || -> &str {
        if rest.starts_with('.') {
            let n = digits(&rest[1..]);
            if n > 0 {
                let (part, tail) = rest.split_at(n + 1);
                rest = tail;
                return part;
            }
        }
        ""
    };
    let minor = dotted_num();
    let patch = dotted_num();
    let mut pre = "";
    if let Some(tail) = rest.strip_prefix('-') {
        let n = dotted(tail)?;
        pre = &tail[..n];
        rest = &tail[n..];
    }
    let mut metadata = "";
    if let Some(tail) = rest.strip_prefix('+') {
        let n = dotted(tail)?;
        metadata = &tail[..n];
        rest = &tail[n..];
    }
    rest.is_empty()
        .then_some((major, minor, patch, pre, metadata))
}

fn parse_segment(s: &str) -> Result<u64, String> {
    s.parse::<u64>().map_err(|_| {
        format!(
            "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
            crate::godata::gofmt::quote(s)
        )
    })
}

pub(crate) fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err("invalid prerelease string".into());
        } else if part.bytes().all(|c| c.is_ascii_digit()) {
            if part.len() > 1 && part.starts_with('0') {
                return Err("version segment starts with 0".into());
            }
        } else if !part.chars().all(|c| ALLOWED.contains(c)) {
            return Err("invalid prerelease string".into());
        }
    }
    Ok(())
}

pub(crate) fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.')
        .any(|p| p.is_empty() || !p.chars().all(|c| ALLOWED.contains(c)))
    {
        return Err("invalid metadata string".into());
    }
    Ok(())
}

impl Version {
    /// `semver.NewVersion` (coercing).
    pub fn parse(v: &str) -> Result<Version, String> {
        let (g1, g2, g3, g5, g8) = match_loose(v).ok_or("invalid semantic version")?;
        let major = parse_segment(g1)?;
        let minor = if g2.is_empty() {
            0
        } else {
            parse_segment(&g2[1..])?
        };
        let patch = if g3.is_empty() {
            0
        } else {
            parse_segment(&g3[1..])?
        };
        let (pre, metadata) = (g5.to_string(), g8.to_string());
        if !pre.is_empty() {
            validate_prerelease(&pre)?;
        }
        if !metadata.is_empty() {
            validate_metadata(&metadata)?;
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            metadata,
            original: v.to_string(),
        })
    }

    fn zero() -> Version {
        Version {
            major: 0,
            minor: 0,
            patch: 0,
            pre: String::new(),
            metadata: String::new(),
            original: "0.0.0".into(),
        }
    }

    /// Masterminds `Compare` (metadata ignored).
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    pub(crate) fn inc(&self, which: u8) -> Version {
        let mut n = self.clone();
        n.metadata.clear();
        match which {
            0 => {
                n.major += 1;
                n.minor = 0;
                n.patch = 0;
                n.pre.clear();
            }
            1 => {
                n.minor += 1;
                n.patch = 0;
                n.pre.clear();
            }
            _ => {
                if self.pre.is_empty() {
                    n.patch += 1;
                }
                n.pre.clear();
            }
        }
        let prefix = if self.original.starts_with('v') {
            "v"
        } else {
            ""
        };
        n.original = format!("{prefix}{n}");
        n
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let (sa, sb): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..sa.len().max(sb.len()) {
        let d = compare_pre_part(
            sa.get(i).copied().unwrap_or(""),
            sb.get(i).copied().unwrap_or(""),
        );
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(si), Ok(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

/// One constraint (`>= 1.2`, `~1.x`).
#[derive(Debug)]
struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A parsed constraint expression: OR groups of AND-ed constraints.
pub struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

impl Constraints {
    /// `semver.NewConstraint`.
    pub fn parse(c: &str) -> Result<Constraints, String> {
        let c = rewrite_range(c);
        let mut groups = Vec::new();
        for part in c.split("||") {
            if !valid_re().is_match(part) {
                return Err(format!("improper constraint: {part}"));
            }
            let mut found: Vec<String> = find_re()
                .find_iter(part)
                .map(|m| m.as_str().to_string())
                .collect();
            if found.is_empty() {
                found.push(part.to_string());
            }
            let mut cs = Vec::new();
            let mut has_pre = false;
            for s in found {
                let pc = parse_constraint(&s)?;
                if !pc.con.pre.is_empty() {
                    has_pre = true;
                }
                cs.push(pc);
            }
            groups.push((cs, has_pre));
        }
        Ok(Constraints { groups })
    }

    /// `Constraints.Check`.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(cs, pre)| cs.iter().all(|c| c.check(v, *pre)))
    }
}

fn rewrite_range(i: &str) -> String {
    let mut o = i.to_string();
    let caps: Vec<(String, String, String)> = range_re()
        .captures_iter(i)
        .map(|m| {
            let g = |k: usize| m.get(k).map_or(String::new(), |x| x.as_str().to_string());
            (g(0), g(1), g(11))
        })
        .collect();
    for (whole, a, b) in caps {
        o = o.replacen(&whole, &format!(">= {a}, <= {b} "), 1);
    }
    o
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::zero(),
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = constraint_re()
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        match self.op.as_str() {
            "" | "=" => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.compare(&self.con) == Ordering::Equal
                }
            }
            "!=" => self.not_equal(v),
            ">" => self.greater(v),
            "<" => v.compare(&self.con) == Ordering::Less,
            ">=" | "=>" => v.compare(&self.con) != Ordering::Less,
            "<=" | "=<" => self.less_equal(v),
            "~" | "~>" => self.tilde(v),
            "^" => self.caret(v),
            _ => false,
        }
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            } else if self.minor_dirty {
                return false;
            } else if c.patch != v.patch && !self.patch_dirty {
                return true;
            } else if self.patch_dirty {
                if !v.pre.is_empty() || !c.pre.is_empty() {
                    return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                }
                return false;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn greater(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) == Ordering::Greater;
        }
        if v.major > c.major {
            true
        } else if v.major < c.major || self.minor_dirty {
            false
        } else if self.patch_dirty {
            v.minor > c.minor
        } else {
            v.compare(c) == Ordering::Greater
        }
    }

    fn less_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if !self.dirty {
            return v.compare(c) != Ordering::Greater;
        }
        !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        c.patch == v.patch
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Version::parse(version), Constraints::parse(constraint)) {
        (Ok(v), Ok(c)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(is_compatible_range("^1.2.0", "1.9.3"));
        assert!(!is_compatible_range("^1.2.0", "2.0.0"));
        assert!(is_compatible_range("~1.2", "1.2.9"));
        assert!(is_compatible_range(">= 1.0, < 2", "1.5.0"));
        assert!(is_compatible_range("1.2 - 1.4.5", "1.4.5"));
        assert!(!is_compatible_range("1.2 - 1.4.5", "1.4.6"));
        assert!(is_compatible_range("1.x || >3", "4.0.0"));
        assert!(!is_compatible_range("1.x || >3", "3.1.0"));
        assert!(!is_compatible_range(">=1.0.0", "1.1.0-rc1"));
        assert!(!is_compatible_range("", "1.1.0"));
        assert!(is_compatible_range(">=1.20.0-0", "v1.31.0"));
        assert!(is_compatible_range("*", "0.1.0"));
    }

    fn check(c: &str, v: &str) -> bool {
        Constraints::parse(c)
            .unwrap()
            .check(&Version::parse(v).unwrap())
    }

    #[test]
    fn masterminds_constraints() {
        assert!(check(">=1.21-0", "1.28.3"));
        assert!(check(">=1.21-0", "1.28.3-gke.100"));
        assert!(!check(">=1.21", "1.28.3-gke.100"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(check("*", "3.0.0"));
        assert!(check("1.1 - 2", "1.5.0"));
        assert!(check("<1.0 || >=2.0", "2.1.0"));
        assert!(check(">1.0, <2.0", "1.5.0"));
        assert!(check(">1.0 <2.0", "1.5.0"));
        assert!(!check("!=1.2.3", "1.2.3"));
        assert!(check("v1.2", "1.2.0"));
        assert!(check("<= 1.2", "1.2.9"));
        assert!(!check("> 1.2", "1.2.9"));
    }

    #[test]
    fn version_parsing() {
        assert_eq!(Version::parse("v1.2").unwrap().to_string(), "1.2.0");
        assert_eq!(
            Version::parse("1.2.3-beta.1+b5").unwrap().to_string(),
            "1.2.3-beta.1+b5"
        );
        assert_eq!(Version::parse("x").unwrap_err(), "invalid semantic version");
        assert_eq!(
            Version::parse("1.2.3-01").unwrap_err(),
            "version segment starts with 0"
        );
        assert!(Constraints::parse("abc").is_err());
    }

    /// The hand-written matcher agrees with Masterminds' loose regexp.
    #[test]
    fn loose_matcher_agrees_with_the_regexp() {
        let re = Regex::new(LOOSE).expect("loose regexp");
        let inputs = [
            "",
            "v",
            "1",
            "v1",
            "1.2",
            "1.2.3",
            "v1.2.3",
            "1.2.3.4",
            "01.002.3",
            "1..2",
            "1.",
            "1.2.",
            "1-",
            "1-a",
            "1-a.b",
            "1-a..b",
            "1-.a",
            "1-a.",
            "1+",
            "1+b",
            "1+b.c",
            "1.2.3-rc.1+build.5",
            "1.2.3+b-1",
            "1.2.3-a+b+c",
            "1.2.3-a_b",
            "vv1",
            "1.2.3 ",
            " 1.2.3",
            "1.x",
            "1.2-3",
            "1.2.3--",
            "1.2.3-+",
            "1-a-b.c-d+e-f.g",
            "99999999999999999999",
            "1.2.3-é",
        ];
        for v in inputs {
            let want = re.captures(v).map(|m| {
                let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
                (g(1), g(2), g(3), g(5), g(8))
            });
            assert_eq!(super::match_loose(v), want, "input {v:?}");
        }
    }
}
