//! `rudder crds`: prints the CRDs, or writes them into a directory (what
//! `make crds` does to refresh the repository's `crds/`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api::crds::{self, CrdError};

/// Arguments of `rudder crds`.
#[derive(Debug, clap::Args)]
pub struct CrdsArgs {
    /// Write one `<group>_<plural>.yaml` per CRD, and a `kustomization.yaml`
    /// listing them, into this directory instead of printing a
    /// multi-document stream.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Why `rudder crds` failed.
#[derive(Debug, thiserror::Error)]
pub enum CrdsCommandError {
    /// Serialization failed.
    #[error(transparent)]
    Crd(#[from] CrdError),
    /// Writing a file or stdout failed.
    #[error("writing {path}: {source}")]
    Io {
        /// Where.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Runs `rudder crds`.
pub fn run(args: &CrdsArgs) -> ExitCode {
    let result = match &args.out_dir {
        Some(dir) => write_dir(dir),
        None => print_stdout(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rudder crds: {err}");
            ExitCode::FAILURE
        }
    }
}

fn print_stdout() -> Result<(), CrdsCommandError> {
    let yaml = crds::to_multi_doc_yaml()?;
    std::io::stdout()
        .write_all(yaml.as_bytes())
        .map_err(|source| CrdsCommandError::Io {
            path: "stdout".into(),
            source,
        })
}

fn write_dir(dir: &Path) -> Result<(), CrdsCommandError> {
    let io_err = |path: &Path| {
        let path = path.display().to_string();
        move |source| CrdsCommandError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    for crd in crds::all() {
        let path = dir.join(crds::file_name(&crd));
        std::fs::write(&path, crds::to_yaml(&crd)?).map_err(io_err(&path))?;
    }
    let path = dir.join("kustomization.yaml");
    std::fs::write(&path, crds::kustomization()).map_err(io_err(&path))?;
    Ok(())
}
