//! The OCI image config: how the container runs, and which layers make its filesystem.

use std::collections::BTreeMap;

use hoist_core::{Digest, Platform};
use serde::{Deserialize, Serialize};

/// `PATH` of every image: `/app` first so the binary can be found by name, then the usual
/// directories for images built on a registry base.
pub const DEFAULT_PATH: &str = "PATH=/app:/usr/local/bin:/usr/bin:/bin";

/// The user every image runs as: nonroot (65532:65532, distroless' value), never root. Numeric,
/// so it works without `/etc/passwd` too (a `scratch` base).
pub const USER: &str = "65532:65532";

/// The working directory: where the binary is.
pub const WORKING_DIR: &str = "/app";

/// `created_by` in the history: the tool, not a command line (there is no Dockerfile).
const CREATED_BY: &str = "hoist";

/// The runtime part of the config (Docker's capitalised keys, as the OCI spec keeps them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RunConfig {
    pub entrypoint: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[allow(clippy::zero_sized_map_values)] // OCI's shape: `{"8080/tcp": {}}`
    pub exposed_ports: BTreeMap<String, Empty>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub user: String,
    pub working_dir: String,
}

/// `{}`, the value of each exposed port.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Empty {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct History {
    pub created: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The whole image config document.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImageConfig {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub created: String,
    pub config: RunConfig,
    pub rootfs: RootFs,
    pub history: Vec<History>,
}

/// What a config is made from.
pub(crate) struct ConfigInput<'a> {
    pub platform: &'a Platform,
    pub entrypoint: String,
    pub args: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub port: Option<u16>,
    pub labels: BTreeMap<String, String>,
    pub created: u64,
    /// One per layer, bottom first: its diff_id, when it was made and what it is.
    pub layers: Vec<(Digest, u64, &'static str)>,
}

impl ImageConfig {
    pub fn new(input: ConfigInput<'_>) -> Self {
        let mut env = Vec::with_capacity(input.env.len() + 1);
        // A caller's PATH replaces ours rather than appearing twice.
        if !input.env.contains_key("PATH") {
            env.push(DEFAULT_PATH.to_owned());
        }
        env.extend(input.env.iter().map(|(k, v)| format!("{k}={v}")));
        let exposed_ports = input
            .port
            .map(|p| (format!("{p}/tcp"), Empty {}))
            .into_iter()
            .collect();
        let history = input
            .layers
            .iter()
            .map(|(_, created, comment)| History {
                created: rfc3339(*created),
                created_by: CREATED_BY.to_owned(),
                comment: Some((*comment).to_owned()),
            })
            .collect();
        Self {
            architecture: input.platform.arch.clone(),
            os: input.platform.os.clone(),
            variant: input.platform.variant.clone(),
            created: rfc3339(input.created),
            config: RunConfig {
                entrypoint: vec![input.entrypoint],
                cmd: input.args.to_vec(),
                env,
                exposed_ports,
                labels: input.labels,
                user: USER.to_owned(),
                working_dir: WORKING_DIR.to_owned(),
            },
            rootfs: RootFs {
                kind: "layers".to_owned(),
                diff_ids: input.layers.into_iter().map(|(d, _, _)| d).collect(),
            },
            history,
        }
    }
}

/// Seconds since the Unix epoch as RFC 3339 UTC (`2024-01-02T03:04:05Z`), the format OCI uses.
pub fn rfc3339(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Howard Hinnant's `civil_from_days`, for days since 1970-01-01 (non-negative only).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn config_has_entrypoint_user_ports_and_sorted_env() {
        let platform: Platform = "linux/arm64".parse().unwrap();
        let env = BTreeMap::from([
            ("B".to_owned(), "2".to_owned()),
            ("A".to_owned(), "1".to_owned()),
        ]);
        let c = ImageConfig::new(ConfigInput {
            platform: &platform,
            entrypoint: "/app/hello".to_owned(),
            args: &[],
            env: &env,
            port: Some(8080),
            labels: BTreeMap::new(),
            created: 0,
            layers: vec![(Digest::of(b"x"), 0, "app")],
        });
        let json: serde_json::Value =
            serde_json::from_slice(&crate::manifest::canonical_json(&c)).unwrap();
        assert_eq!(json["architecture"], "arm64");
        assert_eq!(json["config"]["Entrypoint"][0], "/app/hello");
        assert!(json["config"].get("Cmd").is_none());
        assert_eq!(
            json["config"]["Env"],
            serde_json::json!([DEFAULT_PATH, "A=1", "B=2"])
        );
        assert_eq!(
            json["config"]["ExposedPorts"],
            serde_json::json!({"8080/tcp": {}})
        );
        assert_eq!(json["config"]["User"], "65532:65532");
        assert_eq!(json["rootfs"]["type"], "layers");
    }
}
