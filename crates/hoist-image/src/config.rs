//! The OCI image config: how the container runs, and which layers make its filesystem.

use std::collections::BTreeMap;

use hoist_core::{Digest, Platform};
use serde::{Deserialize, Serialize};

use crate::registry_base::BaseConfig;

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

/// One history entry: hoist's own have `created`, `created_by` and `comment`; a registry
/// base's are kept as they are (OCI's optional fields, `empty_layer` for steps without a layer).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
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
    /// One per layer of hoist's own, bottom first: its diff_id, when it was made and what it is.
    pub layers: Vec<(Digest, u64, &'static str)>,
    /// The config of a registry base, whose layers come before `layers`.
    pub base: Option<&'a BaseConfig>,
}

impl ImageConfig {
    /// The config of an image made of `input`'s layers, on its registry base if it has one.
    ///
    /// From a registry base the image keeps the `Env` (its `PATH` too; [`DEFAULT_PATH`] only
    /// when it has none), the `User` when it sets one (else [`USER`]), and the diff_ids and
    /// history of its layers, below ours. Entrypoint, Cmd, ExposedPorts, WorkingDir and labels
    /// are always hoist's.
    pub fn new(input: ConfigInput<'_>) -> Self {
        let base = input.base;
        let env = merge_env(base.map(BaseConfig::env).unwrap_or_default(), input.env);
        let exposed_ports = input
            .port
            .map(|p| (format!("{p}/tcp"), Empty {}))
            .into_iter()
            .collect();
        let mut history: Vec<History> = base.map(|b| b.history.clone()).unwrap_or_default();
        history.extend(input.layers.iter().map(|(_, created, comment)| History {
            created: Some(rfc3339(*created)),
            created_by: Some(CREATED_BY.to_owned()),
            author: None,
            comment: Some((*comment).to_owned()),
            empty_layer: false,
        }));
        let mut diff_ids: Vec<Digest> = base.map(|b| b.rootfs.diff_ids.clone()).unwrap_or_default();
        diff_ids.extend(input.layers.into_iter().map(|(d, _, _)| d));
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
                user: base.and_then(BaseConfig::user).unwrap_or(USER).to_owned(),
                working_dir: WORKING_DIR.to_owned(),
            },
            rootfs: RootFs {
                kind: "layers".to_owned(),
                diff_ids,
            },
            history,
        }
    }
}

/// The base's `KEY=VALUE`s in their order (with [`DEFAULT_PATH`] first when none is `PATH`),
/// then ours: a key of ours replaces the same key in place rather than appearing twice.
fn merge_env(base: &[String], ours: &BTreeMap<String, String>) -> Vec<String> {
    let key = |kv: &str| kv.split_once('=').map_or(kv, |(k, _)| k).to_owned();
    let mut env = Vec::with_capacity(base.len() + ours.len() + 1);
    if !ours.contains_key("PATH") && !base.iter().any(|kv| key(kv) == "PATH") {
        env.push(DEFAULT_PATH.to_owned());
    }
    env.extend(base.iter().cloned());
    for (k, v) in ours {
        let kv = format!("{k}={v}");
        match env.iter_mut().find(|e| key(e) == *k) {
            Some(e) => *e = kv,
            None => env.push(kv),
        }
    }
    env
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
            base: None,
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
