//! The connection to an engine, and what is asked of it about images and containers.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::{ContainerInspectResponse, ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ImportImageOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::{API_DEFAULT_VERSION, Docker};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt as _};
use tokio::io::AsyncReadExt as _;

use super::body::{
    self, adopted_port, create_body, loaded_images, log_policy_of, platform, published_port,
    pull_target,
};
use super::error::{ContainerError, EngineCause, is_not_found};
use super::{ContainerInfo, ContainerReplica, ContainerSpec, DEFAULT_HOST, follow, retry};
use crate::logs::RotatingLog;

/// Seconds any one request may wait for the engine's answer (bollard's default).
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// How long loading or pulling an image may take: big images on slow disks take minutes.
const TRANSFER_TIMEOUT: Duration = Duration::from_mins(30);

/// A connection to a Docker Engine API: dockerd, or `podman system service`.
///
/// Cheap to clone (one shared connection pool); every replica keeps a clone to watch and stop
/// its container.
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    host: String,
    description: String,
}

impl Engine {
    /// Connects to the engine at `host`, a `DOCKER_HOST`-style address
    /// (`unix:///var/run/docker.sock`, `unix:///run/podman/podman.sock`, `tcp://HOST:PORT`);
    /// `None` is [`DEFAULT_HOST`]. The API version is negotiated down to the engine's (podman 4
    /// speaks 1.41), so every later request is one the engine understands.
    ///
    /// # Errors
    /// [`ContainerError::UnsupportedHost`] for another scheme; [`ContainerError::Connect`],
    /// naming the address, when nothing answers there.
    pub async fn connect(host: Option<&str>) -> Result<Self, ContainerError> {
        let host = host.unwrap_or(DEFAULT_HOST).to_owned();
        let connect_error = |source| ContainerError::Connect {
            host: host.clone(),
            source,
        };
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(&host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(&host, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
        } else {
            return Err(ContainerError::UnsupportedHost { host });
        }
        .map_err(connect_error)?;
        let docker = docker.negotiate_version().await.map_err(connect_error)?;
        let version = docker.version().await.map_err(connect_error)?;
        let api = docker.client_version();
        let description = match version
            .components
            .iter()
            .flatten()
            .find(|c| c.name.to_ascii_lowercase().contains("podman"))
        {
            Some(podman) => format!("podman {} (API {api})", podman.version),
            None => format!(
                "docker {} (API {api})",
                version.version.as_deref().unwrap_or("unknown")
            ),
        };
        tracing::debug!(%host, engine = %description, "connected to the container engine");
        Ok(Self {
            docker,
            host,
            description,
        })
    }

    /// Which engine this is, for messages: `docker 28.1.1 (API 1.49)`, `podman 4.3.1 (API 1.41)`.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// The address connected to.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The engine's os/arch as an OCI platform, e.g. `linux/amd64`: what images must be built
    /// for to run here.
    ///
    /// # Errors
    /// [`ContainerError::Connect`] when the engine cannot be asked.
    pub async fn platform(&self) -> Result<String, ContainerError> {
        let v = self
            .docker
            .version()
            .await
            .map_err(|source| ContainerError::Connect {
                host: self.host.clone(),
                source,
            })?;
        Ok(platform(v.os.as_deref(), v.arch.as_deref()))
    }

    /// Loads a `docker save`-style archive (what `hoist build --output docker-archive:FILE`
    /// writes) through `POST /images/load`, streaming the file, and returns the first image the
    /// engine reports loaded: a tag as the engine names it (`hello:v1`, podman
    /// `localhost/hello:v1`), or an id for an untagged image.
    ///
    /// # Errors
    /// [`ContainerError::Archive`] when the file cannot be opened, [`ContainerError::Load`]
    /// when the engine refuses it, [`ContainerError::LoadedNothing`] when it names no image.
    pub async fn load_archive(&self, archive: &Path) -> Result<String, ContainerError> {
        let file =
            tokio::fs::File::open(archive)
                .await
                .map_err(|source| ContainerError::Archive {
                    path: archive.to_path_buf(),
                    source,
                })?;
        let docker = self.docker.clone().with_timeout(TRANSFER_TIMEOUT);
        let options = ImportImageOptionsBuilder::new().quiet(false).build();
        let mut answers = docker.import_image_stream(options, chunks(file), None);
        let mut said = Vec::new();
        while let Some(info) = answers.next().await {
            let info = info.map_err(|source| ContainerError::Load {
                path: archive.to_path_buf(),
                source,
            })?;
            said.extend(info.stream);
        }
        let images = loaded_images(said.iter().map(String::as_str));
        tracing::debug!(archive = %archive.display(), ?images, "loaded");
        images
            .into_iter()
            .next()
            .ok_or_else(|| ContainerError::LoadedNothing {
                path: archive.to_path_buf(),
                said: said.concat().trim().to_owned(),
            })
    }

    /// Pulls `reference` (`127.0.0.1:5000/hello@sha256:…`, `registry/hello:v1`) with the
    /// engine's own pull, credentials and registry settings; a reference with neither tag nor
    /// digest pulls `latest`.
    ///
    /// # Errors
    /// [`ContainerError::Pull`] with the engine's reason.
    pub async fn pull(&self, reference: &str) -> Result<(), ContainerError> {
        let (image, tag) = pull_target(reference);
        let options = CreateImageOptionsBuilder::new()
            .from_image(&image)
            .tag(&tag)
            .build();
        let docker = self.docker.clone().with_timeout(TRANSFER_TIMEOUT);
        let mut progress = docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step.map_err(|source| ContainerError::Pull {
                reference: reference.to_owned(),
                source,
            })?;
        }
        Ok(())
    }

