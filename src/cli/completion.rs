//! `rudder completion bash|zsh|fish|…`: a shell completion script for
//! every subcommand and flag, generated from the command-line definition
//! by `clap_complete`.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// `rudder completion SHELL`.
#[derive(Args, Debug, Clone)]
pub struct CompletionArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell` (for the binary named
/// `bin`: `rudder`, or `kubectl-rudder` as a kubectl plugin).
pub fn run(args: &CompletionArgs, bin: &str) -> ExitCode {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, bin, &mut std::io::stdout());
    ExitCode::SUCCESS
}
