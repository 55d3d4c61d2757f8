//! What the user commands that talk to a cluster share: the kubeconfig
//! flags (`--kubeconfig`, `--context`, `-n`, `-A`) and the client they
//! make, the `-o` output formats, kubectl-style tables and ages, and the
//! runtime and error type the commands run with.

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde::Serialize;

/// How to reach the cluster, as kubectl takes it.
#[derive(Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Path of the kubeconfig file (default: `$KUBECONFIG`, then
    /// `~/.kube/config`, then the in-cluster configuration).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, else `default`).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// `-o`: how a command prints objects.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Output {
    /// A kubectl-style table.
    #[default]
    Table,
    /// JSON.
    Json,
    /// YAML.
    Yaml,
}

/// Why a cluster command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Config(String),
    /// An API call failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The client's error.
        source: Box<kube::Error>,
    },
    /// Something the user asked for does not exist or makes no sense.
    #[error("{0}")]
    Usage(String),
    /// Printing failed.
    #[error("printing: {0}")]
    Print(String),
    /// The async runtime could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl CliError {
    /// An API error while doing `what`.
    pub fn api(what: impl Into<String>, source: kube::Error) -> CliError {
        CliError::Api {
            what: what.into(),
            source: Box::new(source),
        }
    }
}

/// A client for the cluster `args` name, its configuration, and the
/// namespace commands act in.
pub struct Cluster {
    pub client: Client,
    pub config: Config,
    pub namespace: String,
}

impl KubeArgs {
    /// Connects as kubectl would with these flags.
    pub async fn connect(&self) -> Result<Cluster, CliError> {
        let config = self.config().await?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = crate::controller::transport::client(config.clone())
            .map_err(|e| CliError::Config(e.to_string()))?;
        Ok(Cluster {
            client,
            config,
            namespace,
        })
    }

    async fn config(&self) -> Result<Config, CliError> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let bad = |e: &dyn std::fmt::Display| CliError::Config(e.to_string());
        match &self.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path)
                    .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(|e| bad(&e))
            }
            None if self.context.is_some() => {
                Config::from_kubeconfig(&options).await.map_err(|e| bad(&e))
            }
            None => Config::infer().await.map_err(|e| bad(&e)),
        }
    }
}

/// Runs `f` on a small runtime; an error is printed and exits 2 (1 is
/// left to `diff`'s "there are changes").
pub fn block_on<F>(f: F) -> ExitCode
where
    F: std::future::Future<Output = Result<ExitCode, CliError>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let result = match runtime {
        Ok(rt) => rt.block_on(f),
        Err(e) => Err(CliError::Runtime(e)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints `value` as JSON or YAML.
pub fn print_structured<T: Serialize>(value: &T, output: Output) -> Result<(), CliError> {
    let text = match output {
        Output::Yaml => {
            serde_saphyr::to_string(value).map_err(|e| CliError::Print(e.to_string()))?
        }
        _ => {
            let mut s =
                serde_json::to_string_pretty(value).map_err(|e| CliError::Print(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{text}");
    Ok(())
}

/// Objects as `-o json|yaml` prints them: one object alone, several as a
/// `v1` List, as kubectl does.
pub fn print_objects<T: Serialize>(
    items: &[T],
    single: bool,
    output: Output,
) -> Result<(), CliError> {
    if single && let Some(one) = items.first() {
        return print_structured(one, output);
    }
    let list = serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": items,
    });
    print_structured(&list, output)
}

/// A table with kubectl's layout: upper-case headers, columns padded to
/// their widest cell plus three spaces, the last column unpadded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] + 3 - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// A duration as kubectl prints ages: `45s`, `5m12s`, `3h20m`, `4d5h`,
/// `12d`.
pub fn human_age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..172_800 => hm(s),
        172_800..691_200 => format!("{}d{}h", s / 86_400, (s % 86_400) / 3_600),
        _ => format!("{}d", s / 86_400),
    }
}

/// Minutes below three hours, else hours and minutes (kubectl's middle
/// ranges).
fn hm(s: i64) -> String {
    if s < 10_800 {
        format!("{}m", s / 60)
    } else if s < 28_800 {
        format!("{}h{}m", s / 3_600, (s % 3_600) / 60)
    } else {
        format!("{}h", s / 3_600)
    }
}

/// The age of a timestamp, `<unknown>` without one.
pub fn age_of(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    match t {
        Some(t) => {
            let now = jiff::Timestamp::now();
            human_age(now.as_second() - t.0.as_second())
        }
        None => "<unknown>".into(),
    }
}

/// The age of an RFC 3339 time, `<unknown>` when it does not parse.
pub fn age_of_text(t: &str) -> String {
    match t.parse::<jiff::Timestamp>() {
        Ok(ts) => human_age(jiff::Timestamp::now().as_second() - ts.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_all_but_the_last_column() {
        let t = table(
            &["NAME", "READY"],
            &[vec!["a-long-name".into(), "True".into()]],
        );
        assert_eq!(t, "NAME          READY\na-long-name   True\n");
    }

    #[test]
    fn ages_read_like_kubectl() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (312, "5m12s"),
            (900, "15m"),
            (12_000, "3h20m"),
            (30_000, "8h"),
            (200_000, "2d7h"),
            (1_000_000, "11d"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_age(secs), want, "{secs}");
        }
    }
}
