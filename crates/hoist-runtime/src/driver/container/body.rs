//! The pure parts of the driver: the create request made from a [`ContainerSpec`], and what is
//! read back from the engine's answers (loaded images, published ports, platforms).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, HostConfigLogConfig, Mount,
    MountType, PortBinding, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};

use super::{ContainerSpec, MANAGED_LABEL, NOFILE_LIMIT, NPROC_LIMIT};
use crate::logs::LogPolicy;

/// Labels recording the replica's [`LogPolicy`] on its container, so that an agent adopting it
/// after a crash writes to the same log.
const LOG_PATH_LABEL: &str = "dev.hoist.log.path";
const LOG_MAX_BYTES_LABEL: &str = "dev.hoist.log.max-bytes";
const LOG_KEEP_LABEL: &str = "dev.hoist.log.keep";

/// The address replicas are published on: never beyond this machine; the proxy fronts them.
pub(super) const PUBLISH_IP: &str = "127.0.0.1";

/// `8080/tcp`: how the Engine API names a container port.
pub(super) fn port_key(container_port: u16) -> String {
    format!("{container_port}/tcp")
}

/// The create request for `spec`.
pub(super) fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let mut env = spec.env.clone();
    env.insert("PORT".to_owned(), spec.container_port.to_string());
    let cmd = (!spec.args.is_empty()).then(|| {
        spec.args
            .iter()
            .map(|a| hoist_core::expand::expand(a, |name| env.get(name).cloned()))
            .collect()
    });
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.insert(MANAGED_LABEL.to_owned(), "true".to_owned());
    // A path that is not UTF-8 cannot be a label: such a replica is adopted without its log.
    if let Some(path) = spec.log.path.to_str() {
        labels.insert(LOG_PATH_LABEL.to_owned(), path.to_owned());
        labels.insert(
            LOG_MAX_BYTES_LABEL.to_owned(),
            spec.log.max_bytes.to_string(),
        );
        labels.insert(LOG_KEEP_LABEL.to_owned(), spec.log.keep.to_string());
    }
    let port = port_key(spec.container_port);
    let host_port = match spec.host_port {
        0 => String::new(),
        p => p.to_string(),
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd,
        env: Some(env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()),
        exposed_ports: Some(vec![port.clone()]),
        labels: Some(labels),
        // What the agent's stop sends first; the grace period is given with each stop, as the
        // Engine API's stop timeout.
        stop_signal: Some("SIGTERM".to_owned()),
        attach_stdin: Some(false),
        attach_stdout: Some(false),
        attach_stderr: Some(false),
        tty: Some(false),
        host_config: Some(HostConfig {
            port_bindings: Some(HashMap::from([(
                port,
                Some(vec![PortBinding {
                    host_ip: Some(PUBLISH_IP.to_owned()),
                    host_port: Some(host_port),
                }]),
            )])),
            mounts: spec.volume.as_ref().map(|(name, path)| {
                vec![Mount {
                    typ: Some(MountType::VOLUME),
                    source: Some(name.clone()),
                    target: Some(path.clone()),
                    read_only: Some(false),
                    ..Mount::default()
                }]
            }),
            ulimits: Some(
                [("nofile", NOFILE_LIMIT), ("nproc", NPROC_LIMIT)]
                    .into_iter()
                    .map(|(name, limit)| ResourcesUlimits {
                        name: Some(name.to_owned()),
                        soft: Some(limit),
                        hard: Some(limit),
                    })
                    .collect(),
            ),
            // The agent restarts replicas itself, with back-off, and must see each exit.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            // The agent reads the exit code after the container stopped; stop() removes it.
            auto_remove: Some(false),
            // A log the engine can replay with `since` (dockerd's default; podman maps it to its
            // k8s-file driver instead of journald, which a service without systemd lacks).
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".to_owned()),
                config: None,
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    }
}

/// The images an `/images/load` answer names, from its `Loaded image: A` (dockerd, one line
/// per tag), `Loaded image: A,B` (podman, all tags on one line) and `Loaded image ID: sha256:…`
/// (an untagged image) messages, in the order given.
pub(super) fn loaded_images<'a>(messages: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut images = Vec::new();
    for line in messages.into_iter().flat_map(str::lines) {
        let names = line
            .trim()
            .strip_prefix("Loaded image ID:")
            .or_else(|| line.trim().strip_prefix("Loaded image:"));
        for name in names.into_iter().flat_map(|n| n.split(',')) {
            let name = name.trim();
            if !name.is_empty() && !images.iter().any(|i| i == name) {
                images.push(name.to_owned());
            }
        }
    }
    images
}

