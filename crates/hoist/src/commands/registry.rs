//! What the registry verbs share: client settings from flags and the environment, the tag
//! policy from git, the push itself with per-blob progress, and hints for registry errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use hoist_core::{App, Digest};
use hoist_image::{BlobStore, Descriptor};
use hoist_pipeline::Tags;
use hoist_registry::{
    AuthFiles, BlobDir, BlobOutcome, Client, ClientOptions, Credentials, MountHints, Observer,
    PushOutcome, RegistryError, Repository,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::cli::{PushTargetArgs, RegistryArgs};
use crate::env_vars;

/// docker's and podman's credential files, from the environment.
pub fn auth_files() -> AuthFiles {
    let docker_config = env_vars::get(env_vars::DOCKER_CONFIG)
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))
        .map(|d| d.join("config.json"));
    let podman_auth = env_vars::get(env_vars::REGISTRY_AUTH_FILE)
        .map(PathBuf::from)
        .or_else(|| {
            env_vars::get(env_vars::XDG_RUNTIME_DIR)
                .map(|d| PathBuf::from(d).join("containers").join("auth.json"))
        });
    AuthFiles {
        podman_auth,
        docker_config,
    }
}

/// A client for `registry` (the push target or pull source, which CI credentials apply to).
pub fn client(args: &RegistryArgs, registry: &str) -> anyhow::Result<Client> {
    let mut credentials = BTreeMap::new();
    let user = env_vars::get(env_vars::HOIST_REGISTRY_USERNAME);
    let password = env_vars::get(env_vars::HOIST_REGISTRY_PASSWORD);
    match (user, password) {
        (Some(u), Some(p)) => {
            credentials.insert(registry.to_owned(), Credentials::basic(u, p));
        }
        (None, None) => {}
        _ => anyhow::bail!(
            "set both {} and {}, or neither",
            env_vars::HOIST_REGISTRY_USERNAME,
            env_vars::HOIST_REGISTRY_PASSWORD
        ),
    }
    Ok(Client::new(ClientOptions {
        credentials,
        ..client_options_for_login(args)
    })?)
}

/// Client settings from flags alone (no CI credentials).
pub fn client_options_for_login(args: &RegistryArgs) -> ClientOptions {
    ClientOptions {
        ca_files: args.ca_file.iter().cloned().collect(),
        insecure_registries: args.insecure_registries.clone(),
        auth_files: auth_files(),
        jobs: args.jobs.max(1),
        ..ClientOptions::default()
    }
}

/// The repository to push to: `--repository` / HOIST_IMAGE_REPOSITORY, else `image.repository`.
pub fn target_repository(target: &PushTargetArgs, app: Option<&App>) -> anyhow::Result<Repository> {
    let name = target
        .repository
        .clone()
        .or_else(|| app.and_then(|a| a.image.repository.clone()))
        .context(
            "no repository to push to: set `image.repository` in hoist.toml, or pass `--repository REGISTRY/PATH` (or HOIST_IMAGE_REPOSITORY)",
        )?;
    Ok(Repository::parse(&name)?)
}

/// The tag policy's tags for the checkout in `dir` (none without a hoist.toml), then `--tag`s.
pub fn tags(app: Option<&App>, dir: &Path, extra: &[String]) -> anyhow::Result<Tags> {
    Ok(Tags::read(
        app.map(|a| a.image.tags.as_slice()),
        dir,
        extra,
    )?)
}

/// Where hoist remembers which repositories hold which blobs (for mounts).
pub fn mount_hints(store: &BlobStore) -> MountHints {
    MountHints::new(store.root().join("registry").join("blob-sources"))
}

/// What `--json` prints for a push.
#[derive(Serialize)]
pub struct PushSummary<'a> {
    /// The image's digest.
    pub digest: String,
    /// `repository@digest`.
    pub reference: &'a str,
    /// The tags written.
    pub tags: &'a [String],
    /// `repository:tag@digest` for each tag.
    pub references: Vec<String>,
    /// Why no tag was written, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    /// Counters.
    #[serde(flatten)]
    pub stats: hoist_registry::Stats,
}

impl<'a> PushSummary<'a> {
    pub fn new(out: &'a PushOutcome, tags: &'a Tags) -> Self {
        Self {
            digest: out.digest.to_string(),
            reference: &out.pinned,
            tags: &tags.tags,
            references: out
                .tagged
                .iter()
                .map(|t| format!("{t}@{}", out.digest))
                .collect(),
            untagged: tags.untagged.clone(),
            stats: out.stats,
        }
    }
}

/// Pushes `root` (its blobs in `blobs`) with the pipeline's one push, and reports progress on
/// stderr: what was sent, and the tags written (or why there are none).
pub fn push(
    client: &Client,
    repository: &Repository,
    root: &Descriptor,
    blobs: &BlobDir,
    tags: &Tags,
    hints: Option<&MountHints>,
) -> anyhow::Result<PushOutcome> {
    let observer = Arc::new(BlobProgress::new("push"));
    let target = hoist_pipeline::Target {
        client,
        repository,
        tags,
        hints,
    };
    let out = hoist_pipeline::publish(root, blobs, &target, observer.clone());
    observer.clear();
    let out = out?;
    let s = &out.stats;
    eprintln!(
        "pushed {} ({} uploaded, {}; {} already there; {} mounted{})",
        out.pinned,
        s.blobs_uploaded,
        mb(s.bytes_uploaded),
        s.blobs_skipped,
        s.blobs_mounted,
        if s.retries > 0 {
            format!("; {} retries", s.retries)
        } else {
            String::new()
        }
    );
    match &tags.untagged {
        Some(why) => eprintln!("no tag written (the image is known by its digest only): {why}"),
        None => eprintln!("tagged {}", tags.tags.join(", ")),
    }
    Ok(out)
}

pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Per-blob progress: a bar per blob on a terminal, a line per finished blob otherwise.
pub struct BlobProgress {
    verb: &'static str,
    bars: Option<MultiProgress>,
    active: Mutex<BTreeMap<Digest, ProgressBar>>,
}

impl BlobProgress {
    pub fn new(verb: &'static str) -> Self {
        Self {
            verb,
            bars: console::Term::stderr().is_term().then(MultiProgress::new),
            active: Mutex::new(BTreeMap::new()),
        }
    }

    /// Removes any bars left (after a failure).
    pub fn clear(&self) {
        for (_, b) in std::mem::take(&mut *self.active.lock().expect("progress lock")) {
            b.finish_and_clear();
        }
    }
}

impl Observer for BlobProgress {
    fn blob_started(&self, digest: &Digest, size: u64) {
        if let Some(m) = &self.bars {
            let b = m.add(ProgressBar::new(size));
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} {bar:30.cyan/dim} {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .expect("static template"),
            );
            b.set_message(format!("{} {}", self.verb, digest.short()));
            b.enable_steady_tick(Duration::from_millis(200));
            self.active
                .lock()
                .expect("progress lock")
                .insert(digest.clone(), b);
        }
    }

    fn blob_progress(&self, digest: &Digest, bytes: u64) {
        if let Some(b) = self.active.lock().expect("progress lock").get(digest) {
            b.inc(bytes);
        }
    }

    fn blob_finished(&self, digest: &Digest, size: u64, outcome: &BlobOutcome) {
        let what = match outcome {
            BlobOutcome::Uploaded => "uploaded".to_owned(),
            BlobOutcome::Exists => "already there".to_owned(),
            BlobOutcome::Mounted { from } => format!("mounted from `{from}`"),
            BlobOutcome::Downloaded => "downloaded".to_owned(),
            BlobOutcome::Cached => "in the cache".to_owned(),
        };
        let line = format!("  blob {} {} {what}", digest.short(), mb(size));
        match self.active.lock().expect("progress lock").remove(digest) {
            Some(b) => {
                b.finish_and_clear();
                if let Some(m) = &self.bars {
                    let _ = m.println(line);
                }
            }
            None => eprintln!("{line}"),
        }
    }
}

/// What the user can do about a registry error.
pub fn hint(e: &RegistryError) -> Option<String> {
    Some(match e {
        RegistryError::InvalidReference { .. } => {
            "write references as `[registry[:port]/]path[:tag][@sha256:…]`, e.g. `registry.example.com/team/app:v1` or `localhost:5000/app`".to_owned()
        }
        RegistryError::Connect { registry, .. } => format!(
            "check the registry's host name and port, that it is running, and that this machine can reach it (`curl -v https://{registry}/v2/`)"
        ),
        RegistryError::Unresolved { registry, .. } => format!(
            "check the registry's host name in the reference (`{registry}`), and this machine's DNS (`getent hosts {}`)",
            registry.rsplit_once(':').map_or(registry.as_str(), |(h, _)| h)
        ),
        RegistryError::Tls { registry, .. } => format!(
            "if `{registry}` uses a private certificate authority, pass `--ca-file ca.pem` (or set HOIST_REGISTRY_CA_FILE); a plain-http registry on your network needs `--insecure-registry {registry}`"
        ),
        RegistryError::InsecureNotAllowed { registry } => {
            format!("if you trust the network, pass `--insecure-registry {registry}`")
        }
        RegistryError::Unauthorized { registry, .. } => format!(
            "log in with `hoist login {registry} -u USER --password-stdin` (or `docker login`), or set HOIST_REGISTRY_USERNAME and HOIST_REGISTRY_PASSWORD"
        ),
        RegistryError::Denied { .. } => {
            "ask for push access to this repository, or push to one you own with `--repository`".to_owned()
        }
        RegistryError::Server { .. } => {
            "the registry is failing, not hoist; hoist already retried with back-off. Try again later or check the registry's logs (`-v` shows every retry)".to_owned()
        }
        RegistryError::NotFound { reference } => {
            let (repo, _) = reference
                .split_once('@')
                .or_else(|| reference.rsplit_once(':').filter(|(_, t)| !t.contains('/')))
                .unwrap_or((reference.as_str(), ""));
            let (host, path) = repo.split_once('/').unwrap_or((repo, ""));
            format!(
                "check the repository and tag: the tags `{repo}` has are listed at `https://{host}/v2/{path}/tags/list`, and `hoist build --push` prints the reference it pushed"
            )
        }
        RegistryError::DigestMismatch { .. } => {
            "content changed on the way: a proxy or the registry altered it; nothing was trusted or stored".to_owned()
        }
        RegistryError::PlatformNotFound { .. } => {
            "pick one of the listed platforms with `--platform`".to_owned()
        }
        RegistryError::CaFile { .. } => "pass a PEM file (`-----BEGIN CERTIFICATE-----`)".to_owned(),
        _ => return None,
    })
}
