//! Go programs the tests run, built with the machine's Go: once per source and settings, into
//! `target/tmp/hoist-test/go`, so a test run (and the next one) links each fixture once instead
//! of once per test. Builds are static (`CGO_ENABLED=0`) for Linux, like hoist's own.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::fs::target_tmp;

/// Numbers the temporary outputs of builds running at once.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One `go build` of the main package in a directory.
#[derive(Debug, Clone)]
pub struct GoBuild {
    src: PathBuf,
    goarch: Option<String>,
    ldflags: String,
}

impl GoBuild {
    /// The main package in `src`, for this machine, without ldflags.
    pub fn new(src: &Path) -> Self {
        Self {
            src: src.to_path_buf(),
            goarch: None,
            ldflags: String::new(),
        }
    }

    /// For another architecture (`arm64`): images for a platform an engine cannot run.
    #[must_use]
    pub fn goarch(mut self, goarch: &str) -> Self {
        self.goarch = Some(goarch.to_owned());
        self
    }

    /// With `-ldflags FLAGS` (`-X=main.version=v2`): binaries that tell themselves apart.
    #[must_use]
    pub fn ldflags(mut self, flags: &str) -> Self {
        flags.clone_into(&mut self.ldflags);
        self
    }

    /// The binary: the cached one when the sources and settings are unchanged, else built now.
    /// Fails the test with Go's output when the build fails.
    pub fn build(&self) -> PathBuf {
        let name = self
            .src
            .file_name()
            .map_or_else(|| "main".to_owned(), |n| n.to_string_lossy().into_owned());
        let dir = target_tmp("go");
        let bin = dir.join(format!("{name}-{:016x}", self.key()));
        if bin.exists() {
            return bin;
        }
        // Tests build in parallel: each into a file of its own, then renamed into place (a
        // running copy of an earlier build keeps its inode).
        let tmp = dir.join(format!(
            "build-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut go = Command::new("go");
        go.args([
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags",
            &self.ldflags,
            "-o",
        ])
        .arg(&tmp)
        .arg(".")
        .current_dir(&self.src)
        .env("CGO_ENABLED", "0")
        .env("GOOS", "linux");
        if let Some(arch) = &self.goarch {
            go.env("GOARCH", arch);
        }
        let out = go
            .output()
            .unwrap_or_else(|e| panic!("cannot run `go` ({e}): the tests need Go on PATH"));
        assert!(
            out.status.success(),
            "go build of {} failed:\n{}",
            self.src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &bin).expect("move the binary into place");
        bin
    }

    /// A hash of every file under the source directory and of the settings.
    fn key(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        let mut files = Vec::new();
        walk(&self.src, &mut files);
        files.sort();
        for f in &files {
            f.strip_prefix(&self.src).unwrap_or(f).hash(&mut hasher);
            std::fs::read(f)
                .unwrap_or_else(|e| panic!("read {}: {e}", f.display()))
                .hash(&mut hasher);
        }
        self.goarch.hash(&mut hasher);
        self.ldflags.hash(&mut hasher);
        hasher.finish()
    }
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let entry = entry.expect("dir entry");
        if entry.file_type().expect("file type").is_dir() {
            walk(&entry.path(), files);
        } else {
            files.push(entry.path());
        }
    }
}
