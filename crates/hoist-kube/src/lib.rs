//! The Kubernetes target: rendered objects → clusters, through kube-rs.
//!
//! What it does:
//! - [`Kubeconfigs`] reads kubeconfig files (the caller names them) and makes a [`Cluster`]
//!   client per context, with errors naming the file and line, or the contexts there are;
//! - [`deploy()`] runs one deploy to one cluster: dry run, a revision record kept in the
//!   cluster (a Secret), server-side apply with field manager `hoist`, prune, the rollout wait
//!   ([`rollout::status`] is `kubectl rollout status`'s condition, pure and unit-tested), and
//!   on failure the reason from the cluster and a rollback to the previous revision;
//! - [`rollback_release`], [`status()`], [`diff()`] and the records ([`Records`]) back
//!   `hoist rollback`, `status`, `history` and `diff`;
//! - [`deploy_canary`] walks a canary by replica ratio (a stable and a canary Deployment behind
//!   the one Service), judged by `hoist-canary` on figures the caller supplies ([`Figures`]);
//! - [`fleet::each`] fans work out over several clusters with bounded concurrency.
//!
//! What it does not do: render objects (`hoist-render`), build or push images, read the
//! environment (`$KUBECONFIG` is resolved by the binary), print anything, or install the rustls
//! crypto provider (the binary does, once: ring).

mod access;
mod apply;
pub mod canary;
mod cluster;
mod deploy;
mod diff;
mod error;
pub mod fleet;
mod kinds;
mod kubeconfig;
mod prune;
mod reason;
mod revision;
pub mod rollout;
mod status;
mod wait;

pub use access::Access;
pub use apply::{FIELD_MANAGER, Manifest};
pub use canary::{CanaryRecord, Figures, deploy_canary, intervene};
pub use cluster::Cluster;
pub use deploy::{
    Event, Observer, Options, Outcome, Quiet, Release, Report, Target, Timings, deploy, preflight,
    rollback_release,
};
pub use diff::{Change, diff};
pub use error::{ApiStatus, FieldConflict, Forbidden, KubeError, Result};
pub use kinds::{ALL as KINDS, Kind};
pub use kubeconfig::Kubeconfigs;
pub use reason::findings;
pub use revision::{REVISION_LABEL, Record, RecordOutcome, Records, SECRET_TYPE, secret_name};
pub use status::{Status, status};
