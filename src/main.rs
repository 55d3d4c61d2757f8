//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    rudder::cli::dispatch(rudder::cli::Cli::from_env())
}
