//! A scratch Go project: a copy of an example or fixture (or an empty directory) with a hoist
//! cache of its own, so tests run in parallel without sharing builds or writing into the tree.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

use crate::fixtures;
use crate::fs::{copy_dir, write};

/// A scratch directory holding a Go project (`dir`), a private hoist cache (`cache`), and room
/// for outputs (`path`); removed when dropped.
pub struct Project {
    tmp: TempDir,
    /// The project: where hoist.toml and go.mod are.
    pub dir: PathBuf,
    /// The `HOIST_CACHE_DIR` of this project's builds.
    pub cache: PathBuf,
}

impl Project {
    /// An empty project directory.
    pub fn empty() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("hoist-test-")
            .tempdir()
            .expect("temp dir");
        let dir = tmp.path().join("src");
        let cache = tmp.path().join("cache");
        std::fs::create_dir(&dir).expect("create project dir");
        Self { tmp, dir, cache }
    }

    /// A copy of `examples/NAME`.
    pub fn example(name: &str) -> Self {
        Self::copy_of(&fixtures::example(name))
    }

    /// A copy of `tests/fixtures/NAME`.
    pub fn fixture(name: &str) -> Self {
        Self::copy_of(&fixtures::fixture(name))
    }

    /// A copy of the Go project at `src` (anywhere: an example, a fixture, a fetched service).
    pub fn copy_of(src: &Path) -> Self {
        let p = Self::empty();
        copy_dir(src, &p.dir);
        p
    }

    /// The project directory as an argument (`hoist build DIR`).
    pub fn dir_str(&self) -> &str {
        self.dir.to_str().expect("UTF-8 path")
    }

    /// A path in the scratch directory, outside the project.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes a file of the project, creating its directory.
    pub fn write(&self, rel: &str, text: &str) {
        write(&self.dir.join(rel), text);
    }

    /// Reads a file of the project.
    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Replaces `from` (which must occur) with `to` in a file of the project.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "`{from}` is not in {rel}:\n{text}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// `BIN ARGS` with this project's cache ([`crate::cli::command`]).
    pub fn command(&self, bin: &Path, args: &[&str]) -> Command {
        crate::cli::command(bin, &self.cache, args)
    }

    /// [`Project::command`] as a std command.
    pub fn std_command(&self, bin: &Path, args: &[&str]) -> std::process::Command {
        crate::cli::std_command(bin, &self.cache, args)
    }
}
