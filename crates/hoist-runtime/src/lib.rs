//! The local runtime: what `hoist deploy` runs on this machine when no cluster is configured.
//!
//! So far: the decisions, as pure state machines — when a replica counts as ready or must be
//! restarted ([`probe`]), how long to wait before restarting a crashing one ([`backoff`]), what
//! a rolling update does next ([`rollout`]) — and the replica drivers ([`driver`]): `process`
//! runs a binary in its own process group with `$PORT`, `container` runs the image through the
//! Docker Engine API (dockerd or podman); both capture output to rotating logs and stop a
//! replica with SIGTERM then SIGKILL after a grace period.
//!
//! The state machines are functions of observed state and a time passed in by the caller:
//! nothing in them sleeps, spawns or reads a clock, so each rule is unit-tested from literal
//! states. Their semantics are Kubernetes' own (probes as the kubelet runs them, rollouts as the
//! Deployment controller makes them), so an app behaves the same on one machine and in a cluster.
//!
//! The ingress proxy ([`proxy`]) routes by Host and path to ready replicas, retries on another
//! replica when one refuses or drops a request it can replay, and counts requests, errors and
//! latency by app and revision.
//!
//! The agent ([`agent`]) ties them together: a durable store, a JSON API on a Unix socket
//! ([`api`], [`client`]), and one controller per app that starts, probes, rolls out and stops
//! replicas and publishes the ready ones to the proxy. Its state directory is private to its
//! user ([`private`]).

pub mod acme;
pub mod agent;
pub mod api;
pub mod backoff;
pub mod client;
pub mod driver;
mod error;
pub mod logs;
pub mod private;
pub mod probe;
pub mod proxy;
pub mod rollout;
pub mod store;

pub use error::RuntimeError;

/// An error and its causes on one line, `a: b: c`, for messages that go over the API.
pub(crate) fn report_chain(e: &(dyn std::error::Error + 'static)) -> String {
    hoist_core::error_line(e)
}
