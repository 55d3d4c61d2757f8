//! Pure decisions over a release's history: the next revision number, the
//! live (deployed) revision, and which revisions `maxHistory` prunes.

use super::record::{Release, Status};

/// The number of the next revision: one past the highest ever stored.
pub fn next_version<'a>(history: impl IntoIterator<Item = &'a Release>) -> i64 {
    history.into_iter().map(|r| r.version).max().unwrap_or(0) + 1
}

/// The deployed revision (the newest, should several claim it).
pub fn deployed<'a>(history: impl IntoIterator<Item = &'a Release>) -> Option<&'a Release> {
    history
        .into_iter()
        .filter(|r| r.status() == Status::Deployed)
        .max_by_key(|r| r.version)
}

/// Revisions to delete so that at most `max_history` remain (0 keeps all):
/// oldest first, never a deployed or pending one nor one in `keep`.
pub fn to_prune(history: &[&Release], max_history: i32, keep: &[i64]) -> Vec<i64> {
    let Ok(max) = usize::try_from(max_history) else {
        return Vec::new();
    };
    if max == 0 || history.len() <= max {
        return Vec::new();
    }
    let mut excess = history.len() - max;
    let mut versions: Vec<&Release> = history.to_vec();
    versions.sort_by_key(|r| r.version);
    let mut out = Vec::new();
    for r in versions {
        if excess == 0 {
            break;
        }
        let protected =
            r.status() == Status::Deployed || r.status().is_pending() || keep.contains(&r.version);
        if !protected {
            out.push(r.version);
            excess -= 1;
        }
    }
    out
}

/// Now, as Go's `time.Time` marshals it (RFC 3339 with nanoseconds).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::record::Info;

    fn rel(version: i64, status: Status) -> Release {
        Release {
            name: "r".into(),
            info: Info {
                first_deployed: String::new(),
                last_deployed: String::new(),
                deleted: String::new(),
                description: String::new(),
                status,
                notes: String::new(),
                extra: Default::default(),
            },
            chart: None,
            config: Default::default(),
            manifest: String::new(),
            hooks: Vec::new(),
            version,
            namespace: "n".into(),
            apply_method: "ssa".into(),
            extra: Default::default(),
        }
    }

    #[test]
    fn prunes_oldest_but_never_deployed_or_pinned() {
        let h = [
            rel(1, Status::Deployed),
            rel(2, Status::Superseded),
            rel(3, Status::Superseded),
            rel(4, Status::Failed),
            rel(5, Status::Superseded),
        ];
        let refs: Vec<&Release> = h.iter().collect();
        assert_eq!(to_prune(&refs, 3, &[]), vec![2, 3]);
        assert_eq!(to_prune(&refs, 3, &[2]), vec![3, 4]);
        assert_eq!(to_prune(&refs, 0, &[]), Vec::<i64>::new());
        assert_eq!(to_prune(&refs, 10, &[]), Vec::<i64>::new());
        assert_eq!(next_version(&h), 6);
        assert_eq!(deployed(&h).map(|r| r.version), Some(1));
    }
}
