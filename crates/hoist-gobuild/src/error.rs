//! The errors of the gobuild stage.

use std::path::PathBuf;

/// Everything that can go wrong between Go source and a binary.
#[derive(Debug, thiserror::Error)]
pub enum GoBuildError {
    /// No `go` on PATH.
    #[error("the `go` command was not found on PATH")]
    GoNotFound,
    /// `go` exists but could not be started.
    #[error("could not run `go`")]
    GoSpawn(#[source] std::io::Error),
    /// No `go.mod` in the directory or any parent.
    #[error("`{dir}` is not inside a Go module (no go.mod here or in any parent directory)")]
    NotAModule {
        /// Where the search started.
        dir: PathBuf,
    },
    /// `go.mod` could not be read or has no `module` line.
    #[error("cannot read the module path from `{path}`")]
    BadGoMod {
        /// The go.mod file.
        path: PathBuf,
        /// Why, when it was an I/O error.
        #[source]
        source: Option<std::io::Error>,
    },
    /// `go list` failed: the module does not load (syntax error, missing dependency, …).
    #[error("`go list` failed in `{dir}`:\n{stderr}")]
    ListFailed {
        /// The module directory.
        dir: PathBuf,
        /// What go printed.
        stderr: String,
    },
    /// `go list` printed something that is not its JSON.
    #[error("could not parse the output of `go list -json`")]
    ListParse(#[source] serde_json::Error),
    /// The module has no package with `func main`.
    #[error(
        "no main package in module `{module}`; hoist builds a program: add a package `main` with `func main()`"
    )]
    NoMainPackage {
        /// The module path.
        module: String,
    },
    /// The module has several and none was chosen.
    #[error("module `{module}` has several main packages: {}; choose one", .candidates.join(", "))]
    SeveralMainPackages {
        /// The module path.
        module: String,
        /// The relative package paths (`./cmd/x`).
        candidates: Vec<String>,
    },
    /// The chosen package is not a main package of the module.
    #[error("`{wanted}` is not a main package of module `{module}`; main packages: {}", .candidates.join(", "))]
    UnknownMainPackage {
        /// The module path.
        module: String,
        /// What was asked for.
        wanted: String,
        /// The relative package paths that exist.
        candidates: Vec<String>,
    },
    /// `go build` of the configured package produced no program: it is a library package.
    #[error("`{package}` is not a main package: `go build` made a library archive, not a program")]
    NotAMainPackage {
        /// The package as configured (`app.main`).
        package: String,
    },
    /// The compiler said no. `stderr` is the compiler's own output, untouched.
    #[error("`go build` failed for {platform}:\n{stderr}")]
    CompileFailed {
        /// The target platform.
        platform: String,
        /// What go printed.
        stderr: String,
    },
    /// The output directory could not be prepared, or the binary not moved into place.
    #[error("cannot write the binary to `{path}`")]
    Output {
        /// The path that failed.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: std::io::Error,
    },
    /// A worker thread panicked (a bug in hoist).
    #[error("a build worker stopped unexpectedly")]
    WorkerPanicked,
}

impl GoBuildError {
    /// Maps a spawn failure of `go` to [`GoBuildError::GoNotFound`] when it is a missing binary.
    pub(crate) fn spawn(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::NotFound {
            Self::GoNotFound
        } else {
            Self::GoSpawn(e)
        }
    }
}
