//! The hosts target's transport: the user's own servers, over the user's own OpenSSH.
//!
//! What it does:
//! - opens one multiplexed connection per host ([`Connection`]) with the user's `ssh`, its
//!   config (`~/.ssh/config` or a file given with `-F`), its agent and ProxyJump, and host keys
//!   checked strictly; why a connection failed is a typed [`HostError`] per host (unknown or
//!   changed host key with the fingerprint, auth failure, unreachable within the timeout);
//! - checks hosts concurrently ([`check_all`]): reachable, OS and architecture, the hoist
//!   version there, whether its agent answers, disk free in the home;
//! - bootstraps a host ([`setup`]): this hoist binary copied to `~/.local/share/hoist/bin`
//!   (sha256 verified there, nothing sent when it is already there) and its agent started.
//!
//! - tells which blobs a host's agent store lacks and sends only those ([`missing`], [`send`]),
//!   zstd-compressed, each verified by digest on the host before the store sees it;
//! - forwards the host's agent socket over the connection ([`AgentTunnel`]), so the CLI talks
//!   to a host's agent with the same client and API as to its own.
//!
//! What it does not do: read a private key (paths are handed to ssh), or talk to a host without
//! ssh.

mod blobs;
mod bootstrap;
mod check;
mod error;
mod facts;
mod public;
mod ssh;
mod tunnel;

pub use blobs::{Base, Frames, Sent, missing, send};
pub use bootstrap::{
    AgentStart, Binary, HOST_PLATFORMS, Install, Setup, foreign_name, setup, setup_all,
};
pub use check::{HostReport, HostReportJson, check_all, facts};
pub use error::HostError;
pub use facts::{Facts, go_arch, layout, local_platform, parse_facts};
pub use public::{Public, local_path};
pub use ssh::{Connection, SshOptions, classify, expand_home};
pub use tunnel::AgentTunnel;
