//! Helpers of the container driver tests: the test images, built once per run by the real
//! `hoist` binary, and small HTTP, log and error helpers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

// ---------------------------------------------------------------------------------------------
// images, built once per test run by the real hoist binary

/// The test images as docker archives, each built on first use. Their names are fixed (not
/// unique per run), so each run replaces the last one's images instead of adding to them.
pub struct Archives {
    hello: OnceLock<PathBuf>,
    replica: OnceLock<PathBuf>,
    replica_arm64: OnceLock<PathBuf>,
}

pub static ARCHIVES: Archives = Archives {
    hello: OnceLock::new(),
    replica: OnceLock::new(),
    replica_arm64: OnceLock::new(),
};

impl Archives {
    /// examples/hello.
    pub fn hello(&self) -> &Path {
        self.hello.get_or_init(|| {
            let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
            build_archive(&example, "hoist-runtime-hello", None)
        })
    }

    /// tests/fixtures/replica for this machine.
    pub fn replica(&self) -> &Path {
        self.replica
            .get_or_init(|| build_archive(&fixture(), "hoist-runtime-replica", None))
    }

    /// tests/fixtures/replica for linux/arm64 (hoist cross-compiles it).
    pub fn replica_arm64(&self) -> &Path {
        self.replica_arm64.get_or_init(|| {
            build_archive(
                &fixture(),
                "hoist-runtime-replica-arm64",
                Some("linux/arm64"),
            )
        })
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replica")
}

/// `hoist build` of a copy of `project` renamed `name`, as a docker archive.
fn build_archive(project: &Path, name: &str, platform: Option<&str>) -> PathBuf {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-driver");
    let src = work.join("src").join(name);
    let _ = std::fs::remove_dir_all(&src);
    copy_dir(project, &src);
    let toml = src.join("hoist.toml");
    let text = std::fs::read_to_string(&toml).expect("hoist.toml");
    let original = text
        .lines()
        .find(|l| l.starts_with("name = "))
        .expect("an app name")
        .to_owned();
    std::fs::write(
        &toml,
        text.replacen(&original, &format!("name = \"{name}\""), 1),
    )
    .expect("write hoist.toml");
    let archive = work.join(format!("{name}.tar"));
    let mut cmd = std::process::Command::new(hoist_binary());
    cmd.arg("build").arg(&src);
    if let Some(p) = platform {
        cmd.args(["--platform", p]);
    }
    let out = cmd
        .arg("--output")
        .arg(format!("docker-archive:{}", archive.display()))
        .env("HOIST_CACHE_DIR", work.join("cache"))
        .env("NO_COLOR", "1")
        // Not the enclosing repository's git facts: the same source gives the same image.
        .env("GIT_CEILING_DIRECTORIES", work.join("src"))
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .expect("run hoist");
    assert!(
        out.status.success(),
        "hoist build of {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    archive
}

/// The `hoist` binary of this workspace, built now if needed (cargo builds it only for the
/// `hoist` crate's own tests).
fn hoist_binary() -> PathBuf {
    static HOIST: OnceLock<PathBuf> = OnceLock::new();
    HOIST
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let out = std::process::Command::new(env!("CARGO"))
                .args([
                    "build",
                    "-p",
                    "hoist",
                    "--bin",
                    "hoist",
                    "--message-format=json",
                ])
                .current_dir(&root)
                .stderr(std::process::Stdio::inherit())
                .output()
                .expect("run cargo");
            assert!(out.status.success(), "cargo build -p hoist failed");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|m| m["target"]["name"] == "hoist")
                .find_map(|m| m["executable"].as_str().map(PathBuf::from))
                .expect("cargo names the hoist executable")
        })
        .clone()
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// small helpers

/// A name no other test (or run) uses.
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

/// The error and its causes, one per line.
pub fn report(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}\n  caused by: {c}");
        cause = c.source();
    }
    s
}

/// The replica's log, once the driver has written it.
pub fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Waits until the replica's log contains `needle`.
pub async fn wait_for_log(path: &Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(path).is_ok_and(|log| log.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "`{needle}` is not in {} after 10 s",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET http://127.0.0.1:PORT/PATH`, retried until it answers 200 within `within`; the body.
pub async fn http_get(port: u16, path: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        match try_get(port, path).await {
            Ok(body) => return body,
            Err(e) if Instant::now() < deadline => {
                eprintln!("GET :{port}{path}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("GET :{port}{path} did not answer within {within:?}: {e}"),
        }
    }
}

async fn try_get(port: u16, path: &str) -> Result<String, String> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await?;
        let mut response = String::new();
        s.read_to_string(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("no complete response")?;
    match head.split(' ').nth(1) {
        Some("200") => Ok(body.to_owned()),
        _ => Err(format!(
            "answered `{}`",
            head.lines().next().unwrap_or_default()
        )),
    }
}

/// Pushes the replica fixture to `registry` with `hoist build --push`; the pinned reference.
pub fn push_replica(registry: &str) -> String {
    ARCHIVES.replica();
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-driver");
    let repository = format!("{registry}/hoist-runtime-replica");
    let out = std::process::Command::new(hoist_binary())
        .arg("build")
        .arg(work.join("src/hoist-runtime-replica"))
        .args(["--push", "--repository", &repository, "--json"])
        .env("HOIST_CACHE_DIR", work.join("cache"))
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", work.join("src"))
        .output()
        .expect("run hoist");
    assert!(
        out.status.success(),
        "hoist build --push failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json");
    summary["push"]["reference"]
        .as_str()
        .expect("the pinned reference")
        .to_owned()
}

/// Removes an image from dockerd, with its client (HOIST_TEST_DOCKER), when dropped.
pub struct RemoveDockerImage(pub String);

impl Drop for RemoveDockerImage {
    fn drop(&mut self) {
        if let Ok(docker) = std::env::var("HOIST_TEST_DOCKER") {
            let _ = std::process::Command::new(docker)
                .args(["rmi", "-f", &self.0])
                .output();
        }
    }
}