/// The host port published on 127.0.0.1 for `container_port`, from an inspect answer: the live
/// binding of a running container, else the one it was created with.
pub(super) fn published_port(
    inspect: &ContainerInspectResponse,
    container_port: u16,
) -> Option<u16> {
    let key = port_key(container_port);
    let live = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .and_then(|p| p.get(&key).cloned().flatten());
    let configured = inspect
        .host_config
        .as_ref()
        .and_then(|h| h.port_bindings.as_ref())
        .and_then(|p| p.get(&key).cloned().flatten());
    [live, configured]
        .into_iter()
        .flatten()
        .find_map(|bindings| {
            bindings.iter().find_map(|b| {
                let ip = b.host_ip.as_deref().unwrap_or_default();
                let local = ip.is_empty() || ip == PUBLISH_IP || ip == "0.0.0.0";
                b.host_port
                    .as_deref()
                    .and_then(|p| p.parse::<u16>().ok())
                    .filter(|p| local && *p != 0)
            })
        })
}

/// The log policy recorded in a container's labels by [`create_body`].
pub(super) fn log_policy_of(inspect: &ContainerInspectResponse) -> Option<LogPolicy> {
    let labels = inspect.config.as_ref()?.labels.as_ref()?;
    Some(LogPolicy {
        path: PathBuf::from(labels.get(LOG_PATH_LABEL)?),
        max_bytes: labels.get(LOG_MAX_BYTES_LABEL)?.parse().ok()?,
        keep: labels.get(LOG_KEEP_LABEL)?.parse().ok()?,
    })
}

/// The published port of a container found again: its app port is the `PORT` the driver set.
pub(super) fn adopted_port(inspect: &ContainerInspectResponse) -> Option<u16> {
    let port = inspect
        .config
        .as_ref()?
        .env
        .iter()
        .flatten()
        .rev()
        .find_map(|kv| kv.strip_prefix("PORT="))?
        .parse()
        .ok()?;
    published_port(inspect, port)
}

/// When the engine last started the container.
pub(super) fn started_at(inspect: &ContainerInspectResponse) -> Option<jiff::Timestamp> {
    inspect.state.as_ref()?.started_at.as_deref()?.parse().ok()
}

/// `os/arch` as OCI platforms are written; an absent part is `unknown`, which matches nothing.
pub(super) fn platform(os: Option<&str>, arch: Option<&str>) -> String {
    let part = |p: Option<&str>| match p {
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => "unknown".to_owned(),
    };
    format!("{}/{}", part(os), part(arch))
}

