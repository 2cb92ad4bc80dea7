//! A target platform as OCI spells it (`os/arch[/variant]`), and its mapping to Go's names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The operating systems hoist builds for. Only Linux: the images run in Linux containers.
const KNOWN_OS: &[&str] = &["linux"];

/// Architectures that both Go (`GOARCH`) and the OCI image spec name the same way.
const KNOWN_ARCH: &[&str] = &[
    "amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64",
];

/// A platform an image is built for, such as `linux/arm64` or `linux/arm/v7`.
///
/// Kept as OCI's strings (which equal Go's `GOOS`/`GOARCH` for every architecture we accept)
/// so an index entry and a `go build` environment come from the same value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Platform {
    /// `GOOS` and the OCI `os` field.
    pub os: String,
    /// `GOARCH` and the OCI `architecture` field.
    pub arch: String,
    /// The OCI `variant` (`v7` for arm, `v8` for arm64), which maps to `GOARM` for arm.
    pub variant: Option<String>,
}

/// Why a platform string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// Not of the form `os/arch[/variant]`.
    #[error("`{0}` is not a platform; expected `os/arch` or `os/arch/variant`, like `linux/amd64`")]
    Malformed(String),
    /// An OS hoist cannot build images for.
    #[error("unknown operating system `{os}` in `{input}`; supported: {}", KNOWN_OS.join(", "))]
    UnknownOs {
        /// The whole platform string.
        input: String,
        /// The OS part.
        os: String,
    },
    /// An architecture Go or OCI do not know by that name.
    #[error("unknown architecture `{arch}` in `{input}`; supported: {}", KNOWN_ARCH.join(", "))]
    UnknownArch {
        /// The whole platform string.
        input: String,
        /// The architecture part.
        arch: String,
    },
    /// A variant that does not exist for this architecture.
    #[error("unknown variant `{variant}` for `{arch}` in `{input}`; supported: {allowed}")]
    UnknownVariant {
        /// The whole platform string.
        input: String,
        /// The architecture part.
        arch: String,
        /// The variant part.
        variant: String,
        /// What is allowed for this architecture.
        allowed: &'static str,
    },
}

impl Platform {
    /// The Linux platform of the machine hoist runs on, for picking one image out of many
    /// (a `docker-archive` holds only one).
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            "arm" => "arm",
            other => other,
        };
        Self {
            os: "linux".to_owned(),
            arch: arch.to_owned(),
            variant: None,
        }
    }

    /// The `GOARM` value for 32-bit arm variants; `None` elsewhere.
    pub fn goarm(&self) -> Option<&str> {
        match (self.arch.as_str(), self.variant.as_deref()) {
            ("arm", Some(v)) => v.strip_prefix('v'),
            _ => None,
        }
    }

    /// Whether two platforms name the same target, treating arm64's default variant `v8` as absent.
    pub fn matches(&self, other: &Platform) -> bool {
        let norm = |p: &Platform| match (p.arch.as_str(), p.variant.as_deref()) {
            ("arm64", Some("v8")) => None,
            (_, v) => v.map(str::to_owned),
        };
        self.os == other.os && self.arch == other.arch && norm(self) == norm(other)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = input.split('/').collect();
        let (os, arch, variant) = match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => (*os, *arch, None),
            [os, arch, v] if !os.is_empty() && !arch.is_empty() && !v.is_empty() => {
                (*os, *arch, Some(*v))
            }
            _ => return Err(PlatformError::Malformed(input.to_owned())),
        };
        if !KNOWN_OS.contains(&os) {
            return Err(PlatformError::UnknownOs {
                input: input.to_owned(),
                os: os.to_owned(),
            });
        }
        if !KNOWN_ARCH.contains(&arch) {
            return Err(PlatformError::UnknownArch {
                input: input.to_owned(),
                arch: arch.to_owned(),
            });
        }
        if let Some(variant) = variant {
            let allowed: &'static str = match arch {
                "arm" => "v5, v6, v7",
                "arm64" => "v8",
                _ => "none",
            };
            if !allowed.split(", ").any(|a| a == variant) {
                return Err(PlatformError::UnknownVariant {
                    input: input.to_owned(),
                    arch: arch.to_owned(),
                    variant: variant.to_owned(),
                    allowed,
                });
            }
        }
        Ok(Self {
            os: os.to_owned(),
            arch: arch.to_owned(),
            variant: variant.map(str::to_owned),
        })
    }
}

impl TryFrom<String> for Platform {
    type Error = PlatformError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Platform> for String {
    fn from(p: Platform) -> Self {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "linux/amd64",
            "linux/arm64",
            "linux/arm/v7",
            "linux/arm64/v8",
        ] {
            assert_eq!(s.parse::<Platform>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn goarm_from_variant() {
        assert_eq!(
            "linux/arm/v7".parse::<Platform>().unwrap().goarm(),
            Some("7")
        );
        assert_eq!("linux/arm64".parse::<Platform>().unwrap().goarm(), None);
    }

    #[test]
    fn refuses_unknown() {
        let e = "linux/amd46".parse::<Platform>().unwrap_err();
        assert!(
            e.to_string().contains("unknown architecture `amd46`"),
            "{e}"
        );
        let e = "windows/amd64".parse::<Platform>().unwrap_err();
        assert!(
            e.to_string().contains("unknown operating system `windows`"),
            "{e}"
        );
        assert!(matches!(
            "amd64".parse::<Platform>(),
            Err(PlatformError::Malformed(_))
        ));
        assert!(matches!(
            "linux/arm/v9".parse::<Platform>(),
            Err(PlatformError::UnknownVariant { .. })
        ));
    }

    #[test]
    fn arm64_v8_matches_plain_arm64() {
        let a: Platform = "linux/arm64".parse().unwrap();
        let b: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(a.matches(&b));
        assert!(!a.matches(&Platform::host()) || Platform::host().arch == "arm64");
    }
}
