//! kubeconfig files → one client per context, with errors that name the file, line and the
//! contexts there are. The caller passes the paths (`--kubeconfig`, `$KUBECONFIG` or
//! `~/.kube/config`): this crate never reads the environment.

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};

/// The merged kubeconfig files (first file wins, as kubectl merges `$KUBECONFIG`).
#[derive(Clone)]
pub struct Kubeconfigs {
    merged: Kubeconfig,
}

impl std::fmt::Debug for Kubeconfigs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials live in here: show only the context names.
        f.debug_struct("Kubeconfigs")
            .field("contexts", &self.contexts())
            .field("current", &self.merged.current_context)
            .finish_non_exhaustive()
    }
}

impl Kubeconfigs {
    /// Reads and merges `paths`; paths that do not exist are skipped (kubectl does the same
    /// for `$KUBECONFIG`), but at least one must exist.
    ///
    /// # Errors
    ///
    /// [`KubeError::NoKubeconfig`] when none exists, [`KubeError::KubeconfigRead`] and
    /// [`KubeError::KubeconfigParse`] (with the line) for a broken file.
    pub fn load(paths: &[PathBuf]) -> Result<Self> {
        let mut merged: Option<Kubeconfig> = None;
        for path in paths {
            if !path.exists() {
                continue;
            }
            let one = read_one(path)?;
            merged = Some(match merged {
                None => one,
                Some(m) => m.merge(one).map_err(|e| KubeError::KubeconfigParse {
                    path: path.clone(),
                    line: None,
                    column: None,
                    message: e.to_string(),
                })?,
            });
        }
        let merged = merged.ok_or_else(|| KubeError::NoKubeconfig {
            looked: paths.to_vec(),
        })?;
        Ok(Self { merged })
    }

    /// The context names, in file order.
    pub fn contexts(&self) -> Vec<String> {
        self.merged
            .contexts
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// `current-context`, if set.
    pub fn current(&self) -> Option<&str> {
        self.merged.current_context.as_deref()
    }

    /// The context to use when none is named: `current-context`.
    ///
    /// # Errors
    ///
    /// [`KubeError::NoCurrentContext`] listing the contexts there are.
    pub fn current_or_err(&self) -> Result<String> {
        self.current()
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| KubeError::NoCurrentContext {
                available: self.contexts(),
            })
    }

    /// A client for `context`. Makes no request: an unreachable server shows up on the first
    /// call.
    ///
    /// # Errors
    ///
    /// [`KubeError::UnknownContext`] (listing the contexts there are), [`KubeError::BadContext`]
    /// for an incomplete context, [`KubeError::Client`] when no client can be made.
    pub async fn cluster(&self, context: &str) -> Result<Cluster> {
        let named = self
            .merged
            .contexts
            .iter()
            .find(|c| c.name == context)
            .ok_or_else(|| KubeError::UnknownContext {
                context: context.to_owned(),
                available: self.contexts(),
            })?;
        let user = named
            .context
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_default();
        let options = KubeConfigOptions {
            context: Some(context.to_owned()),
            ..KubeConfigOptions::default()
        };
        let config = kube::Config::from_custom_kubeconfig(self.merged.clone(), &options)
            .await
            .map_err(|source| KubeError::BadContext {
                context: context.to_owned(),
                source,
            })?;
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let default_namespace = config.default_namespace.clone();
        let client = kube::Client::try_from(config).map_err(|source| KubeError::Client {
            context: context.to_owned(),
            source,
        })?;
        Ok(Cluster::new(
            context.to_owned(),
            server,
            user,
            default_namespace,
            client,
        ))
    }
}

/// One file, with a parse error's line and column.
fn read_one(path: &Path) -> Result<Kubeconfig> {
    let text = std::fs::read_to_string(path).map_err(|source| KubeError::KubeconfigRead {
        path: path.to_owned(),
        source,
    })?;
    // Parse once ourselves for the location; kube's own reader then resolves relative
    // certificate paths against the file's directory.
    if let Err(e) = serde_saphyr::from_str::<serde_json::Value>(&text) {
        let loc = e.location();
        return Err(KubeError::KubeconfigParse {
            path: path.to_owned(),
            line: loc.as_ref().map(serde_saphyr::Location::line),
            column: loc.as_ref().map(serde_saphyr::Location::column),
            message: first_line(&e.to_string()),
        });
    }
    Kubeconfig::read_from(path).map_err(|e| match e {
        kube::config::KubeconfigError::Parse(p) => {
            let loc = p.location();
            KubeError::KubeconfigParse {
                path: path.to_owned(),
                line: loc.as_ref().map(serde_saphyr::Location::line),
                column: loc.as_ref().map(serde_saphyr::Location::column),
                message: first_line(&p.to_string()),
            }
        }
        other => KubeError::KubeconfigParse {
            path: path.to_owned(),
            line: None,
            column: None,
            message: other.to_string(),
        },
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const ONE: &str = "apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:1
users:
- name: u
  user:
    token: secret
contexts:
- name: eu
  context: {cluster: c, user: u}
- name: us
  context: {cluster: c, user: u, namespace: shop}
current-context: eu
";

    #[test]
    fn a_broken_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "config",
            "apiVersion: v1\nclusters:\n  - name: [x\n",
        );
        let e = Kubeconfigs::load(&[p]).unwrap_err();
        let KubeError::KubeconfigParse { line, .. } = &e else {
            panic!("{e:?}")
        };
        assert!(line.is_some(), "{e}");
        assert!(e.to_string().contains("config:"), "{e}");
    }

    #[test]
    fn missing_files_are_skipped_but_one_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            Kubeconfigs::load(std::slice::from_ref(&missing)),
            Err(KubeError::NoKubeconfig { .. })
        ));
        let p = write(dir.path(), "config", ONE);
        let k = Kubeconfigs::load(&[missing, p]).unwrap();
        assert_eq!(k.contexts(), ["eu", "us"]);
        assert_eq!(k.current(), Some("eu"));
        assert!(!format!("{k:?}").contains("secret"));
    }

    #[tokio::test]
    async fn an_unknown_context_lists_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "config", ONE);
        let k = Kubeconfigs::load(&[p]).unwrap();
        let e = k.cluster("asia").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "no context `asia` in the kubeconfig; it has: `eu`, `us`"
        );
        let c = k.cluster("us").await.unwrap();
        assert_eq!(c.default_namespace(), "shop");
    }
}
