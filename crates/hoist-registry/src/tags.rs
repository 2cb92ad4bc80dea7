//! The tag policy of `image.tags`: which tags a push writes for the checkout being built.

use hoist_core::TagPolicy;

/// What the tag policy looks at (from git; all empty outside a repository).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagInputs<'a> {
    /// The full commit hash of HEAD.
    pub commit: Option<&'a str>,
    /// The git tags pointing at HEAD.
    pub git_tags: &'a [String],
    /// The branch checked out (none when detached).
    pub branch: Option<&'a str>,
    /// The repository's default branch (`origin/HEAD`, else `main` or `master`).
    pub default_branch: Option<&'a str>,
    /// Tracked files differ from HEAD.
    pub dirty: bool,
}

/// The tags `policy` gives for `inputs`, in policy order, without duplicates:
/// `latest` on the default branch of a clean tree; `sha-<12 hex>`; and for a semver tag
/// `vX.Y.Z` on HEAD, `vX.Y.Z`, `vX.Y` and `vX` (a pre-release only as itself). A dirty tree
/// gets nothing but `sha-<12 hex>-dirty`: what was built is not what any commit or release
/// names, so no name a user or a deploy resolves may point at it.
pub fn policy_tags(policy: &[TagPolicy], inputs: &TagInputs<'_>) -> Vec<String> {
    let dirty = if inputs.dirty { "-dirty" } else { "" };
    let mut tags: Vec<String> = Vec::new();
    for rule in policy {
        match rule {
            TagPolicy::Latest => {
                let on_default = inputs.branch.is_some() && inputs.branch == inputs.default_branch;
                if on_default && !inputs.dirty && inputs.commit.is_some() {
                    tags.push("latest".to_owned());
                }
            }
            TagPolicy::Sha => {
                if let Some(c) = inputs.commit.filter(|c| c.len() >= 12) {
                    tags.push(format!("sha-{}{dirty}", &c[..12]));
                }
            }
            TagPolicy::Semver => {
                let mut versions: Vec<Semver> = inputs
                    .git_tags
                    .iter()
                    .filter_map(|t| Semver::parse(t))
                    .collect();
                versions.sort();
                if let Some(v) = versions.last().filter(|_| !inputs.dirty) {
                    let full = format!("v{}.{}.{}", v.major, v.minor, v.patch);
                    if let Some(pre) = &v.pre {
                        tags.push(format!("{full}-{pre}"));
                    } else {
                        tags.push(full);
                        tags.push(format!("v{}.{}", v.major, v.minor));
                        tags.push(format!("v{}", v.major));
                    }
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    tags.retain(|t| seen.insert(t.clone()));
    tags
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    /// Releases sort after their pre-releases: `None` must be greatest.
    release: bool,
    pre: Option<String>,
}

impl Semver {
    /// `v1.2.3`, `1.2.3`, `v1.2.3-rc.1` (build metadata `+…` is dropped).
    fn parse(tag: &str) -> Option<Self> {
        let t = tag.strip_prefix('v').unwrap_or(tag);
        let t = t.split('+').next()?;
        let (core, pre) = match t.split_once('-') {
            Some((c, p))
                if !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
            {
                (c, Some(p.to_owned()))
            }
            Some(_) => return None,
            None => (t, None),
        };
        let mut parts = core.split('.');
        let mut num = || -> Option<u64> {
            let p = parts.next()?;
            if p.is_empty() || (p.len() > 1 && p.starts_with('0')) {
                return None;
            }
            p.parse().ok()
        };
        let (major, minor, patch) = (num()?, num()?, num()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            major,
            minor,
            patch,
            release: pre.is_none(),
            pre,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TagPolicy; 3] = [TagPolicy::Latest, TagPolicy::Sha, TagPolicy::Semver];
    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn tags(git_tags: &[&str], branch: Option<&str>, dirty: bool) -> Vec<String> {
        let git_tags: Vec<String> = git_tags.iter().map(|s| (*s).to_owned()).collect();
        policy_tags(
            &ALL,
            &TagInputs {
                commit: Some(COMMIT),
                git_tags: &git_tags,
                branch,
                default_branch: Some("main"),
                dirty,
            },
        )
    }

    #[test]
    fn clean_release_on_the_default_branch() {
        assert_eq!(
            tags(&["v1.2.3", "not-semver"], Some("main"), false),
            ["latest", "sha-0123456789ab", "v1.2.3", "v1.2", "v1"]
        );
    }

    #[test]
    fn dirty_trees_get_only_their_sha() {
        assert_eq!(
            tags(&["v1.2.3"], Some("main"), true),
            ["sha-0123456789ab-dirty"]
        );
    }

    #[test]
    fn other_branches_prereleases_and_no_git() {
        assert_eq!(tags(&[], Some("feature"), false), ["sha-0123456789ab"]);
        assert_eq!(tags(&[], None, false), ["sha-0123456789ab"]);
        assert_eq!(
            tags(&["v2.0.0-rc.1", "v1.9.0"], Some("feature"), false),
            ["sha-0123456789ab", "v2.0.0-rc.1"]
        );
        assert_eq!(
            tags(&["v2.0.0", "v2.0.0-rc.1"], Some("x"), false),
            ["sha-0123456789ab", "v2.0.0", "v2.0", "v2"]
        );
        assert!(policy_tags(&ALL, &TagInputs::default()).is_empty());
        assert!(Semver::parse("v01.2.3").is_none());
        assert!(Semver::parse("v1.2").is_none());
    }
}
