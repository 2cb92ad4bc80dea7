//! Canary figures from Prometheus: a small client for its HTTP query API (instant queries,
//! `/api/v1/query` with `time=`) and [`Source`], which runs `[verify.prometheus]`'s templates
//! for one revision over a window and gives a [`hoist_canary::Sample`], so the Kubernetes
//! target judges a canary with the same [`hoist_canary::judge`] and [`hoist_canary::Walk`] as
//! the local agent.
//!
//! What it does not do: decide anything (that is `hoist-canary`), retry (the walk asks again
//! at the next interval, and a query error is reported as such). Like hoist-registry it installs
//! ring as the process's rustls provider if none is (the binary installs the same one).

mod client;
mod error;
mod source;

pub use client::{Client, Series};
pub use error::{PromError, Result};
pub use source::{Source, histogram_from_buckets};
