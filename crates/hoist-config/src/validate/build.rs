//! `[build]` and `[image]`.

use hoist_core::{Base, BuildSection, ImageSection, Platform, TagPolicy};

use crate::error::ConfigError;
use crate::field::{Field, Opt};
use crate::names;
use crate::partial::{BuildPart, ImagePart};

use super::{check, no_duplicates, string_map, strings};

type Result<T> = std::result::Result<T, ConfigError>;

pub(super) fn build_section(p: BuildPart) -> Result<BuildSection> {
    let platforms = p
        .platforms
        .as_ref()
        .map_or_else(|| Ok(vec![default_platform()]), platforms)?;
    if let Some(tags) = &p.tags {
        tags.value
            .iter()
            .try_for_each(|t| check(t, names::build_tag))?;
    }
    if let Some(cgo) = p.cgo.as_ref().filter(|c| c.value)
        && platforms.len() > 1
    {
        return Err(cgo.invalid(format!(
            "builds with this machine's C compiler and libraries, so for one platform only, and `build.platforms` lists {}; build one platform, or use pure-Go dependencies and remove `cgo`",
            platforms.len()
        )));
    }
    for entry in p.env.values() {
        let reserved = match entry.key.value.as_str() {
            "CGO_ENABLED" => Some("`build.cgo`"),
            "GOOS" | "GOARCH" | "GOARM" => Some("`build.platforms`"),
            _ => None,
        };
        if let Some(instead) = reserved {
            return Err(entry
                .key
                .invalid(format!("is set by hoist from {instead}; set that instead")));
        }
    }
    Ok(BuildSection {
        platforms,
        base: p.base.map_or(Ok(Base::Static), |b| base(&b))?,
        tags: strings(p.tags),
        ldflags: strings(p.ldflags),
        version_var: go_var(p.version_var, "main.version")?,
        commit_var: go_var(p.commit_var, "main.commit")?,
        cgo: p.cgo.map(|c| c.value),
        env: string_map(p.env, names::env_var)?,
    })
}

/// `linux/amd64`, what most clusters run.
fn default_platform() -> Platform {
    Platform {
        os: "linux".to_owned(),
        arch: "amd64".to_owned(),
        variant: None,
    }
}

fn platforms(f: &Field<Vec<Field<String>>>) -> Result<Vec<Platform>> {
    if f.value.is_empty() {
        return Err(f.invalid("must list at least one platform, like [\"linux/amd64\"]"));
    }
    let parsed = f
        .value
        .iter()
        .map(|p| {
            let platform: Platform = p.value.parse().map_err(|e| p.invalid(format!("{e}")))?;
            Ok(p.with(platform))
        })
        .collect::<Result<Vec<_>>>()?;
    no_duplicates(&parsed, Platform::matches)?;
    Ok(parsed.into_iter().map(|p| p.value).collect())
}

fn base(f: &Field<String>) -> Result<Base> {
    match f.value.as_str() {
        "static" => Ok(Base::Static),
        "scratch" => Ok(Base::Scratch),
        s if s.contains(['/', ':']) => {
            check(f, names::image_reference)?;
            Ok(Base::Image(s.to_owned()))
        }
        s => Err(f.invalid(format!(
            "`{s}` is not a base; use \"static\", \"scratch\" or an image reference like \"gcr.io/distroless/static:nonroot\""
        ))),
    }
}

fn go_var(f: Opt<String>, default: &str) -> Result<String> {
    match f {
        Some(f) => check(&f, names::go_var).map(|()| f.value),
        None => Ok(default.to_owned()),
    }
}

pub(super) fn image_section(p: ImagePart) -> Result<ImageSection> {
    if let Some(r) = &p.repository {
        check(r, names::repository)?;
    }
    if let Some(s) = &p.source {
        check(s, url)?;
    }
    Ok(ImageSection {
        repository: p.repository.map(|r| r.value),
        tags: p
            .tags
            .as_ref()
            .map_or_else(|| Ok(TagPolicy::DEFAULT.to_vec()), tag_policies)?,
        labels: string_map(p.labels, label_key)?,
        source: p.source.map(|s| s.value),
    })
}

fn tag_policies(f: &Field<Vec<Field<String>>>) -> Result<Vec<TagPolicy>> {
    f.value
        .iter()
        .map(|t| {
            let policy = match t.value.as_str() {
                "latest" => TagPolicy::Latest,
                "sha" => TagPolicy::Sha,
                "semver" => TagPolicy::Semver,
                other => {
                    return Err(t.invalid(format!(
                        "`{other}` is not a tag policy; allowed: `latest`, `sha`, `semver`"
                    )));
                }
            };
            Ok(policy)
        })
        .collect::<Result<Vec<_>>>()
        .and_then(|policies| no_duplicates(&f.value, |a, b| a == b).map(|()| policies))
}

fn label_key(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() || s.chars().any(char::is_whitespace) {
        Err(format!(
            "`{s}` is not a label key; use a non-empty key without spaces, like `org.example.team`"
        ))
    } else {
        Ok(())
    }
}

/// `scheme://rest`, as the OCI `source` annotation expects a URL.
fn url(s: &str) -> std::result::Result<(), String> {
    let ok = s.split_once("://").is_some_and(|(scheme, rest)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.is_empty()
    }) && !s.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a URL like \"https://github.com/acme/hello\""
        ))
    }
}
