//! The Go programs the tests run: the examples users start from (`examples/`), and
//! `tests/fixtures/webapp`, the one test service, which misbehaves on demand (its `main.go` lists
//! the knobs: environment variables for the local runtime's scenarios, flags for exec probes,
//! routes for the proxy's upload cases).

use std::path::PathBuf;

use crate::fs::repo_root;
use crate::go::GoBuild;

/// `examples/NAME`.
pub fn example(name: &str) -> PathBuf {
    repo_root().join("examples").join(name)
}

/// `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// The webapp fixture built for this machine.
pub fn webapp() -> PathBuf {
    GoBuild::new(&fixture("webapp")).build()
}

/// The webapp fixture built for `goarch` (`arm64`).
pub fn webapp_for(goarch: &str) -> PathBuf {
    GoBuild::new(&fixture("webapp")).goarch(goarch).build()
}

/// `examples/hello` stamped with `version`, which it puts in every answer: replicas a test can
/// tell apart.
pub fn hello(version: &str) -> PathBuf {
    GoBuild::new(&example("hello"))
        .ldflags(&format!("-X=main.version={version}"))
        .build()
}

/// The label in a webapp answer (`webapp LABEL APP/REV/N`): which revision answered.
pub fn label(body: &str) -> &str {
    body.split_whitespace().nth(1).unwrap_or("")
}
