//! Image references as docker and podman read them: `[registry[:port]/]path[:tag][@sha256:…]`.
//!
//! A first component with a `.` or a `:`, or `localhost`, names the registry; otherwise the
//! registry is Docker Hub (`docker.io`), whose one-component names live under `library/`.

use std::fmt;
use std::str::FromStr;

use hoist_core::Digest;

use crate::error::{RegistryError, Result};

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A repository in a registry: `registry.example.com/group/hello`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    /// The registry host, with its port if any (`localhost:5000`, `docker.io`).
    pub registry: String,
    /// The path in the registry (`group/hello`, `library/alpine`).
    pub name: String,
}

/// A repository plus a tag and/or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Where the image is.
    pub repository: Repository,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The digest, if given (it wins over the tag when fetching).
    pub digest: Option<Digest>,
}

impl Repository {
    /// Parses `[registry/]path` with neither tag nor digest.
    ///
    /// # Errors
    /// [`RegistryError::InvalidReference`] when it does not parse or carries a tag or digest.
    pub fn parse(s: &str) -> Result<Self> {
        let r: Reference = s.parse()?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(invalid(s, "a repository takes no tag or digest"));
        }
        Ok(r.repository)
    }

    /// The host the API is served on (Docker Hub's differs from its reference name).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// This repository with `tag`.
    pub fn tagged(&self, tag: &str) -> Reference {
        Reference {
            repository: self.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        }
    }

    /// This repository pinned to `digest`: `registry/name@sha256:…`.
    pub fn pinned(&self, digest: &Digest) -> Reference {
        Reference {
            repository: self.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

impl Reference {
    /// What a manifest is fetched by: the digest if given, else the tag, else `latest`.
    pub fn selector(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_owned(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(invalid(s, "it is empty"));
        }
        if s.contains("://") {
            return Err(invalid(
                s,
                "write it without a scheme, e.g. `registry.example.com/app`",
            ));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (
                r,
                Some(d.parse::<Digest>().map_err(|_| {
                    invalid(
                        s,
                        "the part after `@` must be `sha256:` and 64 lowercase hex digits",
                    )
                })?),
            ),
            None => (s, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(s, t)?;
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), path.to_owned())
            }
            _ if name.contains('/') => (DOCKER_HUB.to_owned(), name.to_owned()),
            _ => (DOCKER_HUB.to_owned(), format!("library/{name}")),
        };
        check_registry(s, &registry)?;
        check_path(s, &path)?;
        Ok(Self {
            repository: Repository {
                registry,
                name: path,
            },
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

fn invalid(s: &str, reason: &'static str) -> RegistryError {
    RegistryError::InvalidReference {
        reference: s.to_owned(),
        reason,
    }
}

fn check_tag(s: &str, tag: &str) -> Result<()> {
    if hoist_core::is_valid_tag(tag) {
        Ok(())
    } else {
        Err(invalid(
            s,
            "a tag is 1 to 128 of `A-Z a-z 0-9 _ . -`, not starting with `.` or `-`",
        ))
    }
}

fn check_registry(s: &str, registry: &str) -> Result<()> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (registry, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(invalid(
            s,
            "the registry must be a host name with an optional `:port`",
        ))
    }
}

/// Path components are lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
fn check_path(s: &str, path: &str) -> Result<()> {
    let component_ok = |c: &str| {
        let b = c.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
            && b[b.len() - 1].is_ascii_lowercase() | b[b.len() - 1].is_ascii_digit()
            && b.iter().all(|&x| {
                x.is_ascii_lowercase() || x.is_ascii_digit() || matches!(x, b'.' | b'_' | b'-')
            })
            && !c.contains("..")
            && !c.contains("___")
    };
    if path.len() <= 255 && path.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(invalid(
            s,
            "a repository path is lowercase letters, digits and `.` `_` `-` separators, in `/`-separated parts",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r: Reference = s.parse().unwrap();
        (
            r.repository.registry,
            r.repository.name,
            r.tag,
            r.digest.map(|d| d.to_string()),
        )
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(
            parse("alpine"),
            ("docker.io".into(), "library/alpine".into(), None, None)
        );
        assert_eq!(
            parse("alpine:3.20"),
            (
                "docker.io".into(),
                "library/alpine".into(),
                Some("3.20".into()),
                None
            )
        );
        assert_eq!(
            parse("grafana/grafana"),
            ("docker.io".into(), "grafana/grafana".into(), None, None)
        );
        let r: Reference = "alpine".parse().unwrap();
        assert_eq!(r.repository.api_host(), "registry-1.docker.io");
        assert_eq!(r.selector(), "latest");
    }

    #[test]
    fn registries_with_ports_and_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse(&format!("localhost:5000/group/app:v1@{d}")),
            (
                "localhost:5000".into(),
                "group/app".into(),
                Some("v1".into()),
                Some(d.clone())
            )
        );
        assert_eq!(
            parse("127.0.0.1:5000/app"),
            ("127.0.0.1:5000".into(), "app".into(), None, None)
        );
        assert_eq!(
            parse("localhost/app"),
            ("localhost".into(), "app".into(), None, None)
        );
        assert_eq!(
            parse("gcr.io/distroless/static:nonroot"),
            (
                "gcr.io".into(),
                "distroless/static".into(),
                Some("nonroot".into()),
                None
            )
        );
        let r: Reference = format!("ghcr.io/a/b@{d}").parse().unwrap();
        assert_eq!(r.selector(), d);
        assert_eq!(r.to_string(), format!("ghcr.io/a/b@{d}"));
    }

    #[test]
    fn refuses_bad_references() {
        for bad in [
            "",
            "Upper/Case",
            "localhost:5000/app:",
            "app:bad tag",
            "app@sha256:123",
            "https://registry/app",
            "localhost:99999/app",
            "a//b",
            "app:.x",
        ] {
            assert!(bad.parse::<Reference>().is_err(), "{bad} parsed");
        }
        assert!(Repository::parse("localhost:5000/app:v1").is_err());
        assert_eq!(
            Repository::parse("localhost:5000/app").unwrap().to_string(),
            "localhost:5000/app"
        );
    }
}
