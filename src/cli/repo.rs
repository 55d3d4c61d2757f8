//! The chart-repository workflow without a cluster: `rudder search`
//! (an index URL, a local folder of archives, or an `oci://` repository),
//! `rudder package` (`helm package`) and `rudder repo index`
//! (`helm repo index`), so any static web server serving the folder is a
//! chart repository. Also fetching a remote chart for `rudder template`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::repo::index::{ChartVersion, IndexFile, parse_index};
use crate::repo::{ChartCache, ChartRepository, FetchOptions, OciClient, OciReference};

/// Arguments of `rudder search`.
#[derive(Args, Debug, Clone)]
pub struct SearchArgs {
    /// An index URL (`http(s)://…`, the folder holding index.yaml), a local
    /// folder of chart archives, or `oci://host/path/chart`.
    pub source: String,
    /// Show charts whose name or description contains this (case-insensitive).
    pub term: Option<String>,
    /// Show every version, not only the newest.
    #[arg(long)]
    pub versions: bool,
    /// Talk plain HTTP to an OCI registry.
    #[arg(long)]
    pub plain_http: bool,
}

/// Arguments of `rudder package`.
#[derive(Args, Debug, Clone)]
pub struct PackageArgs {
    /// The chart folder.
    pub chart_dir: PathBuf,
    /// Where to write `<name>-<version>.tgz`.
    #[arg(short = 'd', long = "destination", default_value = ".")]
    pub destination: PathBuf,
}

/// `rudder repo …`.
#[derive(Args, Debug, Clone)]
pub struct RepoArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RepoCommand,
}

/// The `rudder repo` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum RepoCommand {
    /// Write DIR/index.yaml for the chart archives in DIR (`helm repo index`).
    Index(IndexArgs),
}

/// Arguments of `rudder repo index`.
#[derive(Args, Debug, Clone)]
pub struct IndexArgs {
    /// The folder of chart archives.
    pub dir: PathBuf,
    /// URL of the repository (the archives' URLs are under it).
    #[arg(long, default_value = "")]
    pub url: String,
    /// Merge the generated index into this existing index (entries the
    /// folder does not have are kept as they were), as `helm repo index --merge`.
    #[arg(long)]
    pub merge: Option<PathBuf>,
}

/// Runs `rudder search`.
pub fn search(args: SearchArgs) -> ExitCode {
    report(runtime().and_then(|rt| rt.block_on(search_text(&args))))
}

/// Runs `rudder package`.
pub fn package(args: PackageArgs) -> ExitCode {
    let result = crate::repo::package::package(&args.chart_dir, &args.destination)
        .map(|p| {
            format!(
                "Successfully packaged chart and saved it to: {}\n",
                p.display()
            )
        })
        .map_err(|e| e.to_string());
    report(result)
}

/// Runs `rudder repo …`.
pub fn repo(args: RepoArgs) -> ExitCode {
    match args.command {
        RepoCommand::Index(a) => report(index(&a).map(|()| String::new())),
    }
}

fn index(args: &IndexArgs) -> Result<(), String> {
    let now = jiff::Timestamp::now().to_string();
    let existing = match &args.merge {
        // helm starts from an empty index when the file does not exist.
        Some(path) if path.exists() => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?,
        ),
        _ => None,
    };
    let text = crate::repo::indexer::index_directory_merged(
        &args.dir,
        &args.url,
        &now,
        existing.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    let out = args.dir.join("index.yaml");
    std::fs::write(&out, text).map_err(|e| format!("writing {}: {e}", out.display()))
}

fn report(result: Result<String, String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))
}

async fn search_text(args: &SearchArgs) -> Result<String, String> {
    if args.source.starts_with("oci://") {
        return search_oci(args).await;
    }
    let index = if args.source.starts_with("http://") || args.source.starts_with("https://") {
        let repo = ChartRepository::new(&args.source, FetchOptions::default())
            .map_err(|e| e.to_string())?;
        repo.refresh().await.map_err(|e| e.to_string())?.index
    } else {
        std::sync::Arc::new(local_index(Path::new(&args.source))?)
    };
    Ok(search_table(&index, args.term.as_deref(), args.versions))
}

