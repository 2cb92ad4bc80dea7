//! One `go build` for one platform.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hoist_core::Platform;
use serde::Serialize;

use crate::GoBuildError;

/// What to build, for one platform.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Where `go build` runs: the directory of hoist.toml (in the module, or a workspace root).
    pub module_dir: PathBuf,
    /// The main package relative to `module_dir`, `.` or `./cmd/x`.
    pub package: String,
    /// The target platform.
    pub platform: Platform,
    /// Where the binary goes; written to a temporary name first, then renamed.
    pub output: PathBuf,
    /// The version stamped into `version_var`.
    pub version: String,
    /// The commit stamped into `commit_var`.
    pub commit: String,
    /// The Go variable for the version, e.g. `main.version`.
    pub version_var: String,
    /// The Go variable for the commit, e.g. `main.commit`.
    pub commit_var: String,
    /// Go build tags.
    pub tags: Vec<String>,
    /// Extra linker flags, after hoist's own.
    pub extra_ldflags: Vec<String>,
    /// Build with cgo (`CGO_ENABLED=1`, this machine's platform only).
    pub cgo: bool,
    /// Extra environment (`build.env`).
    pub env: std::collections::BTreeMap<String, String>,
}

/// A built binary.
#[derive(Debug, Clone, Serialize)]
pub struct Binary {
    /// The platform it runs on.
    pub platform: Platform,
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How long `go build` took.
    #[serde(serialize_with = "ser_secs")]
    pub duration: Duration,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The `-ldflags` value: strip symbols and DWARF (`-s -w`) and clear the build ID (`-buildid=`),
/// which would otherwise differ between machines; then the `-X` stamps and the user's flags.
pub fn ldflags(req: &BuildRequest) -> String {
    let mut flags = vec![
        "-s".to_owned(),
        "-w".to_owned(),
        "-buildid=".to_owned(),
        quote_flag(&format!("-X={}={}", req.version_var, req.version)),
        quote_flag(&format!("-X={}={}", req.commit_var, req.commit)),
    ];
    flags.extend(req.extra_ldflags.iter().cloned());
    flags.join(" ")
}

/// Quotes a flag for Go's `-ldflags` splitter when it contains spaces or quotes.
fn quote_flag(flag: &str) -> String {
    if flag.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
        format!("'{}'", flag.replace('\'', ""))
    } else {
        flag.to_owned()
    }
}

/// Runs `go build` for one platform: static (`CGO_ENABLED=0`), path-free (`-trimpath`) and
/// stamped. The user's GOFLAGS, GOCACHE and GOMODCACHE are inherited untouched.
///
/// # Errors
/// [`GoBuildError::GoNotFound`] without `go`; [`GoBuildError::CompileFailed`] carrying the
/// compiler's own output; [`GoBuildError::Output`] when the binary cannot be written.
pub fn build(req: &BuildRequest) -> Result<Binary, GoBuildError> {
    let started = Instant::now();
    let parent = req.output.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|source| GoBuildError::Output {
        path: parent.to_path_buf(),
        source,
    })?;
    let tmp = req
        .output
        .with_extension(format!("tmp-{}", std::process::id()));
    let mut cmd = Command::new("go");
    cmd.current_dir(&req.module_dir)
        .envs(&req.env)
        .env("CGO_ENABLED", if req.cgo { "1" } else { "0" })
        .env("GOOS", &req.platform.os)
        .env("GOARCH", &req.platform.arch)
        .arg("build")
        .arg("-trimpath")
        .arg("-ldflags")
        .arg(ldflags(req))
        .arg("-o")
        .arg(&tmp);
    if let Some(goarm) = req.platform.goarm() {
        cmd.env("GOARM", goarm);
    }
    if !req.tags.is_empty() {
        cmd.arg("-tags").arg(req.tags.join(","));
    }
    cmd.arg(&req.package);
    tracing::debug!(?cmd, "running go build");
    let out = cmd.output().map_err(GoBuildError::spawn)?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(GoBuildError::CompileFailed {
            platform: req.platform.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
        });
    }
    let meta = std::fs::metadata(&tmp).map_err(|source| GoBuildError::Output {
        path: tmp.clone(),
        source,
    })?;
    if !meta.is_file() || !is_elf(&tmp) {
        // `go build -o` of a non-main package writes an archive (`!<arch>`), not a program.
        let _ = std::fs::remove_file(&tmp);
        return Err(GoBuildError::CompileFailed {
            platform: req.platform.to_string(),
            stderr: format!(
                "`{}` is not a main package (no binary was produced)",
                req.package
            ),
        });
    }
    std::fs::rename(&tmp, &req.output).map_err(|source| GoBuildError::Output {
        path: req.output.clone(),
        source,
    })?;
    Ok(Binary {
        platform: req.platform.clone(),
        path: req.output.clone(),
        size: meta.len(),
        duration: started.elapsed(),
    })
}

/// Whether `path` starts with the ELF magic: every platform hoist builds for is Linux.
fn is_elf(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> BuildRequest {
        BuildRequest {
            module_dir: PathBuf::from("."),
            package: ".".into(),
            platform: "linux/amd64".parse().unwrap(),
            output: PathBuf::from("out"),
            version: "v1.2.3".into(),
            commit: "abc".into(),
            version_var: "main.version".into(),
            commit_var: "main.commit".into(),
            tags: vec![],
            extra_ldflags: vec!["-extldflags=-static".into()],
            cgo: false,
            env: std::collections::BTreeMap::new(),
        }
    }

    #[test]
    fn ldflags_strip_and_stamp() {
        assert_eq!(
            ldflags(&req()),
            "-s -w -buildid= -X=main.version=v1.2.3 -X=main.commit=abc -extldflags=-static"
        );
    }

    #[test]
    fn ldflags_quote_spaces() {
        let mut r = req();
        r.version = "dev build".into();
        assert!(ldflags(&r).contains("'-X=main.version=dev build'"));
    }
}
