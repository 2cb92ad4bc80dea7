//! The one harness of hoist's integration tests: every helper more than one test module needs,
//! in one place, so each crate's tests build it once and read the same way.
//!
//! What it holds: real services started per test (a `docker-registry` with or without auth, a
//! token issuer, faults in front of them), the engines and the Kubernetes control plane that
//! `scripts/test` starts, the Go fixtures built once per source, the `hoist` binary's command
//! with a private cache, scratch projects, OCI layouts, plain HTTP, a bounded HTTP load, the
//! local agent driven through the binary, and headless Chromium for the pages it serves.
//!
//! What it does not do: depend on any hoist crate (it is their dev-dependency; a dependency back
//! would compile a second copy of their types), build the `hoist` binary (the caller passes the
//! path cargo built, which only the `hoist` crate's tests have), or skip a test: a service that
//! is missing fails the test that needs it, with what to start.
#![allow(
    clippy::missing_panics_doc,
    reason = "a test harness fails the test by panicking with what went wrong; every helper does"
)]

pub mod agent;
pub mod archive;
pub mod browser;
pub mod certs;
pub mod cli;
pub mod elf;
pub mod engines;
pub mod faults;
pub mod fixtures;
pub mod fs;
pub mod git;
pub mod go;
pub mod host_engine;
pub mod hosts;
pub mod http;
pub mod k8svalidate;
pub mod kube;
pub mod layout;
pub mod load;
pub mod names;
pub mod ports;
pub mod process;
pub mod project;
pub mod prometheus;
pub mod registry;
pub mod skopeo;
pub mod token;
pub mod wrk;
