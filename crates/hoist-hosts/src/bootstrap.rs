//! `hoist hosts setup`: this hoist binary onto a host, per user and without root, and its
//! agent running there.
//!
//! The binary goes to `~/.local/share/hoist/bin/hoist-VERSION` (with `hoist` linking it): sent
//! over the SSH connection to a temporary name, hashed there, and renamed into place only when
//! the host's sha256 equals ours, so a broken copy is never run. A host that already has the
//! same bytes gets nothing (idempotent: the second run copies nothing).
//!
//! The agent runs under its supervisor (`hoist agent --supervise`: it holds the proxy's socket
//! and starts a dead agent again, so a crash refuses no connection), itself a systemd user unit
//! where the user has a systemd session (systemd restarts it), else a detached process
//! (`setsid`) with a pidfile; either way "up" means the agent's socket answers `hoist agent
//! --ping`, and the next run starts it again when it does not.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::check::facts;
use crate::error::HostError;
use crate::facts::{Facts, layout, local_platform};
use crate::public::{Plan, Public, install_files};
use crate::ssh::{Connection, SshOptions};

/// What hoist to install: a hoist binary and its version.
#[derive(Debug)]
pub struct Binary {
    /// The file to copy (`std::env::current_exe()`, or a build for another platform).
    pub path: PathBuf,
    /// Its version, which names the file on the host.
    pub version: String,
    /// `None` for this running hoist; for another platform's build, which cannot be asked
    /// here, the host runs it once (`--version`) before it takes the place of the current one.
    foreign: Option<(String, String)>,
    /// Its sha256 (hex), computed once for every host of a run.
    sha256: tokio::sync::OnceCell<String>,
}

impl Binary {
    /// The running hoist: `path`, of `version`.
    pub fn new(path: impl Into<PathBuf>, version: &str) -> Self {
        Self {
            path: path.into(),
            version: version.to_owned(),
            foreign: None,
            sha256: tokio::sync::OnceCell::new(),
        }
    }

    /// A build of this same version of hoist for `os`/`arch` (Go's names), at `path`.
    pub fn foreign(path: impl Into<PathBuf>, version: &str, os: &str, arch: &str) -> Self {
        Self {
            foreign: Some((os.to_owned(), arch.to_owned())),
            ..Self::new(path, version)
        }
    }

    /// Its sha256: hashed once per run, and remembered across runs beside the user's cache
    /// (keyed by the file's size and modification time), since hashing a hoist binary on every
    /// deploy costs seconds.
    async fn sha256(&self) -> Result<&str, HostError> {
        self.sha256
            .get_or_try_init(|| sha256_cached(&self.path))
            .await
            .map(String::as_str)
    }
}

/// What a host gets: the hoist for its platform, and its agent started with the public side of
/// `[hosts]`.
#[derive(Debug)]
pub struct Install {
    /// This hoist binary.
    pub bin: Binary,
    /// Builds of the same version for other platforms (`hoist-linux-arm64`, …), found where
    /// [`Install::searched`] says; a host of a platform with none is refused, naming them.
    pub others: Vec<Binary>,
    /// Where builds for other platforms were looked for, for the error that names none.
    pub searched: Vec<PathBuf>,
    /// The agent's listeners and certificate.
    pub public: Public,
}

