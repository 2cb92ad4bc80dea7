//! What can go wrong driving replicas through a Docker Engine API.

use std::path::PathBuf;
use std::time::Duration;

use crate::RuntimeError;

/// The cause the engine (or the connection to it) gave.
pub type EngineCause = bollard::errors::Error;

/// What can go wrong driving replicas through a Docker Engine API. Each variant names the
/// address, image or container it is about; the engine's own words are the `source`.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    /// The address is not one the driver can connect to.
    #[error(
        "`{host}` is not a container engine address; expected `unix:///PATH` or `tcp://HOST:PORT`"
    )]
    UnsupportedHost {
        /// The address given.
        host: String,
    },
    /// Nothing answers at the address, or it does not speak the Engine API.
    #[error(
        "no container engine answers at `{host}`: start dockerd, or podman's API with `podman system service --time=0 {host}`"
    )]
    Connect {
        /// The address tried.
        host: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// An image archive could not be read.
    #[error("cannot read the image archive `{path}`")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The engine refused an image archive.
    #[error("the engine could not load the image archive `{path}`")]
    Load {
        /// The archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// The engine took an archive but reported no image loaded from it.
    #[error("the engine loaded no image from `{path}` (it said: `{said}`)")]
    LoadedNothing {
        /// The archive.
        path: PathBuf,
        /// What the engine said instead, for the report.
        said: String,
    },
    /// The engine could not pull an image.
    #[error("the engine could not pull `{reference}`")]
    Pull {
        /// The image reference.
        reference: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// The image is not in the engine.
    #[error("the image `{image}` is not in the engine")]
    ImageNotFound {
        /// The image reference or id.
        image: String,
    },
    /// The image is for another os/arch than the engine runs.
    #[error(
        "the image `{image}` is for `{image_platform}`, but the engine runs `{engine_platform}`"
    )]
    WrongPlatform {
        /// The image reference or id.
        image: String,
        /// The image's os/arch.
        image_platform: String,
        /// The engine's os/arch.
        engine_platform: String,
    },
    /// The replica's log file could not be opened.
    #[error(transparent)]
    Log(#[from] RuntimeError),
    /// A request about an image failed.
    #[error("cannot {action} the image `{image}`")]
    Image {
        /// What was asked (`inspect`).
        action: &'static str,
        /// The image reference or id.
        image: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// A request about a container failed.
    #[error("cannot {action} the container `{container}`")]
    Container {
        /// What was asked (`create`, `start`, `inspect`, `stop`, `remove`).
        action: &'static str,
        /// The container's name or id.
        container: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// The engine published no host port for a running replica.
    #[error(
        "the engine published no port on 127.0.0.1 for port {container_port} of the container `{container}`"
    )]
    NoPublishedPort {
        /// The container's id.
        container: String,
        /// The app's port inside it.
        container_port: u16,
    },
    /// Listing containers failed.
    #[error("cannot list the containers labelled `{label}`")]
    List {
        /// The `key=value` filter.
        label: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// A command could not be run inside a container.
    #[error("cannot run `{command}` in the container `{container}`")]
    Exec {
        /// The container's id.
        container: String,
        /// The command, its words joined by spaces.
        command: String,
        /// The cause.
        #[source]
        source: EngineCause,
    },
    /// A command run inside a container did not finish in time (it may still be running there:
    /// the Engine API cannot kill an exec).
    #[error("`{command}` in the container `{container}` did not finish within {timeout:?}")]
    ExecTimeout {
        /// The container's id.
        container: String,
        /// The command, its words joined by spaces.
        command: String,
        /// The limit it exceeded.
        timeout: Duration,
    },
}

/// Whether the engine answered 404: no such container, image or exec.
pub(super) fn is_not_found(e: &EngineCause) -> bool {
    matches!(
        e,
        EngineCause::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether the engine answered 304 or 409 to a stop or kill: the container is not running.
pub(super) fn is_not_running(e: &EngineCause) -> bool {
    matches!(
        e,
        EngineCause::DockerResponseServerError {
            status_code: 304 | 409,
            ..
        }
    )
}
