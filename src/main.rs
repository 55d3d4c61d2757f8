//! The `rudder` binary: everything lives in the library; see [`rudder::cli`].
fn main() -> std::process::ExitCode {
    rudder::cli::main()
}
