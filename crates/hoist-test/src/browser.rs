//! A real browser for the tests of pages hoist serves: Debian's `chromium`, headless. It loads
//! a page, runs its scripts for a given span of *virtual* time (Chromium's
//! `--virtual-time-budget`: timers fire in order without the test waiting for the wall clock,
//! and time stands still while a fetch is pending), then prints the DOM as the scripts left it
//! or saves a screenshot.
//!
//! Chromium missing fails the test with how to install it (`scripts/install-test-deps` does);
//! it is never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::text;

/// The browser (`chromium` on `PATH`) with a private profile, so parallel tests do not share
/// one.
pub struct Chromium {
    program: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    /// The browser, or a failure that says how to install it.
    pub fn require() -> Self {
        let program = PathBuf::from("chromium");
        let version = Command::new(&program).arg("--version").output();
        assert!(
            version.as_ref().is_ok_and(|o| o.status.success()),
            "headless Chromium is needed for this test and `chromium --version` failed ({:?}): `apt-get install chromium` (scripts/install-test-deps installs it)",
            version.map(|o| text(&o.stderr)).map_err(|e| e.to_string())
        );
        let profile = tempfile::Builder::new()
            .prefix("hoist-chromium-")
            .tempdir()
            .expect("temp dir");
        Self { program, profile }
    }

    /// `chromium --headless` with the flags every run needs: no sandbox (tests may run as
    /// root), no GPU, no first-run work, the private profile, and `budget` of virtual time.
    fn command(&self, budget: Duration) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", self.profile.path().display()))
        .arg(format!("--virtual-time-budget={}", budget.as_millis()));
        cmd
    }

    /// The DOM of `url` once its scripts have run for `budget` of virtual time.
    pub fn dump_dom(&self, url: &str, budget: Duration) -> String {
        let out = self
            .command(budget)
            .arg("--dump-dom")
            .arg(url)
            .output()
            .expect("chromium runs");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "chromium --dump-dom {url} failed ({}):\n{}",
            out.status,
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Saves a PNG of `url` at `width`×`height` once its scripts have run for `budget`.
    pub fn screenshot(
        &self,
        url: &str,
        path: &Path,
        (width, height): (u32, u32),
        budget: Duration,
    ) {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        let _ = std::fs::remove_file(path);
        let out = self
            .command(budget)
            .arg(format!("--screenshot={}", path.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(url)
            .output()
            .expect("chromium runs");
        let png = std::fs::read(path).unwrap_or_default();
        assert!(
            out.status.success() && png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "chromium --screenshot of {url} made no PNG at `{}` ({}):\n{}",
            path.display(),
            out.status,
            text(&out.stderr)
        );
    }
}
