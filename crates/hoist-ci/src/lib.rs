//! The CI pipeline, generated. Peer tools' generators died because their templates went stale
//! and did the work themselves; here every step that matters is a hoist command (`hoist build`,
//! `hoist render`, `hoist tags`, `hoist deploy`), so CI and a laptop run the same code and the
//! generated file stays thin.
//!
//! - [`Pipeline`] is what a file is made from (hoist.toml's `[ci]`, its environments, the Go
//!   module's place in the repository, how to install hoist);
//! - [`github`] writes `.github/workflows/hoist.yml`, [`gitlab`] `.gitlab-ci.yml`;
//! - [`header`] stamps a file with a hash of its content, so a re-run can tell its own file
//!   (updated freely) from one edited by hand (kept unless forced).
//!
//! Pure: no I/O, no environment; the CLI reads the inputs and writes the file.

pub mod github;
pub mod gitlab;
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
    /// The module has a go.sum (what the Go caches are keyed by).
    pub go_sum: bool,
    /// go.mod's `go` line (`1.22`): GitLab's job image is `golang:` that.
    pub go_version: String,
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

/// The two project shapes the generators' snapshots are taken of.
#[cfg(test)]
pub(crate) mod tests {
    use hoist_core::{Ci, DeployRule};

    use super::*;

    fn install() -> Install {
        Install {
            version: "0.1.0".to_owned(),
            git: "https://github.com/hoist-dev/hoist".to_owned(),
            rev: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        }
    }

    fn rule(on: &str, environment: &str) -> DeployRule {
        DeployRule {
            on: on.to_owned(),
            environment: environment.to_owned(),
        }
    }

    /// hoist.toml as `hoist init` writes it: no `[ci]`, no environments, a module without
    /// dependencies at the repository root.
    pub(crate) fn new_project() -> Pipeline {
        Pipeline {
            ci: Ci {
                deploy: vec![],
                runs_on: vec!["ubuntu-latest".to_owned()],
                test: vec!["go vet ./...".to_owned(), "go test ./...".to_owned()],
            },
            environments: vec![],
            default_branch: "main".to_owned(),
            dir: ".".to_owned(),
            module_dir: ".".to_owned(),
            go_sum: false,
            go_version: "1.22".to_owned(),
            install: install(),
        }
    }

    /// A service in a subdirectory of a monorepo: staging on a self-hosted runner's agent from
    /// `main`, prod on Kubernetes from `v*` tags, beta from `v0*` tags.
    pub(crate) fn monorepo() -> Pipeline {
        let env = |name: &str, kubernetes: bool, repository: bool| Environment {
            name: name.to_owned(),
            kubernetes,
            repository,
        };
        Pipeline {
            ci: Ci {
                deploy: vec![
                    rule("main", "staging"),
                    rule("v*", "prod"),
                    rule("v0*", "beta"),
                ],
                runs_on: vec!["self-hosted".to_owned(), "linux".to_owned()],
                test: vec!["go test -race ./...".to_owned()],
            },
            environments: vec![
                env("beta", true, true),
                env("prod", true, true),
                env("staging", false, false),
            ],
            default_branch: "main".to_owned(),
            dir: "services/api".to_owned(),
            module_dir: "services/api".to_owned(),
            go_sum: true,
            go_version: "1.24".to_owned(),
            install: install(),
        }
    }
}
