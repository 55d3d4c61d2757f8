//! Turning a pulled chart into a [`Chart`] on the render thread: the
//! archive loaded with the chart loader's checks, the fetched dependencies
//! attached as subcharts (what `helm dependency build` puts under
//! `charts/`).

use super::{PulledChart, PulledDependency, SourceError};
use crate::chart::Chart;
use crate::repo::cache::sha256_hex;

/// Loads the archive and attaches the fetched dependencies as subcharts
/// (what `helm dependency build` puts under `charts/`). Synchronous: a
/// [`Chart`] is `Rc`-based.
pub fn load_pulled(p: &PulledChart) -> Result<Chart, SourceError> {
    let load = |name: &str, version: &str, bytes: &[u8]| {
        crate::chart::load::load_archive(bytes).map_err(|e| SourceError::Load {
            chart: name.into(),
            version: version.into(),
            reason: e.to_string(),
        })
    };
    let mut chart = load(&p.name, &p.version, &p.archive)?;
    let mut deps: Vec<&PulledDependency> = p.dependencies.iter().collect();
    // charts/<name>-<version>.tgz, in directory order.
    deps.sort_by(|a, b| {
        format!("{}-{}.tgz", a.name, a.version).cmp(&format!("{}-{}.tgz", b.name, b.version))
    });
    for d in deps {
        chart
            .dependencies
            .push(load(&d.name, &d.version, &d.archive)?);
    }
    Ok(chart)
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}
