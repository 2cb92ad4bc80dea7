//! An OCI distribution client: push and pull images to and from any registry that speaks the
//! distribution API (Docker Hub, GHCR, ECR, Harbor, `registry:2`, …).
//!
//! What it does: parses image references ([`Reference`]); connects over https (plain http
//! only for the loopback interface and registries marked insecure) with extra CA files;
//! authenticates anonymously, with basic credentials, or with bearer tokens fetched per
//! repository and action and cached until they expire, from credentials found in docker's
//! `config.json` (`auths`, `credsStore`, `credHelpers`) or podman's `auth.json`
//! ([`AuthFiles`]); pushes an image ([`Client::push`]) with a HEAD before every blob,
//! cross-repository mounts, monolithic or chunked uploads, bounded concurrency, retries with
//! back-off in one layer ([`RetryPolicy`]), and manifests and tags last; pulls
//! ([`Client::pull`]) and inspects ([`Client::inspect`]) images, checking every digest; and
//! computes the tags of a push from the tag policy ([`policy_tags`]).
//!
//! What it does not do: build images (`hoist-image`), read the environment (the CLI resolves
//! `DOCKER_CONFIG` and friends into [`ClientOptions`]), or print anything (progress goes to an
//! [`Observer`]).

mod auth;
mod blobs;
mod client;
mod error;
mod inspect;
mod manifest;
mod observe;
mod parallel;
mod pull;
mod push;
mod reference;
mod retry;
mod session;
mod tags;
mod transport;
mod upload;

pub use auth::{AuthFiles, Challenge, CredentialSource, Credentials};
pub use blobs::{BlobDir, MountHints};
pub use client::{Client, ClientOptions, Stats};
pub use error::{RegistryError, Result};
pub use inspect::{InspectedImage, Inspection};
pub use manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST};
pub use observe::{BlobOutcome, Observer, Quiet};
pub use pull::{Pulled, PulledImage};
pub use push::{PushOutcome, PushRequest};
pub use reference::{DOCKER_HUB, Reference, Repository};
pub use retry::RetryPolicy;
pub use tags::{TagInputs, policy_tags};
