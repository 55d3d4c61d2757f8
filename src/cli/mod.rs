//! Command-line subcommands of the `rudder` binary.

pub mod template;
