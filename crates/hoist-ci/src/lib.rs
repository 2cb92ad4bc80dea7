//! The CI pipeline, generated. Peer tools' generators died because their templates went stale
//! and did the work themselves; here every step that matters is a hoist command (`hoist build`,
//! `hoist render`, `hoist tags`, `hoist deploy`), so CI and a laptop run the same code and the
//! generated file stays thin.
//!
//! - [`Pipeline`] is what a file is made from (hoist.toml's `[ci]`, its environments, the Go
//!   module's place in the repository, how to install hoist);
//! - [`github`] writes `.github/workflows/hoist.yml`;
//! - [`header`] stamps a file with a hash of its content, so a re-run can tell its own file
//!   (updated freely) from one edited by hand (kept unless forced).
//!
//! Pure: no I/O, no environment; the CLI reads the inputs and writes the file.

pub mod github;
pub mod header;
mod shell;

use hoist_core::Ci;

/// Everything a generated pipeline depends on.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `[ci]`, or its defaults when hoist.toml has none.
    pub ci: Ci,
    /// Every `[environments.NAME]`, sorted by name.
    pub environments: Vec<Environment>,
    /// The repository's default branch: pushes to it run the pipeline.
    pub default_branch: String,
    /// The directory of hoist.toml relative to the repository root (`.` at the root).
    pub dir: String,
    /// The directory of go.mod relative to the repository root (hoist.toml's, or above it).
    pub module_dir: String,
    /// The module has a go.sum (what setup-go keys its cache by).
    pub go_sum: bool,
    /// How CI gets the same hoist.
    pub install: Install,
}

/// One environment, as far as the pipeline cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// It deploys to Kubernetes (its merged config has `[kubernetes]`): the deploy job needs a
    /// kubeconfig from the platform's secrets.
    pub kubernetes: bool,
    /// Its image has a repository, so `hoist render` can pin it (and `build --push` push it).
    pub repository: bool,
}

/// hoist pinned for CI: the version the job checks for and the source commit it is built
/// from. `cargo install --locked` from one commit is reproducible and verified end to end:
/// the commit's hash names the source tree, `Cargo.lock` the checksum of every dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// `hoist --version`'s number, e.g. `0.1.0`.
    pub version: String,
    /// The git repository hoist is installed from.
    pub git: String,
    /// The full commit hash (40 hex) of that repository to build.
    pub rev: String,
}

impl Pipeline {
    /// The environments `ci.deploy` names, each once, in rule order (sorted by ref).
    pub fn deployed(&self) -> Vec<&Environment> {
        let mut out: Vec<&Environment> = Vec::new();
        for rule in &self.ci.deploy {
            if let Some(env) = self
                .environments
                .iter()
                .find(|e| e.name == rule.environment)
                && !out.iter().any(|e| e.name == env.name)
            {
                out.push(env);
            }
        }
        out
    }

    /// Branches whose pushes run the pipeline: the default branch and every branch rule.
    pub fn branches(&self) -> Vec<String> {
        let mut out = vec![self.default_branch.clone()];
        for r in &self.ci.deploy {
            if !r.is_tag_pattern() && !out.contains(&r.on) {
                out.push(r.on.clone());
            }
        }
        out
    }

    /// Tag patterns whose pushes run the pipeline (`v*`).
    pub fn tag_patterns(&self) -> Vec<String> {
        self.ci
            .deploy
            .iter()
            .filter(|r| r.is_tag_pattern())
            .map(|r| r.on.clone())
            .collect()
    }

    /// `file` of the Go module (go.mod, go.sum), relative to the repository root.
    fn module_file(&self, file: &str) -> String {
        if self.module_dir == "." {
            file.to_owned()
        } else {
            format!("{}/{file}", self.module_dir.trim_end_matches('/'))
        }
    }
}
