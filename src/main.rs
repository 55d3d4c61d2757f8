//! The `rudder` binary: subcommands dispatch to `rudder::cli`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// rudder: declarative Helm releases for Kubernetes.
#[derive(Parser)]
#[command(name = "rudder", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render chart templates locally, exactly as `helm template`.
    Template(rudder::cli::template::TemplateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Template(args) => rudder::cli::template::run(args),
    }
}