    /// The os/arch of an image in the engine, e.g. `linux/arm64`: checked before anything
    /// starts, so an image for another architecture is a clear error instead of a replica that
    /// crashes with `exec format error`.
    ///
    /// # Errors
    /// [`ContainerError::ImageNotFound`], or [`ContainerError::Image`] when the engine fails.
    pub async fn image_platform(&self, image: &str) -> Result<String, ContainerError> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(platform(i.os.as_deref(), i.architecture.as_deref())),
            Err(e) if is_not_found(&e) => Err(ContainerError::ImageNotFound {
                image: image.to_owned(),
            }),
            Err(source) => Err(ContainerError::Image {
                action: "inspect",
                image: image.to_owned(),
                source,
            }),
        }
    }

    /// Checks that `image` is for the engine's own os/arch.
    ///
    /// # Errors
    /// [`ContainerError::WrongPlatform`] naming both platforms, or what
    /// [`Engine::image_platform`] and [`Engine::platform`] return.
    pub async fn check_platform(&self, image: &str) -> Result<(), ContainerError> {
        let image_platform = self.image_platform(image).await?;
        let engine_platform = self.platform().await?;
        if image_platform == engine_platform {
            Ok(())
        } else {
            Err(ContainerError::WrongPlatform {
                image: image.to_owned(),
                image_platform,
                engine_platform,
            })
        }
    }

    /// Creates and starts a replica container (see the module documentation for its settings)
    /// and starts copying its output into `spec.log`. A container that cannot be started is
    /// removed again, so the caller can retry with the same name.
    ///
    /// # Errors
    /// [`ContainerError::Log`] when the log cannot be opened (nothing is created then);
    /// [`ContainerError::Container`] when the engine fails the create or the start (a name in
    /// use, a port taken, a missing image); [`ContainerError::NoPublishedPort`] when the
    /// engine picked a port and reports none for a running container.
    pub async fn start(&self, spec: &ContainerSpec) -> Result<ContainerReplica, ContainerError> {
        let log = RotatingLog::open(spec.log.clone()).await?;
        let fail = |action, source| ContainerError::Container {
            action,
            container: spec.name.clone(),
            source,
        };
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), create_body(spec))
            .await
            .map_err(|e| fail("create", e))?;
        for warning in &created.warnings {
            tracing::warn!(container = %spec.name, %warning, "the engine warned");
        }
        if let Err(e) = self.docker.start_container(&created.id, None).await {
            let _ = self.remove(&created.id).await;
            return Err(fail("start", e));
        }
        let started = Instant::now();
        let host_port = match spec.host_port {
            0 => {
                self.engine_picked_port(&created.id, spec.container_port)
                    .await?
            }
            p => p,
        };
        let follower = follow::spawn(self.docker.clone(), created.id.clone(), None, log);
        Ok(ContainerReplica::new(
            self.docker.clone(),
            created.id,
            host_port,
            started,
            follower,
        ))
    }

    async fn engine_picked_port(
        &self,
        id: &str,
        container_port: u16,
    ) -> Result<u16, ContainerError> {
        let inspect = self.inspect(id).await?;
        match published_port(&inspect, container_port) {
            Some(p) => Ok(p),
            // It exited before the port could be read: the caller sees the exit instead.
            None if !is_running(&inspect) => Ok(0),
            None => Err(ContainerError::NoPublishedPort {
                container: id.to_owned(),
                container_port,
            }),
        }
    }

    /// The container `id` (or name) that a previous agent started, running or not, so a
    /// restarted agent can take over its replicas: `None` if the engine has no such container.
    ///
    /// The replica's output is followed again, into the log the container was started with
    /// (recorded in its labels), from the time of the adoption on: lines printed while no agent
    /// followed are not copied (the engine still has them), and lines of the adoption's own
    /// second may appear twice. A container started without those labels is adopted without
    /// following its output. Adopt a container once: each adoption follows its output anew.
    ///
    /// # Errors
    /// [`ContainerError::Container`] when the engine fails the inspect; [`ContainerError::Log`]
    /// when the log cannot be opened.
    pub async fn adopt(&self, id: &str) -> Result<Option<ContainerReplica>, ContainerError> {
        let adopted_at = jiff::Timestamp::now();
        let inspect = retry::readable("inspect", || self.docker.inspect_container(id, None));
        let inspect = match inspect.await {
            Ok(i) => i,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(source) => {
                return Err(ContainerError::Container {
                    action: "inspect",
                    container: id.to_owned(),
                    source,
                });
            }
        };
        let id = inspect.id.clone().unwrap_or_else(|| id.to_owned());
        let started = body::started_at(&inspect)
            .and_then(|t| adopted_at.duration_since(t).try_into().ok())
            .and_then(|running: Duration| Instant::now().checked_sub(running))
            .unwrap_or_else(Instant::now);
        let follower = if let Some(policy) = log_policy_of(&inspect) {
            let log = RotatingLog::open(policy).await?;
            let since = adopted_at.as_second();
            follow::spawn(self.docker.clone(), id.clone(), Some(since), log)
        } else {
            tracing::warn!(container = %id, "adopted without a log: it has no hoist log labels");
            follow::Follower::none()
        };
        Ok(Some(ContainerReplica::new(
            self.docker.clone(),
            id,
            adopted_port(&inspect).unwrap_or(0),
            started,
            follower,
        )))
    }

    /// Every container labelled `key=value`, running or not: the agent's view of what it
    /// started, for orphan clean-up after a crash.
    ///
    /// # Errors
    /// [`ContainerError::List`] when the engine fails the request.
    pub async fn list_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<ContainerInfo>, ContainerError> {
        let label = format!("{key}={value}");
        let filters = HashMap::from([("label", vec![label.as_str()])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let found = retry::readable("list", || {
            self.docker.list_containers(Some(options.clone()))
        })
        .await
        .map_err(|source| ContainerError::List {
            label: label.clone(),
            source,
        })?;
        Ok(found.into_iter().filter_map(info).collect())
    }

    /// Removes the container `id` (or name), killing it if it runs: for orphans. A container
    /// that is already gone is not an error.
    ///
    /// # Errors
    /// [`ContainerError::Container`] when the engine fails the removal.
    pub async fn remove(&self, id: &str) -> Result<(), ContainerError> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(source) => Err(ContainerError::Container {
                action: "remove",
                container: id.to_owned(),
                source,
            }),
        }
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, ContainerError> {
        retry::readable("inspect", || self.docker.inspect_container(id, None))
            .await
            .map_err(|source: EngineCause| ContainerError::Container {
                action: "inspect",
                container: id.to_owned(),
                source,
            })
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("host", &self.host)
            .field("engine", &self.description)
            .finish_non_exhaustive()
    }
}

fn is_running(inspect: &ContainerInspectResponse) -> bool {
    inspect.state.as_ref().and_then(|s| s.running) == Some(true)
}

fn info(c: ContainerSummary) -> Option<ContainerInfo> {
    let name = c
        .names
        .iter()
        .flatten()
        .next()
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    Some(ContainerInfo {
        id: c.id?,
        name,
        labels: c
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        running: c.state == Some(ContainerSummaryStateEnum::RUNNING),
    })
}

/// The file as a stream of chunks, for a request body that is never all in memory.
fn chunks(file: tokio::fs::File) -> impl Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::try_unfold(file, |mut file| async move {
        let mut buf = BytesMut::with_capacity(256 * 1024);
        match file.read_buf(&mut buf).await? {
            0 => Ok(None),
            _ => Ok(Some((buf.freeze(), file))),
        }
    })
}
