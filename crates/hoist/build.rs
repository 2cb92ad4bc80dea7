//! Records the commit hoist is built from (`HOIST_GIT_COMMIT`): `hoist ci` pins the pipeline's
//! hoist to it, so CI builds the same source (`cargo install --locked --rev`). Outside a git
//! checkout (a crates.io download) nothing is recorded and `hoist ci` asks for `--hoist-rev`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

fn main() {
    // HEAD's reflog changes on every commit and checkout: the commit is read again then.
    for path in ["HEAD", "logs/HEAD"] {
        if let Some(p) = git(&["rev-parse", "--path-format=absolute", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40) {
        println!("cargo:rustc-env=HOIST_GIT_COMMIT={commit}");
    }
}
