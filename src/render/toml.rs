//! TOML output for `toToml`, as Helm's BurntSushi/toml encoder writes it.
