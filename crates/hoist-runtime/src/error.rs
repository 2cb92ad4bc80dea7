//! The errors of the local runtime.

use std::path::PathBuf;

/// What can go wrong running replicas.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The replica's binary could not be started.
    #[error("cannot start `{binary}`")]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A log file could not be opened or written.
    #[error("cannot write the log `{path}`")]
    Log {
        /// The log file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No free port could be had on 127.0.0.1.
    #[error("no free port on 127.0.0.1")]
    NoFreePort(#[source] std::io::Error),
    /// Signalling the replica's process group failed.
    #[error("cannot signal process group {pgid}")]
    Signal {
        /// The process group.
        pgid: i32,
        /// The cause.
        #[source]
        source: nix::Error,
    },
    /// The container engine refused or failed (the message carries its causes).
    #[error("the container engine failed: {0}")]
    Engine(String),
    /// Waiting for the replica failed.
    #[error("cannot wait for process {pid}")]
    Wait {
        /// The process.
        pid: u32,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
