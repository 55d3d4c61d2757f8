//! Command-line interface: the subcommands of the `rudder` binary, their
//! arguments, and dispatch to the functions that carry them out.

pub mod crds;
pub mod repo;
pub mod run;
pub mod template;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// rudder: declarative Helm releases for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "rudder", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands. New ones (e.g. `template`) get a variant here, an args
/// struct in their own `src/cli/<name>.rs`, and an arm in [`dispatch`].
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print both CustomResourceDefinitions as multi-document YAML, or write
    /// one file per CRD into a directory.
    Crds(crds::CrdsArgs),
    /// Run the controller (operator) process.
    Run(run::RunArgs),
    /// Render chart templates locally, exactly as `helm template` does.
    Template(template::TemplateArgs),
    /// List the charts of an index URL, a local folder of archives or an
    /// `oci://` repository (`helm search repo`).
    Search(repo::SearchArgs),
    /// Package a chart folder into `<name>-<version>.tgz` (`helm package`).
    Package(repo::PackageArgs),
    /// Chart repository tools (`rudder repo index`).
    Repo(repo::RepoArgs),
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    dispatch(Cli::parse())
}

impl Command {
    /// How many glibc malloc arenas the process gets (set before any thread
    /// starts; see the binary's `main`): two for `template`, which renders
    /// on the main thread beside a helper thread, else one.
    pub fn malloc_arenas(&self) -> i32 {
        match self {
            Command::Template(_) => 2,
            _ => 1,
        }
    }

    /// Whether the process's heap should sit on transparent huge pages
    /// (see the binary's `main`): only for `template`, a short process
    /// whose run time is a tenth page faults otherwise. The operator lives
    /// long and reuses its heap, so it keeps 4 KiB pages and the smaller
    /// resident size they give.
    pub fn huge_page_heap(&self) -> bool {
        matches!(self, Command::Template(_))
    }
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds(args) => crds::run(&args),
        Command::Run(args) => run::run(args),
        Command::Template(args) => template::run(args),
        Command::Search(args) => repo::search(args),
        Command::Package(args) => repo::package(args),
        Command::Repo(args) => repo::repo(args),
    }
}