impl Install {
    /// The hoist that runs on an `os`/`arch` host.
    ///
    /// # Errors
    /// [`HostError::Platform`] when there is none for it.
    pub fn binary_for(&self, host: &str, os: &str, arch: &str) -> Result<&Binary, HostError> {
        let (local_os, local_arch) = local_platform();
        if os == local_os && arch == local_arch {
            return Ok(&self.bin);
        }
        self.others
            .iter()
            .find(|b| {
                b.foreign
                    .as_ref()
                    .is_some_and(|(o, a)| o == os && a == arch)
            })
            .ok_or_else(|| HostError::Platform {
                host: host.to_owned(),
                platform: format!("{os}/{arch}"),
                local: format!("{local_os}/{local_arch}"),
                searched: self
                    .searched
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// The file name of a build of hoist for `os`/`arch` beside this one: `hoist-linux-arm64`.
pub fn foreign_name(os: &str, arch: &str) -> String {
    format!("hoist-{os}-{arch}")
}

/// The platforms besides this machine's that hosts may be (Go's names).
pub const HOST_PLATFORMS: [(&str, &str); 2] = [("linux", "amd64"), ("linux", "arm64")];

/// How the agent on a host came to be running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStart {
    /// It already answered, running this binary: left alone.
    AlreadyRunning,
    /// Started (or restarted for a new binary) as the systemd user unit.
    SystemdUser,
    /// Started as a detached process with a pidfile.
    Detached,
}

/// One host's setup.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Where the binary is on the host.
    pub path: String,
    /// Its sha256 (the host's own computation, equal to ours).
    pub sha256: String,
    /// Bytes sent: 0 when the host already had this binary.
    pub copied_bytes: u64,
    /// How the agent runs.
    pub agent: AgentStart,
    /// The host's facts before the setup.
    pub facts: Facts,
}

/// Installs `bin` on the host and makes sure its agent runs.
///
/// # Errors
///
/// [`HostError::Platform`] when the host cannot run this binary, [`HostError::Checksum`] when
/// the copy differs, [`HostError::AgentStart`] when the agent does not answer, and any
/// [`HostError`] of the connection or a command.
pub async fn setup(conn: &Connection, install: &Install) -> Result<Setup, HostError> {
    let public = &install.public;
    let facts = facts(conn).await?;
    let bin = install.binary_for(&conn.host, &facts.os, &facts.arch)?;
    let expected = bin.sha256().await?.to_owned();
    let name = format!("hoist-{}", bin.version);
    let path = format!("$HOME/{}/{name}", layout::BIN_DIR);
    // The installed binary's hash, from its sidecar `.sha256` when the file's size and time
    // are still those the sidecar was written for (a file changed since is hashed again).
    let present = conn
        .sh(
            "hash the installed hoist",
            &format!(
                "p=\"{path}\"; if [ -f \"$p\" ]; then st=$(stat -c '%s %Y' \"$p\"); \
                 if [ -f \"$p.sha256\" ] && [ \"$(cut -d' ' -f2,3 \"$p.sha256\")\" = \"$st\" ]; then cut -d' ' -f1 \"$p.sha256\"; \
                 else h=$(sha256sum \"$p\" | cut -d' ' -f1); echo \"$h $st\" > \"$p.sha256\"; echo \"$h\"; fi; fi"
            ),
        )
        .await?;
    let copied_bytes = if first_word(&present) == Some(expected.as_str()) {
        0
    } else {
        copy(conn, bin, &path, &expected).await?
    };
    conn.sh(
        "link the current hoist",
        &format!("ln -sfn {name} \"$HOME/{}/hoist\"", layout::BIN_DIR),
    )
    .await?;
    let plan = public.plan(&conn.host, &facts.home)?;
    install_files(conn, &plan).await?;
    let agent = start_agent(conn, &path, &facts, copied_bytes > 0, &plan).await?;
    Ok(Setup {
        path: format!("{}/{}/{name}", facts.home, layout::BIN_DIR),
        sha256: expected,
        copied_bytes,
        agent,
        facts,
    })
}

/// [`setup`] on every target at once, each on its own connection: a host that fails or does not
/// answer holds up no other. Results in the order given.
pub async fn setup_all(
    targets: &[String],
    opts: &SshOptions,
    install: &Install,
) -> Vec<(String, Result<Setup, HostError>)> {
    let all = targets.iter().map(|t| async move {
        let result = async {
            let conn = Connection::open(t, opts).await?;
            let setup = setup(&conn, install).await;
            conn.close().await;
            setup
        }
        .await;
        (t.clone(), result)
    });
    futures_util::future::join_all(all).await
}

/// Sends the file to `dest.tmp`, checks the host's sha256 of it (and that a build for another
/// platform runs there and is this version), then renames it into place.
async fn copy(
    conn: &Connection,
    bin: &Binary,
    dest: &str,
    expected: &str,
) -> Result<u64, HostError> {
    let tmp = format!("{dest}.tmp");
    let sent = stream_verified(conn, &bin.path, &tmp, expected).await?;
    if bin.foreign.is_some() {
        let said = conn
            .sh(
                "run the copied hoist",
                &format!("chmod 755 \"{tmp}\" && \"{tmp}\" --version 2>&1 || true"),
            )
            .await?;
        if said.split_whitespace().nth(1) != Some(bin.version.as_str()) {
            conn.sh("remove the copied hoist", &format!("rm -f \"{tmp}\""))
                .await?;
            return Err(HostError::ForeignVersion {
                host: conn.host.clone(),
                path: bin.path.clone(),
                said: said.trim().chars().take(200).collect(),
                version: bin.version.clone(),
            });
        }
    }
    conn.sh(
        "install hoist",
        &format!(
            "chmod 755 \"{tmp}\" && mv -f \"{tmp}\" \"{dest}\" && echo \"{expected} $(stat -c '%s %Y' \"{dest}\")\" > \"{dest}.sha256\""
        ),
    )
    .await?;
    Ok(sent)
}

/// Streams the file `src` over the connection to `dest` on the host (its directory created)
/// and checks the host's own sha256 of what arrived against `expected` (hex); a copy that
/// differs is removed. Returns the bytes sent.
pub(crate) async fn stream_verified(
    conn: &Connection,
    src: &Path,
    dest: &str,
    expected: &str,
) -> Result<u64, HostError> {
    let script = format!(
        "set -e; mkdir -p \"$(dirname \"{dest}\")\"; cat > \"{dest}\"; sha256sum \"{dest}\""
    );
    let file = tokio::fs::File::open(src)
        .await
        .map_err(|source| local(src, source))?;
    conn.pipe_verified(
        "copy a file",
        &script,
        file,
        |source| local(src, source),
        dest,
        expected,
    )
    .await
}

/// Makes sure the agent of `bin` runs, started with the plan's arguments; `replaced` says the
/// binary was just (re)installed, so a running agent runs old code and is restarted. A running
/// agent started with other arguments (the public side changed) is restarted too: it drains
/// its replicas, and the deploy that called this starts the app again.
async fn start_agent(
    conn: &Connection,
    bin: &str,
    facts: &Facts,
    replaced: bool,
    plan: &Plan,
) -> Result<AgentStart, HostError> {
    let state = format!("$HOME/{}", layout::STATE_DIR);
    let line = plan.line();
    // An empty line is written as one too: no file and no arguments are the same.
    let current = facts.agent_args.as_deref().unwrap_or_default();
    if facts.agent_up && !replaced && current == line {
        return Ok(AgentStart::AlreadyRunning);
    }
    // Remembered once the agent is started with them.
    let remember = format!("cat > \"{state}/agent.args\" <<'HOIST_ARGS'\n{line}\nHOIST_ARGS\n");
    let how = if facts.systemd_user {
        // Written through an unquoted heredoc: the login shell expands `$HOME` (in the binary's
        // path, and in an `--engine unix://$HOME/…`) to the host's own before systemd reads it.
        let unit = format!(
            "[Unit]\nDescription=hoist agent\n\n[Service]\nExecStart={bin} agent --supervise {line}\nRestart=always\n\n[Install]\nWantedBy=default.target\n"
        );
        conn.sh(
            "start the agent's systemd user unit",
            &format!(
                "set -e; mkdir -p \"{state}\"; d=\"$HOME/.config/systemd/user\"; mkdir -p \"$d\"; cat > \"$d/{unit_name}\" <<EOF\n{unit}EOF\nsystemctl --user daemon-reload; systemctl --user enable {unit_name} >/dev/null 2>&1 || true; systemctl --user restart {unit_name}\n{remember}",
                unit_name = layout::UNIT,
            ),
        )
        .await?;
        AgentStart::SystemdUser
    } else {
        // An agent of an older binary or other arguments is replaced with its replicas kept
        // running: its supervisor, then it, are killed (each only if its command line is
        // hoist's agent: a stale pid may be another process's now; gone once every thread is a
        // zombie or gone — a PID 1 that reaps nothing leaves zombies, and a zombie main thread
        // whose other threads still finish a write holds the listening sockets; one still there
        // after 5 s fails the start, saying so rather than leaving the new agent a taken port),
        // the sockets go with them, and the new agent adopts the replicas, as after a crash.
        // Then ours starts, detached from the SSH session: its own session, no terminal,
        // output to its log.
        conn.sh(
            "start the agent",
            &format!(
                "set -e; mkdir -p \"{state}\"; \
                 for f in \"$HOME/{pidfile}\" \"{state}/agent.pid\"; do \
                   p=$(cat \"$f\" 2>/dev/null || true); \
                   if [ -n \"$p\" ] && tr '\\0' ' ' < \"/proc/$p/cmdline\" 2>/dev/null | grep -q ' agent '; then \
                     kill -9 \"$p\" 2>/dev/null || true; i=0; \
                     while [ $i -lt 500 ] && grep -qv ') [ZX] ' /proc/$p/task/*/stat 2>/dev/null; do sleep 0.01; i=$((i+1)); done; \
                     if grep -qv ') [ZX] ' /proc/$p/task/*/stat 2>/dev/null; then echo \"the old agent (pid $p) did not exit within 5 s of kill -9\" >&2; exit 1; fi; \
                   fi; \
                 done; \
                 cd \"$HOME\"; setsid \"{bin}\" agent --supervise {line} >>\"{state}/agent.log\" 2>&1 </dev/null & echo $! > \"$HOME/{pidfile}\"\n{remember}",
                pidfile = layout::PIDFILE,
            ),
        )
        .await?;
        AgentStart::Detached
    };
    // Up means its socket answers; the loop runs on the host, one round trip.
    let waited = conn
        .sh(
            "wait for the agent",
            &format!(
                "i=0; while [ $i -lt 300 ]; do \"{bin}\" agent --ping >/dev/null 2>&1 && {{ echo up; exit 0; }}; sleep 0.1; i=$((i+1)); done; tail -n 5 \"{state}/agent.log\" 2>/dev/null"
            ),
        )
        .await?;
    if waited.trim() != "up" {
        return Err(HostError::AgentStart {
            host: conn.host.clone(),
            log: waited.trim().lines().collect::<Vec<_>>().join(" / "),
        });
    }
    Ok(how)
}

async fn sha256_file(path: &Path) -> Result<String, HostError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| local(path, source))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// [`sha256_file`], remembered in `~/.cache/hoist/self-sha256` as `SIZE MTIME_NS PATH HEX`
/// lines: a file with the same path, size and modification time is not hashed again.
async fn sha256_cached(path: &Path) -> Result<String, HostError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|source| local(path, source))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let key = format!("{} {mtime} {}", meta.len(), path.display());
    let cache = dirs::cache_dir().map(|d| d.join("hoist").join("self-sha256"));
    let known = match &cache {
        Some(c) => tokio::fs::read_to_string(c).await.unwrap_or_default(),
        None => String::new(),
    };
    if let Some(hex) = known.lines().find_map(|l| {
        l.rsplit_once(' ')
            .filter(|(k, _)| *k == key)
            .map(|(_, h)| h)
    }) {
        return Ok(hex.to_owned());
    }
    let hex = sha256_file(path).await?;
    if let Some(c) = &cache {
        // Best effort: a cache that cannot be written only costs the next run a hash. The
        // last few entries are kept (one per hoist binary the user runs).
        let mut lines: Vec<&str> = known.lines().rev().take(7).collect();
        lines.reverse();
        let line = format!("{key} {hex}");
        lines.push(&line);
        if let Some(dir) = c.parent() {
            let _ = tokio::fs::create_dir_all(dir).await;
        }
        let _ = tokio::fs::write(c, lines.join("\n") + "\n").await;
    }
    Ok(hex)
}

