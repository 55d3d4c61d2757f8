//! Command-line interface: the subcommands of the `rudder` binary, their
//! arguments, and dispatch to the functions that carry them out.

pub mod cluster;
pub mod completion;
pub mod control;
pub mod crds;
pub mod diff;
pub mod fields;
pub mod get;
pub mod repo;
pub mod run;
pub mod serve;
pub mod template;
pub mod template_output;

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
    Run(Box<run::RunArgs>),
    /// Render chart templates locally, exactly as `helm template` does.
    /// A flag given twice keeps its last value, as Go's flag parser does.
    #[command(args_override_self = true)]
    Template(Box<template::TemplateArgs>),
    /// List the charts of an index URL, a local folder of archives or an
    /// `oci://` repository (`helm search repo`).
    Search(repo::SearchArgs),
    /// Package a chart folder into `<name>-<version>.tgz` (`helm package`).
    Package(repo::PackageArgs),
    /// Chart repository tools (`rudder repo index`).
    Repo(repo::RepoArgs),
    /// Serve a folder of chart archives as a chart repository, keeping its
    /// index.yaml current, with HTML pages to browse it (`helm serve`).
    Serve(Box<serve::ServeArgs>),
    /// List HelmReleases (`hr`, the default) or HelmRepositories (`repo`)
    /// with their readiness, revision and chart.
    Get(get::GetArgs),
    /// The release records of a HelmRelease (`helm history`).
    History(get::NamedArgs),
    /// Why a HelmRelease is or is not Ready: conditions, recent events,
    /// objects not ready.
    Status(get::NamedArgs),
    /// Ask the controller to reconcile a HelmRelease now.
    Reconcile(control::ReconcileArgs),
    /// Stop reconciling a HelmRelease (`spec.suspend: true`).
    Suspend(control::SuspendArgs),
    /// Reconcile a suspended HelmRelease again.
    Resume(control::SuspendArgs),
    /// Make a recorded revision live (`spec.revision`).
    Rollback(control::RollbackArgs),
    /// Show what reconciling a HelmRelease would create, change and
    /// delete (exit 0: nothing, 1: changes, 2: error).
    Diff(Box<diff::DiffArgs>),
    /// Print a shell completion script.
    Completion(completion::CompletionArgs),
}

/// The executable name under which kubectl runs rudder as a plugin.
pub const KUBECTL_PLUGIN: &str = "kubectl-rudder";

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    dispatch(Cli::from_env())
}

impl Cli {
    /// The process's command line, parsed. A `rudder template` line is
    /// first parsed with the `template` subcommand's own definition alone:
    /// building every subcommand's arguments (the operator's most of all)
    /// is a twentieth of rendering a small chart. Anything that parser does
    /// not accept as a plain successful parse (help, version, an error) goes
    /// to the full parser, which prints exactly what it always does.
    pub fn from_env() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        if let Some(cli) = Cli::template_only(&args) {
            return cli;
        }
        if invoked_as_plugin(&args) {
            return Cli::parse_as_plugin(args);
        }
        Cli::parse_from(args)
    }

    /// Parses as `kubectl rudder …` (usage and errors say so).
    fn parse_as_plugin(args: Vec<std::ffi::OsString>) -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command()
            .bin_name("kubectl rudder")
            .get_matches_from(args);
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    fn template_only(args: &[std::ffi::OsString]) -> Option<Cli> {
        use clap::{Args, FromArgMatches};
        if args.get(1)?.to_str()? != "template" {
            return None;
        }
        let command = template::TemplateArgs::augment_args(
            clap::Command::new("template").args_override_self(true),
        );
        let matches = command.try_get_matches_from(&args[1..]).ok()?;
        let args = template::TemplateArgs::from_arg_matches(&matches).ok()?;
        Some(Cli {
            command: Command::Template(Box::new(args)),
        })
    }
}

/// Whether the program was started as `kubectl-rudder` (a kubectl
/// plugin: `kubectl rudder …`).
fn invoked_as_plugin(args: &[std::ffi::OsString]) -> bool {
    args.first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|f| f == KUBECTL_PLUGIN)
}

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds(args) => crds::run(&args),
        Command::Run(args) => run::run(*args),
        Command::Template(args) => template::run(*args),
        Command::Search(args) => repo::search(args),
        Command::Package(args) => repo::package(args),
        Command::Repo(args) => repo::repo(args),
        Command::Serve(args) => serve::run(*args),
        Command::Get(args) => get::get(args),
        Command::History(args) => get::history_cmd(args),
        Command::Status(args) => get::status(args),
        Command::Reconcile(args) => control::reconcile(args),
        Command::Suspend(args) => control::set_suspend(args, true),
        Command::Resume(args) => control::set_suspend(args, false),
        Command::Rollback(args) => control::rollback(args),
        Command::Diff(args) => diff::run(*args),
        Command::Completion(args) => completion::run(&args, "rudder"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command-line definition is consistent (unique names, valid
    /// defaults) for every subcommand.
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// The `template`-only parser reads every line it accepts exactly as
    /// the full parser does, and leaves help, version and errors to it.
    #[test]
    fn the_template_parser_agrees_with_the_full_one() {
        let lines: &[&str] = &[
            "rudder template rel corpus/nginx --namespace apps -f values/nginx.yaml --kube-version 1.31.0",
            "rudder template corpus/scaffold",
            "rudder template r c -n x -f a.yaml -f b.yaml --set a=1,b=2 --set c=3 --set-string d=4",
            "rudder template r c --api-versions v1/X --api-versions=apps/v1/Y --include-crds --skip-tests --notes",
            "rudder template r c --values=a.yaml --kube-version=v1.30 --is-upgrade --render-subchart-notes",
            "rudder template r c --repo http://127.0.0.1:1/ --version 1.2.3 --plain-http",
            "rudder template -- r -c",
        ];
        for line in lines {
            let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
            let fast = Cli::template_only(&args).unwrap_or_else(|| panic!("not accepted: {line}"));
            let full = Cli::try_parse_from(&args).expect(line);
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
        for line in [
            "rudder template --help",
            "rudder template -h",
            "rudder template r c --bogus",
            "rudder template r c --kube-version",
            "rudder run",
            "rudder --version",
        ] {
            let args: Vec<std::ffi::OsString> = line.split(' ').map(Into::into).collect();
            assert!(Cli::template_only(&args).is_none(), "accepted: {line}");
        }
    }
}
