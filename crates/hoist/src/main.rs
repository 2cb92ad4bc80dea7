//! The `hoist` binary: parses arguments and hands them to a command. Everything else lives in
//! the stage crates (`hoist-config`, `hoist-gobuild`, `hoist-image`, …).

mod cli;
mod commands;
mod env_vars;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than the C library's allocator: the agent's proxy allocates and frees a few
/// small buffers per request on every worker thread (measured in `scripts/bench-proxy`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // One TLS crypto provider for the whole process (registry and Kubernetes clients): with
    // more than one compiled in, rustls would refuse to pick. ring, not aws-lc-rs: see
    // hoist-registry's Cargo.toml.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The agent logs what it does (info) to its log; every other command only warnings.
    let agent = matches!(cli.command, cli::Command::Agent(_));
    report::init_logging(cli.verbose, agent);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => report::print_error(&err),
    }
}