fn first_word(s: &str) -> Option<&str> {
    s.split_whitespace().next()
}

fn local(path: &Path, source: std::io::Error) -> HostError {
    HostError::LocalBinary {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::{Binary, Install, local_platform};
    use crate::error::HostError;

    #[test]
    fn a_host_of_another_platform_gets_its_build_or_an_error_that_says_where_to_put_one() {
        let (os, arch) = local_platform();
        let other = if arch == "arm64" { "amd64" } else { "arm64" };
        let mut install = Install {
            bin: Binary::new("/usr/local/bin/hoist", "1.2.3"),
            others: Vec::new(),
            searched: vec!["/opt/hoist".into(), "/usr/local/bin".into()],
            public: crate::Public::default(),
        };
        let here = install.binary_for("h", &os, &arch).unwrap();
        assert_eq!(here.path, std::path::Path::new("/usr/local/bin/hoist"));

        let err = install.binary_for("h", "linux", other).unwrap_err();
        assert!(matches!(err, HostError::Platform { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&format!("`hoist-linux-{other}`")), "{text}");
        assert!(text.contains("/opt/hoist, /usr/local/bin"), "{text}");
        let hint = err.hint().unwrap();
        let cpu = if other == "arm64" {
            "aarch64"
        } else {
            "x86_64"
        };
        assert!(
            hint.contains(&format!("--target {cpu}-unknown-linux-gnu")),
            "{hint}"
        );

        install.others.push(Binary::foreign(
            format!("/opt/hoist/hoist-linux-{other}"),
            "1.2.3",
            "linux",
            other,
        ));
        let there = install.binary_for("h", "linux", other).unwrap();
        assert_eq!(
            there.path,
            std::path::Path::new(&format!("/opt/hoist/hoist-linux-{other}"))
        );
        assert!(install.binary_for("h", "linux", "riscv64").is_err());
    }
}
