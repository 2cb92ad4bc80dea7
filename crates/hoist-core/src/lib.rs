//! Types that more than one hoist stage needs: the target [`Platform`], content [`Digest`]s,
//! the merged application spec [`App`], and how a rollout ended on any target ([`Outcome`],
//! [`ReplicaReport`]).
//!
//! This crate does no I/O and has no async runtime, so every stage (and tests of pure logic) can
//! depend on it cheaply. Parsing a `hoist.toml` into an [`App`] lives in `hoist-config`; this
//! crate only defines what a valid, merged spec looks like.

mod app;
mod canary;
mod chain;
mod digest;
pub mod expand;
mod outcome;
mod platform;
pub mod promql;
mod ssh_target;
mod tag;

pub use app::{
    App, AppSection, Autoscale, Base, BuildSection, Ci, Dapr, DeployRule, Driver, Health, Hosts,
    HostsHttps, HostsPublic, HostsTls, ImageSection, Ingress, IntOrPercent, Kubernetes, Probe,
    ProbeAction, Resources, Rollout, RunSection, State, StateUpdate, TagPolicy, Writers,
};
pub use canary::{
    Canary, ChaosStep, ErrorRateSlo, LatencySlo, Rate, Relative, Slo, Sticky, Strategy,
    SyntheticTraffic,
};
pub use chain::error_line;
pub use digest::{Digest, DigestError};
pub use outcome::{Outcome, ReplicaReport};
pub use platform::{Platform, PlatformError};
pub use promql::Prometheus;
pub use ssh_target::SshTarget;
pub use tag::is_valid_tag;
