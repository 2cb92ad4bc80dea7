//! git with a fixed identity and date and no user or system config: a test repository's commit,
//! and so the image's `created` time and version stamp, is the same on every machine.

use std::path::Path;

use crate::process::assert_success;

/// The commit date of every test repository, and so the image's `created` time.
pub const COMMIT_DATE: &str = "2024-05-01T12:00:00Z";
/// [`COMMIT_DATE`] in seconds since the epoch: the mtime of the app layer's files.
pub const COMMIT_EPOCH: u64 = 1_714_564_800;

/// Runs git in `dir`; returns its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Hoist Test",
            "-c",
            "user.email=test@hoist.invalid",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", COMMIT_DATE)
        .env("GIT_COMMITTER_DATE", COMMIT_DATE)
        .output()
        .expect("run git");
    assert_success("git", args, &out);
    String::from_utf8(out.stdout)
        .expect("git prints UTF-8")
        .trim()
        .to_owned()
}

/// `git init` (if needed), then commits everything in `dir`; returns the commit hash.
pub fn commit_all(dir: &Path, message: &str) -> String {
    if !dir.join(".git").exists() {
        git(dir, &["init", "-q"]);
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}
