//! Publishing what was built: the tags the tag policy gives the checkout, and the push of an
//! image (a build's, or an OCI layout's) to a repository with those tags.
//!
//! `hoist build --push`, `hoist push`, `hoist tags` and the Kubernetes deploy all ask here, so CI
//! and a laptop get one answer to "which tags?" and one push path. Printing the result is the
//! caller's.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use hoist_core::TagPolicy;
use hoist_gobuild::GitFacts;
use hoist_image::Descriptor;
use hoist_registry::{
    BlobDir, Client, MountHints, Observer, PushOutcome, PushRequest, Reference, RegistryError,
    Repository, TagInputs,
};

use crate::Built;

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A `--tag` is not a valid tag.
    #[error("invalid --tag `{tag}`")]
    Tag {
        /// The tag as given.
        tag: String,
        /// Why it is invalid.
        #[source]
        source: Box<RegistryError>,
    },
    /// The push itself.
    #[error("cannot push to `{repository}`")]
    Push {
        /// Where to.
        repository: String,
        /// Why.
        #[source]
        source: Box<RegistryError>,
    },
}

/// The tags a push writes for one checkout, and why there are none when there are none (an
/// untagged push is never silent).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tags {
    /// The tag policy's tags, then the extra ones, without duplicates.
    pub tags: Vec<String>,
    /// Set when `tags` is empty: why, and how to tag anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    /// What the policy looked at; `None` outside git.
    pub checkout: Option<Checkout>,
}

/// The facts of a git checkout the tag policy decides by (shown by `hoist tags --json`, so a
/// surprising answer can be traced to its cause).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Checkout {
    /// HEAD's full hash.
    pub commit: String,
    /// The branch checked out; `None` when detached (as CI checks out tags).
    pub branch: Option<String>,
    /// `origin/HEAD`'s branch, else `main` or `master` when it exists.
    pub default_branch: Option<String>,
    /// Tracked files differ from HEAD.
    pub dirty: bool,
    /// The git tags on HEAD.
    pub git_tags: Vec<String>,
}

impl Tags {
    /// The tags `policy` (none without a hoist.toml) gives the checkout at `dir`, then `extra`
    /// (`--tag`), each checked as a reference's tag.
    ///
    /// # Errors
    /// [`PublishError::Tag`] for an invalid extra tag.
    pub fn read(
        policy: Option<&[TagPolicy]>,
        dir: &Path,
        extra: &[String],
    ) -> Result<Self, PublishError> {
        let facts = GitFacts::read(dir);
        let default_branch = facts.as_ref().and_then(|_| default_branch(dir));
        let mut tags = match policy {
            Some(policy) => {
                let inputs = facts
                    .as_ref()
                    .map_or_else(TagInputs::default, |f| TagInputs {
                        commit: Some(&f.commit),
                        git_tags: &f.tags,
                        branch: f.branch.as_deref(),
                        default_branch: default_branch.as_deref(),
                        dirty: f.dirty,
                    });
                hoist_registry::policy_tags(policy, &inputs)
            }
            None => Vec::new(),
        };
        for t in extra {
            check_tag(t)?;
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        let untagged = tags
            .is_empty()
            .then(|| untagged_reason(policy, dir, facts.is_some()));
        let checkout = facts.map(|f| Checkout {
            commit: f.commit,
            branch: f.branch,
            default_branch,
            dirty: f.dirty,
            git_tags: f.tags,
        });
        Ok(Self {
            tags,
            untagged,
            checkout,
        })
    }
}

/// `t` as the tag of a reference: what a registry accepts (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`).
fn check_tag(t: &str) -> Result<(), PublishError> {
    let invalid = |source| PublishError::Tag {
        tag: t.to_owned(),
        source: Box::new(source),
    };
    let repository = Repository::parse("localhost/x").map_err(invalid)?;
    repository
        .tagged(t)
        .to_string()
        .parse::<Reference>()
        .map_err(invalid)?;
    Ok(())
}

/// Why the policy gives no tag here, and what to do about it.
fn untagged_reason(policy: Option<&[TagPolicy]>, dir: &Path, in_git: bool) -> String {
    let Some(policy) = policy else {
        return "there is no hoist.toml, so no tag policy; pass `--tag NAME`".to_owned();
    };
    if policy.is_empty() {
        return "`image.tags` is empty; pass `--tag NAME`".to_owned();
    }
    let names: Vec<&str> = policy.iter().map(|t| policy_name(*t)).collect();
    if !in_git {
        return format!(
            "`{}` is not a git checkout with a commit, and the tag policy ({}) tags commits: in git it would write `sha-<12 hex of HEAD>`, `latest` on the default branch and `vX.Y.Z` for a semver tag on HEAD; pass `--tag NAME` to tag this image anyway",
            dir.display(),
            names.join(", ")
        );
    }
    format!(
        "the tag policy ({}) gives no tag for this checkout (`latest` only on the default branch with a clean tree); pass `--tag NAME`",
        names.join(", ")
    )
}

/// The name of a policy rule as hoist.toml spells it.
fn policy_name(rule: TagPolicy) -> &'static str {
    match rule {
        TagPolicy::Latest => "latest",
        TagPolicy::Sha => "sha",
        TagPolicy::Semver => "semver",
    }
}

/// `origin/HEAD`'s branch, else `main` or `master` when such a branch exists: the branch
/// `latest` follows, and the one `hoist ci` triggers on.
pub fn default_branch(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    if let Some(r) = git(&["symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD"]) {
        return r.split_once('/').map(|(_, b)| b.to_owned());
    }
    ["main", "master"]
        .into_iter()
        .find(|b| git(&["rev-parse", "-q", "--verify", &format!("refs/heads/{b}")]).is_some())
        .map(str::to_owned)
}