/// The index of a local folder of archives (as `rudder repo index` makes it).
fn local_index(dir: &Path) -> Result<IndexFile, String> {
    let text = crate::repo::indexer::index_directory(dir, "", "1970-01-01T00:00:00Z")
        .map_err(|e| e.to_string())?;
    parse_index(text.as_bytes()).map_err(|e| e.to_string())
}

/// `helm search repo`'s table: NAME, CHART VERSION, APP VERSION,
/// DESCRIPTION; newest version per chart unless `all_versions`.
pub fn search_table(index: &IndexFile, term: Option<&str>, all_versions: bool) -> String {
    let term = term.map(str::to_lowercase);
    let matches = |v: &ChartVersion| {
        term.as_deref().is_none_or(|t| {
            v.name.to_lowercase().contains(t) || v.description.to_lowercase().contains(t)
        })
    };
    let mut rows = vec![[
        "NAME".to_string(),
        "CHART VERSION".into(),
        "APP VERSION".into(),
        "DESCRIPTION".into(),
    ]];
    for name in index.chart_names() {
        let versions = &index.entries[name];
        let shown = if all_versions {
            &versions[..]
        } else {
            &versions[..versions.len().min(1)]
        };
        for v in shown.iter().filter(|v| matches(v)) {
            rows.push([
                v.name.clone(),
                v.version.clone(),
                v.app_version.clone(),
                v.description.clone(),
            ]);
        }
    }
    if rows.len() == 1 {
        return "No results found\n".into();
    }
    table(&rows)
}

fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}\t", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Tags of an OCI chart, newest first (only the newest without `--versions`).
async fn search_oci(args: &SearchArgs) -> Result<String, String> {
    let reference = OciReference::parse(&args.source).map_err(|e| e.to_string())?;
    let client =
        OciClient::new(FetchOptions::default(), args.plain_http).map_err(|e| e.to_string())?;
    let tags = client.tags(&reference).await.map_err(|e| e.to_string())?;
    let name = reference.name();
    let term = args.term.as_deref().map(str::to_lowercase);
    if term.is_some_and(|t| !name.to_lowercase().contains(&t)) || tags.is_empty() {
        return Ok("No results found\n".into());
    }
    let shown = if args.versions { &tags[..] } else { &tags[..1] };
    let mut rows = vec![["NAME".to_string(), "CHART VERSION".into()]];
    rows.extend(shown.iter().map(|t| [name.clone(), t.clone()]));
    Ok(table(&rows))
}

/// The archive of a remote chart for `rudder template`: `oci://…` (by
/// `version` constraint unless the reference has a tag or digest), or
/// `chart` from the repository at `repo_url`; verified either way.
pub fn fetch_chart_archive(
    chart: &str,
    repo_url: Option<&str>,
    version: &str,
    plain_http: bool,
    opts: FetchOptions,
) -> Result<Vec<u8>, String> {
    let rt = runtime()?;
    rt.block_on(async {
        if chart.starts_with("oci://") {
            let reference = OciReference::parse(chart).map_err(|e| e.to_string())?;
            let client = OciClient::new(opts, plain_http).map_err(|e| e.to_string())?;
            let pulled = client
                .pull(&reference, version)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(pulled.bytes);
        }
        let url = repo_url.ok_or("no repository URL")?;
        let repo = ChartRepository::new(url, opts).map_err(|e| e.to_string())?;
        let cache = ChartCache::new(None, crate::repo::cache::DEFAULT_MEMORY_LIMIT);
        let pulled = crate::repo::pull(&repo, &cache, chart, version)
            .await
            .map_err(|e| e.to_string())?;
        Ok(pulled.archive.bytes.as_ref().clone())
    })
}
