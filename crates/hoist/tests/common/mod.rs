//! Helpers shared by the integration tests: scratch copies of the examples, git with a fixed
//! identity and date, `hoist` with a private cache, reading OCI layouts and their layers, plain
//! HTTP, and container engines that clean up after themselves.
// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// The commit date of every test repository, and so the image's `created` time.
pub const COMMIT_DATE: &str = "2024-05-01T12:00:00Z";
/// [`COMMIT_DATE`] in seconds since the epoch: the mtime of the app layer's files.
pub const COMMIT_EPOCH: u64 = 1_714_564_800;
/// What the tests tell a user to do when an engine is missing.
pub const RUN_THROUGH_SCRIPTS: &str =
    "run the tests through scripts/test, which starts the engines";

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory holding a Go project (`dir`), a private hoist cache (`cache`), and room
/// for outputs (`path`).
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
        Self::copy_of(&repo_root().join("examples").join(name))
    }

    /// A copy of `tests/fixtures/NAME`.
    pub fn fixture(name: &str) -> Self {
        Self::copy_of(&repo_root().join("tests/fixtures").join(name))
    }

    /// A copy of the Go project at `src` (anywhere: an example, a fixture, a fetched service).
    pub fn copy_of(src: &Path) -> Self {
        let p = Self::empty();
        copy_dir(src, &p.dir);
        p
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

    /// `hoist ARGS` with this project's cache.
    pub fn hoist(&self, args: &[&str]) -> Command {
        hoist(&self.cache, args)
    }
}

