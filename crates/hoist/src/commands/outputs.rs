//! `--output KIND:PATH` destinations, parsed and checked before anything is built, so a typo
//! or an unwritable directory costs no compile.

use std::path::{Path, PathBuf};

/// Where a built image is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// An OCI image layout directory.
    OciLayout(PathBuf),
    /// A `docker save`-style tar file (one platform).
    DockerArchive(PathBuf),
}

impl Output {
    /// Parses `oci:DIR` or `docker-archive:FILE`.
    pub fn parse(spec: &str) -> anyhow::Result<Self> {
        let (kind, path) = spec.split_once(':').ok_or_else(|| {
            anyhow::anyhow!(
                "`{spec}` is not an output; expected `oci:DIR` or `docker-archive:FILE`"
            )
        })?;
        if path.is_empty() {
            anyhow::bail!("`{spec}` names no path; expected `{kind}:PATH`");
        }
        let path = PathBuf::from(path);
        match kind {
            "oci" => Ok(Self::OciLayout(path)),
            "docker-archive" => Ok(Self::DockerArchive(path)),
            _ => anyhow::bail!(
                "unknown output kind `{kind}` in `{spec}`; expected `oci:DIR` or `docker-archive:FILE`"
            ),
        }
    }

    /// The path written.
    pub fn path(&self) -> &Path {
        match self {
            Self::OciLayout(p) | Self::DockerArchive(p) => p,
        }
    }

    /// Fails early when the destination's parent directory is missing or not writable: the
    /// final write happens after the build and would otherwise waste it.
    pub fn check_writable(&self) -> anyhow::Result<()> {
        let path = self.path();
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            anyhow::bail!(
                "cannot write output `{}`: directory `{}` does not exist",
                path.display(),
                parent.display()
            );
        }
        // Probe with a real file: permission bits lie for root and on read-only mounts.
        tempfile::Builder::new()
            .prefix(".hoist-probe-")
            .tempfile_in(parent)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot write output `{}`: directory `{}` is not writable ({e})",
                    path.display(),
                    parent.display()
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds() {
        assert_eq!(
            Output::parse("oci:out").unwrap(),
            Output::OciLayout("out".into())
        );
        assert_eq!(
            Output::parse("docker-archive:/tmp/a.tar").unwrap(),
            Output::DockerArchive("/tmp/a.tar".into())
        );
        assert!(
            Output::parse("zip:x")
                .unwrap_err()
                .to_string()
                .contains("unknown output kind `zip`")
        );
        assert!(Output::parse("oci:").is_err());
        assert!(Output::parse("out").is_err());
    }
}
