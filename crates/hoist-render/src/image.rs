//! Image references pinned by digest: `registry/repo[:tag]@sha256:<hex>`.

use std::fmt;

use crate::error::RenderError;

/// An image reference that names its content by digest, so every node runs the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    name: String,
    tag: Option<String>,
    digest: String,
}

impl PinnedImage {
    /// Parses `NAME[:TAG]@sha256:<64 lowercase hex>`. The tag is kept (it documents the
    /// version for people) but the digest is what the runtime pulls.
    ///
    /// # Errors
    ///
    /// [`RenderError::ImageNotPinned`] without a sha256 digest, [`RenderError::InvalidImageName`]
    /// for a name that is not a lowercase repository.
    pub fn parse(reference: &str) -> Result<Self, RenderError> {
        let not_pinned = || RenderError::ImageNotPinned {
            reference: reference.to_owned(),
        };
        let (named, digest) = reference.split_once('@').ok_or_else(not_pinned)?;
        let hex = digest.strip_prefix("sha256:").ok_or_else(not_pinned)?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(not_pinned());
        }
        // A `:` after the last `/` starts the tag; one before it is a registry port.
        let (name, tag) = match named.rfind(':') {
            Some(i) if !named[i..].contains('/') => (&named[..i], Some(&named[i + 1..])),
            _ => (named, None),
        };
        let invalid = |problem| RenderError::InvalidImageName {
            reference: reference.to_owned(),
            name: name.to_owned(),
            problem,
        };
        check_name(name).map_err(invalid)?;
        if let Some(tag) = tag
            && !hoist_core::is_valid_tag(tag)
        {
            return Err(invalid(
                "the tag must be 1 to 128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.to_owned(),
        })
    }

    /// The repository, e.g. `registry.example.com/group/hello`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `sha256:…` digest.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

impl fmt::Display for PinnedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tag {
            Some(tag) => write!(f, "{}:{tag}@{}", self.name, self.digest),
            None => write!(f, "{}@{}", self.name, self.digest),
        }
    }
}

/// `[host[:port]/]path`, path components of lowercase letters, digits and separators.
fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    let has_host = parts.len() > 1
        && (first.contains(['.', ':'])
            || first == "localhost"
            || first.bytes().any(|b| b.is_ascii_uppercase()));
    if has_host {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
        if !host_ok || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err("the registry must be a host name with an optional `:port`");
        }
        parts.remove(0);
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            && c.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
    };
    if parts.iter().all(|c| component_ok(c)) {
        Ok(())
    } else {
        Err(
            "path components must be lowercase letters, digits, `.`, `_` and `-`, starting and ending with a letter or digit",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_names_tags_and_ports() {
        let i = PinnedImage::parse(&format!("localhost:5000/hello:v1.2.3@{D}")).unwrap();
        assert_eq!(
            (i.name(), i.tag.as_deref()),
            ("localhost:5000/hello", Some("v1.2.3"))
        );
        assert_eq!(i.to_string(), format!("localhost:5000/hello:v1.2.3@{D}"));
        let i = PinnedImage::parse(&format!("registry.example.com/group/hello@{D}")).unwrap();
        assert_eq!(
            (i.name(), i.tag.as_deref(), i.digest()),
            ("registry.example.com/group/hello", None, D)
        );
    }

    #[test]
    fn refuses_unpinned_and_bad_names() {
        for bad in ["hello", "hello:latest", "hello@sha256:abc", "hello@md5:00"] {
            let e = PinnedImage::parse(bad).unwrap_err();
            assert!(
                matches!(e, RenderError::ImageNotPinned { .. }),
                "{bad}: {e}"
            );
        }
        for bad in ["Hello", "a//b", "-a", "reg:x/a", "a:-x"] {
            let e = PinnedImage::parse(&format!("{bad}@{D}")).unwrap_err();
            assert!(
                matches!(e, RenderError::InvalidImageName { .. }),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            PinnedImage::parse("hello:latest").unwrap_err().to_string(),
            "image `hello:latest` is not pinned by digest; expected `NAME@sha256:<64 hex digits>` (a tag may come before `@`)"
        );
    }
}