/// Writes `text` to `path`, creating its directory.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// A name no other test (or other run) uses: for images, containers and app names.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `hoist ARGS` with `cache` as its cache, no SOURCE_DATE_EPOCH, and no colour.
pub fn hoist(cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("hoist").expect("the hoist binary is built");
    cmd.args(args)
        .env("HOIST_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("HOIST_LOG");
    cmd
}

/// Runs `cmd`, asserts it succeeded, and returns its stdout (stdout and stderr are printed
/// when it failed).
pub fn success(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().clone();
    String::from_utf8(out.stdout).expect("stdout is UTF-8")
}

/// Runs `cmd`, asserts it failed with exit code 1 (an error; nothing changed) and printed
/// nothing on stdout, and returns its stderr.
pub fn failure(cmd: &mut Command) -> String {
    failure_with(cmd, 1)
}

/// [`failure`] of a usage or configuration error: exit code 2.
pub fn config_failure(cmd: &mut Command) -> String {
    failure_with(cmd, 2)
}

/// [`failure`] with exit code `code`.
pub fn failure_with(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    let stderr = String::from_utf8(out.stderr).expect("stderr is UTF-8");
    assert!(
        out.stdout.is_empty(),
        "a failure printed on stdout:\n{}\nstderr:\n{stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// Asserts `stderr` contains every one of `needles`.
#[track_caller]
pub fn assert_mentions(stderr: &str, needles: &[&str]) {
    for n in needles {
        assert!(
            stderr.contains(n),
            "stderr does not mention `{n}`:\n{stderr}"
        );
    }
}

/// The single `sha256:<64 hex>` line of a `hoist build` stdout.
#[track_caller]
pub fn digest_line(stdout: &str) -> String {
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        matches!(lines.as_slice(), [d] if is_digest(d)),
        "stdout is not one digest line:\n{stdout}"
    );
    lines[0].to_owned()
}

/// Whether `s` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `hoist build ARGS --json` in `project`, parsed.
pub fn build_json(project: &Project, args: &[&str]) -> Value {
    let dir = project.dir.to_str().expect("UTF-8 path");
    let mut all = vec!["build", dir, "--json"];
    all.extend_from_slice(args);
    let stdout = success(&mut project.hoist(&all));
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{stdout}"))
}

/// The `hoist.toml:LINE:COL` that `stderr` points at.
#[track_caller]
pub fn config_spot(stderr: &str) -> (usize, usize) {
    let at = stderr
        .find("hoist.toml:")
        .unwrap_or_else(|| panic!("stderr names no `hoist.toml:LINE:COL`:\n{stderr}"));
    let mut numbers = stderr[at + "hoist.toml:".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .map(|n| {
            n.parse::<usize>()
                .unwrap_or_else(|_| panic!("no LINE:COL after `hoist.toml:`:\n{stderr}"))
        });
    (
        numbers.next().expect("line"),
        numbers.next().expect("column"),
    )
}

// ---------------------------------------------------------------------------------------------
// git

/// Runs git in `dir` with a fixed identity and date and no user or system config; returns its
/// trimmed stdout.
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

#[track_caller]
fn assert_success(program: &str, args: &[&str], out: &Output) {
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a program, asserts it succeeded, returns its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{program}`: {e}"));
    assert_success(program, args, &out);
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

// ---------------------------------------------------------------------------------------------
// OCI image layouts

/// An OCI image layout directory written by `hoist build --output oci:DIR`.
pub struct Layout(pub PathBuf);

/// One image of a layout: its platform, manifest and config.
pub struct Image {
    /// `os/arch` from the image config.
    pub platform: String,
    /// The manifest's digest.
    pub digest: String,
    /// The manifest.
    pub manifest: Value,
    /// The image config.
    pub config: Value,
}

impl Layout {
    /// The bytes of a blob, checked against its digest's length.
    pub fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
        let path = self.0.join("blobs/sha256").join(hex);
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("blob {digest} is missing from the layout: {e}"))
    }

    /// A JSON blob.
    pub fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.blob(digest))
            .unwrap_or_else(|e| panic!("blob {digest} is not JSON: {e}"))
    }

    /// `index.json`.
    pub fn index(&self) -> Value {
        let text =
            std::fs::read_to_string(self.0.join("index.json")).expect("the layout has index.json");
        serde_json::from_str(&text).expect("index.json is JSON")
    }

    /// The one descriptor `index.json` names (hoist writes one image per layout).
    pub fn root(&self) -> Value {
        let index = self.index();
        let m = index["manifests"]
            .as_array()
            .expect("index.json lists manifests");
        assert_eq!(m.len(), 1, "index.json names one image: {index:#}");
        m[0].clone()
    }

    /// Every platform's image, following the root through an image index when there is one.
    pub fn images(&self) -> Vec<Image> {
        let root = self.root();
        let digest = root["digest"].as_str().expect("root digest");
        let descriptors = if root["mediaType"] == "application/vnd.oci.image.index.v1+json" {
            self.json(digest)["manifests"]
                .as_array()
                .expect("index manifests")
                .clone()
        } else {
            vec![root]
        };
        descriptors
            .iter()
            .map(|d| {
                let digest = d["digest"].as_str().expect("manifest digest").to_owned();
                let manifest = self.json(&digest);
                let config = self.json(
                    manifest["config"]["digest"]
                        .as_str()
                        .expect("config digest"),
                );
                let platform = format!(
                    "{}/{}",
                    config["os"].as_str().expect("config os"),
                    config["architecture"]
                        .as_str()
                        .expect("config architecture")
                );
                Image {
                    platform,
                    digest,
                    manifest,
                    config,
                }
            })
            .collect()
    }

    /// The image for `platform` (`linux/arm64`).
    pub fn image(&self, platform: &str) -> Image {
        self.images()
            .into_iter()
            .find(|i| i.platform == platform)
            .unwrap_or_else(|| panic!("the layout has no {platform} image"))
    }

    /// The files of one layer.
    pub fn layer(&self, digest: &str) -> BTreeMap<String, Entry> {
        untar_gzip(&self.blob(digest))
    }

    /// The layers of `image`, bottom first.
    pub fn layers(&self, image: &Image) -> Vec<BTreeMap<String, Entry>> {
        image.manifest["layers"]
            .as_array()
            .expect("manifest layers")
            .iter()
            .map(|l| self.layer(l["digest"].as_str().expect("layer digest")))
            .collect()
    }

    /// Every file of `image`, upper layers over lower ones.
    pub fn files(&self, image: &Image) -> BTreeMap<String, Entry> {
        self.layers(image).into_iter().flatten().collect()
    }
}

/// One tar entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Permission bits, with setuid/setgid/sticky.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// The contents of a regular file.
    pub data: Vec<u8>,
}

/// The entries of a gzip-compressed tar, by path without `./` or a trailing `/`.
pub fn untar_gzip(gz: &[u8]) -> BTreeMap<String, Entry> {
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(gz));
    let mut files = BTreeMap::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("a tar entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        files.insert(
            path,
            Entry {
                mode: header.mode().expect("mode"),
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                mtime: header.mtime().expect("mtime"),
                is_dir: header.entry_type().is_dir(),
                data,
            },
        );
    }
    files
}

/// ELF `e_machine` of x86-64.
pub const EM_X86_64: u16 = 0x3E;
/// ELF `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 0xB7;

/// The `e_machine` of an ELF file; panics if `bytes` is not ELF.
pub fn elf_machine(bytes: &[u8]) -> u16 {
    assert!(
        bytes.len() > 20 && bytes.starts_with(b"\x7fELF"),
        "not an ELF file"
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// `GET http://ADDR/PATH`, retried until it answers 200 or `within` has passed; returns the body.
pub fn http_get(addr: &str, path: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        match try_get(addr, path) {
            Ok(body) => return body,
            Err(e) if Instant::now() < deadline => {
                eprintln!("GET http://{addr}{path}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => panic!("GET http://{addr}{path} did not answer within {within:?}: {e}"),
        }
    }
}

fn try_get(addr: &str, path: &str) -> Result<String, String> {
    let sock = addr
        .parse()
        .map_err(|e| format!("bad address `{addr}`: {e}"))?;
    let mut s =
        TcpStream::connect_timeout(&sock, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    s.read_to_string(&mut response).map_err(|e| e.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no complete response")?;
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(format!("status `{status}`"));
    }
    Ok(body.to_owned())
}

// ---------------------------------------------------------------------------------------------
// container engines

/// A container engine the test scripts started; removes what it made when dropped.
pub struct Engine {
    /// `docker` or `podman`: the command name hoist's `--load` runs.
    pub name: &'static str,
    /// The client to drive it with.
    pub program: PathBuf,
    made: std::sync::Mutex<Vec<(&'static str, String)>>,
}

impl Engine {
    /// The engine named by `HOIST_TEST_DOCKER`; panics when it is not set.
    pub fn docker() -> Self {
        Self::from_env("docker", "HOIST_TEST_DOCKER")
    }

    /// The engine named by `HOIST_TEST_PODMAN`; panics when it is not set.
    pub fn podman() -> Self {
        Self::from_env("podman", "HOIST_TEST_PODMAN")
    }

    fn from_env(name: &'static str, var: &str) -> Self {
        let program = std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("{var} is not set: {RUN_THROUGH_SCRIPTS}"));
        Self {
            name,
            program: program.into(),
            made: std::sync::Mutex::default(),
        }
    }

    /// Runs `<engine> ARGS`, asserts it succeeded, returns its trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        assert_success(&self.program.to_string_lossy(), args, &out);
        String::from_utf8(out.stdout)
            .expect("UTF-8 stdout")
            .trim()
            .to_owned()
    }

    /// How the engine names a locally loaded `NAME:TAG` (podman puts it under `localhost/`).
    pub fn local(&self, reference: &str) -> String {
        match self.name {
            "podman" => format!("localhost/{reference}"),
            _ => reference.to_owned(),
        }
    }

    /// Removes the image `reference` when the engine is dropped.
    pub fn remove_image_later(&self, reference: &str) {
        self.made
            .lock()
            .expect("lock")
            .push(("rmi", reference.to_owned()));
    }

    /// Removes the container `name` when the engine is dropped.
    pub fn remove_container_later(&self, name: &str) {
        self.made
            .lock()
            .expect("lock")
            .push(("rm", name.to_owned()));
    }

    /// A directory to put first on hoist's PATH so that its `--load` runs this engine's client.
    pub fn path_dir(&self, in_dir: &Path) -> String {
        let bin = in_dir.join("engine-bin");
        std::fs::create_dir_all(&bin).expect("create engine-bin");
        std::os::unix::fs::symlink(&self.program, bin.join(self.name)).expect("symlink the engine");
        let path = std::env::var("PATH").unwrap_or_default();
        format!("{}:{path}", bin.display())
    }

    /// Runs `IMAGE` detached with its port 8080 published on 127.0.0.1; returns the container's
    /// name and the published address.
    pub fn run_detached(&self, image: &str) -> (String, String) {
        let name = unique("hoist-test");
        self.remove_container_later(&name);
        self.ok(&[
            "run",
            "-d",
            "--pull=never",
            "--name",
            &name,
            "-p",
            "127.0.0.1::8080",
            image,
        ]);
        let ports = self.ok(&["port", &name, "8080"]);
        let addr = ports
            .lines()
            .find(|l| l.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| {
                panic!(
                    "`{} port {name} 8080` shows no 127.0.0.1 address:\n{ports}",
                    self.name
                )
            });
        (name, addr.to_owned())
    }

    /// The uid the container's main process runs as, seen from the host.
    pub fn process_uid(&self, container: &str) -> String {
        let pid = self.ok(&["inspect", "--format", "{{.State.Pid}}", container]);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("cannot read the status of process {pid}: {e}"));
        let line = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .expect("a Uid line");
        line.split_whitespace()
            .nth(1)
            .expect("the real uid")
            .to_owned()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let made = std::mem::take(
            &mut *self
                .made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // Containers first: an image in use cannot be removed.
        for (verb, what) in made
            .iter()
            .filter(|(v, _)| *v == "rm")
            .chain(made.iter().filter(|(v, _)| *v == "rmi"))
        {
            let _ = std::process::Command::new(&self.program)
                .args([*verb, "-f", what.as_str()])
                .output();
        }
    }
}
