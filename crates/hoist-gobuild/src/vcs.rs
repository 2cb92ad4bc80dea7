//! Git facts a build is stamped and dated with, read with the user's own `git` (the same
//! semantics as Go's `-buildvcs` and the user's shell; see DEPENDENCIES.md for why not gix).

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// What git says about the checkout being built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GitFacts {
    /// The full commit hash of HEAD.
    pub commit: String,
    /// The committer time of HEAD, seconds since the epoch: the default mtime of the app layer,
    /// so two checkouts of one commit give one digest.
    pub commit_time: i64,
    /// `git describe --tags --always --dirty`: the version stamped into the binary.
    pub describe: String,
    /// Tracked files differ from HEAD (untracked files do not count, as with `git describe`).
    pub dirty: bool,
    /// The tags pointing at HEAD.
    pub tags: Vec<String>,
    /// The branch checked out, if any (none when detached).
    pub branch: Option<String>,
    /// The `origin` remote, with any user name or password removed: it becomes an image label.
    pub remote_url: Option<String>,
}

impl GitFacts {
    /// Reads the facts of the repository containing `dir`; `None` when `dir` is not in a git
    /// work tree with at least one commit, or git is not installed (a build still works; it is
    /// then stamped `dev` and dated by SOURCE_DATE_EPOCH or the epoch).
    pub fn read(dir: &Path) -> Option<Self> {
        // Five small git processes, run at once: this sits before `go build` on every build.
        let (log, describe, tags, branch, remote) = std::thread::scope(|s| {
            let run = |args: &'static [&'static str]| s.spawn(move || git(dir, args));
            let log = run(&["log", "-1", "--format=%H %ct"]);
            let describe = run(&["describe", "--tags", "--always", "--dirty"]);
            let tags = run(&["tag", "--points-at", "HEAD"]);
            let branch = run(&["symbolic-ref", "--short", "-q", "HEAD"]);
            let remote = run(&["remote", "get-url", "origin"]);
            let join =
                |h: std::thread::ScopedJoinHandle<'_, Option<String>>| h.join().ok().flatten();
            (
                join(log),
                join(describe),
                join(tags),
                join(branch),
                join(remote),
            )
        });
        let log = log?;
        let (commit, time) = log.split_once(' ')?;
        let describe = describe?;
        Some(Self {
            commit: commit.to_owned(),
            commit_time: time.parse().ok()?,
            dirty: describe.ends_with("-dirty"),
            describe,
            tags: tags
                .map(|t| t.lines().map(str::to_owned).collect())
                .unwrap_or_default(),
            branch,
            remote_url: remote.map(|u| strip_userinfo(&u)),
        })
    }
}

/// Runs git and returns its trimmed stdout when it succeeded with output.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// `https://user:token@host/x` → `https://host/x`: a remote URL may carry a secret, and it must
/// never reach an image label.
fn strip_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if let Some((_, host)) = authority.rsplit_once('@') {
            return if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            };
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_from_remote() {
        assert_eq!(
            strip_userinfo("https://u:tok@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            strip_userinfo("https://github.com/a/b"),
            "https://github.com/a/b"
        );
        assert_eq!(
            strip_userinfo("git@github.com:a/b.git"),
            "git@github.com:a/b.git"
        );
        assert_eq!(strip_userinfo("ssh://git@host"), "ssh://host");
    }

    #[test]
    fn reads_a_real_repository() {
        let d = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(d.path())
                .output()
                .unwrap();
            assert!(
                ok.status.success(),
                "{:?}",
                String::from_utf8_lossy(&ok.stderr)
            );
        };
        assert!(GitFacts::read(d.path()).is_none());
        run(&["init", "-q", "-b", "main"]);
        std::fs::write(d.path().join("f"), "1").unwrap();
        run(&["add", "f"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "c",
            "--date=@1700000000",
        ]);
        run(&["tag", "v1.2.3"]);
        run(&[
            "remote",
            "add",
            "origin",
            "https://me:secret@example.com/r.git",
        ]);
        let f = GitFacts::read(d.path()).unwrap();
        assert_eq!(f.describe, "v1.2.3");
        assert!(!f.dirty);
        assert_eq!(f.tags, vec!["v1.2.3"]);
        assert_eq!(f.branch.as_deref(), Some("main"));
        assert_eq!(f.remote_url.as_deref(), Some("https://example.com/r.git"));
        assert_eq!(f.commit.len(), 40);
        std::fs::write(d.path().join("f"), "2").unwrap();
        let f = GitFacts::read(d.path()).unwrap();
        assert!(f.dirty);
        assert_eq!(f.describe, "v1.2.3-dirty");
    }
}
