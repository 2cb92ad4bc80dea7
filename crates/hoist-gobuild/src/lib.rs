//! The gobuild stage: Go source → one static binary per platform, built by the machine's own
//! `go` command.
//!
//! hoist does not compile Go itself and does not hide the toolchain: it runs `go list` and
//! `go build` with the user's environment (GOCACHE, GOMODCACHE, GOFLAGS, GOPROXY are inherited),
//! adding only what makes the binary static and reproducible (`CGO_ENABLED=0`, `-trimpath`,
//! `-ldflags "-s -w -buildid="`) and the `-X` version stamps. It also reads the git facts a build
//! is stamped and dated with. It does not assemble images (that is `hoist-image`).

mod build;
mod cgo;
mod error;
pub mod listen;
mod module;
mod parallel;
mod vcs;

pub use build::{Binary, BuildRequest, build, ldflags};
pub use cgo::{LibraryError, SharedLibrary, cgo_packages, shared_libraries};
pub use error::GoBuildError;
pub use module::{GoModule, MainPackage, find_module, go_directive, list_main_packages};
pub use parallel::build_all;
pub use vcs::GitFacts;