/// The Engine API's stop timeout for `grace`: whole seconds, rounded up, so the app gets at
/// least the grace it was promised (0 only for no grace at all, which means SIGKILL at once).
pub(super) fn stop_timeout_secs(grace: Duration) -> i32 {
    let secs = grace.as_secs() + u64::from(grace.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// `fromImage` and `tag` for pulling `reference`: a reference without tag or digest gets
/// `latest`, because an empty tag asks dockerd for every tag of the repository.
pub(super) fn pull_target(reference: &str) -> (String, String) {
    if reference.contains('@') {
        return (reference.to_owned(), String::new());
    }
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rsplit_once(':') {
        Some((_, tag)) => {
            let repo = &reference[..reference.len() - tag.len() - 1];
            (repo.to_owned(), tag.to_owned())
        }
        None => (reference.to_owned(), "latest".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use bollard::models::{ContainerConfig, ContainerState, NetworkSettings};

    use super::*;
    use crate::logs::LogPolicy;

    fn spec(host_port: u16) -> ContainerSpec {
        ContainerSpec {
            image: "hello:dev".to_owned(),
            name: "hello-1".to_owned(),
            env: BTreeMap::from([
                ("PORT".to_owned(), "1".to_owned()),
                ("A".to_owned(), "b".to_owned()),
            ]),
            container_port: 8080,
            args: vec!["--addr=:$(PORT)".to_owned(), "$(A)$$(A)$(NOPE)".to_owned()],
            volume: None,
            host_port,
            labels: BTreeMap::from([("app".to_owned(), "hello".to_owned())]),
            log: LogPolicy {
                path: PathBuf::from("/tmp/x.log"),
                max_bytes: 1,
                keep: 0,
            },
        }
    }

    #[test]
    fn the_driver_sets_port_publishes_on_loopback_and_labels() {
        let body = create_body(&spec(4000));
        assert_eq!(body.env.unwrap(), ["A=b", "PORT=8080"]);
        assert_eq!(
            body.cmd.unwrap(),
            ["--addr=:8080", "b$(A)$(NOPE)"],
            "args expanded as the kubelet does"
        );
        assert_eq!(body.exposed_ports.unwrap(), ["8080/tcp"]);
        let labels = body.labels.unwrap();
        assert_eq!(labels["app"], "hello");
        assert_eq!(labels[MANAGED_LABEL], "true");
        let host = body.host_config.unwrap();
        let binding = &host.port_bindings.unwrap()["8080/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("4000"));
        assert_eq!(host.auto_remove, Some(false));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::NO)
        );
        let ulimits = host.ulimits.unwrap();
        assert_eq!(ulimits[0].name.as_deref(), Some("nofile"));
        assert_eq!(ulimits[1].name.as_deref(), Some("nproc"));
        assert_eq!(ulimits[1].hard, Some(NPROC_LIMIT));
    }

    #[test]
    fn host_port_zero_lets_the_engine_pick() {
        let host = create_body(&spec(0)).host_config.unwrap();
        let binding = &host.port_bindings.unwrap()["8080/tcp"].clone().unwrap()[0];
        assert_eq!(binding.host_port.as_deref(), Some(""));
    }

    #[test]
    fn loaded_images_of_dockerd_and_podman() {
        let dockerd = ["Loaded image: hello:dev\n", "Loaded image: hello:latest\n"];
        assert_eq!(loaded_images(dockerd), ["hello:dev", "hello:latest"]);
        let podman = ["Loaded image: localhost/hello:dev,localhost/hello:latest"];
        assert_eq!(
            loaded_images(podman),
            ["localhost/hello:dev", "localhost/hello:latest"]
        );
        let untagged = ["The image was renamed\n", "Loaded image ID: sha256:abc\n"];
        assert_eq!(loaded_images(untagged), ["sha256:abc"]);
        assert!(loaded_images(["nothing here"]).is_empty());
    }

    #[test]
    fn the_live_port_wins_over_the_configured_one() {
        let bind = |port: &str| {
            Some(HashMap::from([(
                "8080/tcp".to_owned(),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(port.to_owned()),
                }]),
            )]))
        };
        let mut inspect = ContainerInspectResponse {
            host_config: Some(HostConfig {
                port_bindings: bind(""),
                ..HostConfig::default()
            }),
            ..ContainerInspectResponse::default()
        };
        assert_eq!(published_port(&inspect, 8080), None);
        inspect.network_settings = Some(NetworkSettings {
            ports: bind("32768"),
            ..NetworkSettings::default()
        });
        assert_eq!(published_port(&inspect, 8080), Some(32768));
        assert_eq!(published_port(&inspect, 9090), None);
    }

    #[test]
    fn an_adopted_container_gives_back_its_log_port_and_start() {
        let body = create_body(&spec(4000));
        let inspect = ContainerInspectResponse {
            config: Some(ContainerConfig {
                labels: body.labels,
                env: body.env,
                ..ContainerConfig::default()
            }),
            host_config: body.host_config,
            state: Some(ContainerState {
                started_at: Some("2024-05-01T12:00:00.5+02:00".to_owned()),
                ..ContainerState::default()
            }),
            ..ContainerInspectResponse::default()
        };
        assert_eq!(log_policy_of(&inspect), Some(spec(4000).log));
        assert_eq!(adopted_port(&inspect), Some(4000));
        assert_eq!(
            started_at(&inspect).map(jiff::Timestamp::as_millisecond),
            Some(1_714_557_600_500)
        );
    }

    #[test]
    fn grace_is_rounded_up_to_whole_seconds() {
        assert_eq!(stop_timeout_secs(Duration::ZERO), 0);
        assert_eq!(stop_timeout_secs(Duration::from_millis(300)), 1);
        assert_eq!(stop_timeout_secs(Duration::from_secs(45)), 45);
        assert_eq!(stop_timeout_secs(Duration::from_millis(45_001)), 46);
    }

    #[test]
    fn pulls_name_a_tag_or_a_digest() {
        let digest = "127.0.0.1:5000/hello@sha256:0123";
        assert_eq!(pull_target(digest), (digest.to_owned(), String::new()));
        assert_eq!(
            pull_target("127.0.0.1:5000/hello"),
            ("127.0.0.1:5000/hello".to_owned(), "latest".to_owned())
        );
        assert_eq!(
            pull_target("127.0.0.1:5000/hello:v1"),
            ("127.0.0.1:5000/hello".to_owned(), "v1".to_owned())
        );
    }

    #[test]
    fn platforms_are_os_slash_arch() {
        assert_eq!(platform(Some("linux"), Some("arm64")), "linux/arm64");
        assert_eq!(platform(None, Some("")), "unknown/unknown");
    }
}