/// Where an image goes: a repository, through a client, with tags.
pub struct Target<'a> {
    /// The registry client (credentials, TLS settings, parallelism).
    pub client: &'a Client,
    /// The repository.
    pub repository: &'a Repository,
    /// The tags to write once the image is complete.
    pub tags: &'a Tags,
    /// Which repositories are known to hold which blobs (cross-repository mounts).
    pub hints: Option<&'a MountHints>,
}

/// Pushes the image named by `root` (its blobs in `blobs`) to `target`; what was sent, and the
/// image pinned by digest. The tags move only after every blob and manifest is there, so a
/// failed push leaves no tag pointing at a half-pushed image.
///
/// # Errors
/// [`PublishError::Push`].
pub fn publish(
    root: &Descriptor,
    blobs: &BlobDir,
    target: &Target<'_>,
    observer: Arc<dyn Observer>,
) -> Result<PushOutcome, PublishError> {
    target
        .client
        .push(&PushRequest {
            repository: target.repository,
            root,
            blobs,
            tags: &target.tags.tags,
            hints: target.hints,
            observer,
        })
        .map_err(|source| PublishError::Push {
            repository: target.repository.to_string(),
            source: Box::new(source),
        })
}

/// [`publish`] of a build whose blobs are in the content store at `store_root`.
///
/// # Errors
/// [`PublishError::Push`].
pub fn publish_built(
    built: &Built,
    store_root: &Path,
    target: &Target<'_>,
    observer: Arc<dyn Observer>,
) -> Result<PushOutcome, PublishError> {
    publish(&built.root, &BlobDir::new(store_root), target, observer)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &[TagPolicy] = &[TagPolicy::Latest, TagPolicy::Sha, TagPolicy::Semver];

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// A repository on `main` with one commit; its full hash.
    fn repo(dir: &Path) -> String {
        git(dir, &["init", "-q"]);
        std::fs::write(dir.join("main.go"), "package main\n").unwrap();
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "one"]);
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(dir)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn default_branch_of_a_clean_tree_gets_latest_and_sha() {
        let dir = tempfile::tempdir().unwrap();
        let commit = repo(dir.path());
        let t = Tags::read(Some(POLICY), dir.path(), &[]).unwrap();
        assert_eq!(
            t.tags,
            ["latest".to_owned(), format!("sha-{}", &commit[..12])]
        );
        assert_eq!(t.untagged, None);
    }

    #[test]
    fn other_branches_get_no_latest() {
        let dir = tempfile::tempdir().unwrap();
        let commit = repo(dir.path());
        git(dir.path(), &["checkout", "-q", "-b", "feature"]);
        let t = Tags::read(Some(POLICY), dir.path(), &[]).unwrap();
        assert_eq!(t.tags, [format!("sha-{}", &commit[..12])]);
    }

    #[test]
    fn a_semver_tag_gives_its_three_tags() {
        let dir = tempfile::tempdir().unwrap();
        let commit = repo(dir.path());
        git(dir.path(), &["tag", "v1.4.2"]);
        let t = Tags::read(Some(POLICY), dir.path(), &[]).unwrap();
        assert_eq!(
            t.tags,
            [
                "latest".to_owned(),
                format!("sha-{}", &commit[..12]),
                "v1.4.2".to_owned(),
                "v1.4".to_owned(),
                "v1".to_owned()
            ]
        );
    }

    #[test]
    fn a_dirty_tree_gets_only_its_sha() {
        let dir = tempfile::tempdir().unwrap();
        let commit = repo(dir.path());
        git(dir.path(), &["tag", "v1.4.2"]);
        std::fs::write(dir.path().join("main.go"), "package main // edited\n").unwrap();
        let t = Tags::read(Some(POLICY), dir.path(), &[]).unwrap();
        assert_eq!(t.tags, [format!("sha-{}-dirty", &commit[..12])]);
        let c = t.checkout.unwrap();
        assert!(c.dirty);
        assert_eq!(c.branch.as_deref(), Some("main"));
        assert_eq!(c.git_tags, ["v1.4.2"]);
    }

    #[test]
    fn outside_git_there_is_no_tag_and_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tags::read(Some(POLICY), dir.path(), &[]).unwrap();
        assert!(t.tags.is_empty());
        let why = t.untagged.unwrap();
        assert!(why.contains("not a git checkout"), "{why}");
        assert!(why.contains("--tag NAME"), "{why}");
    }

    #[test]
    fn extra_tags_are_added_once_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        repo(dir.path());
        let t = Tags::read(Some(POLICY), dir.path(), &["latest".into(), "rc".into()]).unwrap();
        assert_eq!(t.tags.iter().filter(|t| *t == "latest").count(), 1);
        assert!(t.tags.contains(&"rc".to_owned()));
        let e = Tags::read(None, dir.path(), &["no/slash".into()]).unwrap_err();
        assert!(
            matches!(e, PublishError::Tag { ref tag, .. } if tag == "no/slash"),
            "{e}"
        );
    }

    #[test]
    fn without_a_policy_only_extra_tags() {
        let dir = tempfile::tempdir().unwrap();
        repo(dir.path());
        let t = Tags::read(None, dir.path(), &[]).unwrap();
        assert!(t.tags.is_empty());
        assert!(t.untagged.unwrap().contains("no hoist.toml"));
        let t = Tags::read(None, dir.path(), &["v2".into()]).unwrap();
        assert_eq!(t.tags, ["v2"]);
        assert_eq!(t.untagged, None);
    }
}
