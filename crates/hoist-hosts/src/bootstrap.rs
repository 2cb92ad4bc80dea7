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

use std::path::Path;

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::check::facts;
use crate::error::HostError;
use crate::facts::{Facts, layout, local_platform};
use crate::public::{Plan, Public, install_files};
use crate::ssh::{Connection, SshOptions};

/// What hoist to install: this binary and its version.
#[derive(Debug)]
pub struct Binary<'a> {
    /// The file to copy (`std::env::current_exe()`).
    pub path: &'a Path,
    /// Its version, which names the file on the host.
    pub version: &'a str,
    /// Its sha256 (hex), computed once for every host of a run.
    sha256: tokio::sync::OnceCell<String>,
}

impl<'a> Binary<'a> {
    /// The binary at `path`, of `version`.
    pub fn new(path: &'a Path, version: &'a str) -> Self {
        Self {
            path,
            version,
            sha256: tokio::sync::OnceCell::new(),
        }
    }

    /// Its sha256: hashed once per run, and remembered across runs beside the user's cache
    /// (keyed by the file's size and modification time), since hashing a hoist binary on every
    /// deploy costs seconds.
    async fn sha256(&self) -> Result<&str, HostError> {
        self.sha256
            .get_or_try_init(|| sha256_cached(self.path))
            .await
            .map(String::as_str)
    }
}

/// What a host gets: this hoist, and its agent started with the public side of `[hosts]`.
#[derive(Debug)]
pub struct Install<'a> {
    /// The hoist binary.
    pub bin: Binary<'a>,
    /// The agent's listeners and certificate.
    pub public: Public,
}

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
pub async fn setup(conn: &Connection, install: &Install<'_>) -> Result<Setup, HostError> {
    let (bin, public) = (&install.bin, &install.public);
    let facts = facts(conn).await?;
    let (os, arch) = local_platform();
    if facts.os != os || facts.arch != arch {
        return Err(HostError::Platform {
            host: conn.host.clone(),
            os: facts.os,
            arch: facts.arch,
            local: format!("{os}/{arch}"),
        });
    }
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
        copy(conn, bin.path, &path, &expected).await?
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
    install: &Install<'_>,
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

/// Sends the file to `dest.tmp`, checks the host's sha256 of it, then renames it into place.
async fn copy(conn: &Connection, src: &Path, dest: &str, expected: &str) -> Result<u64, HostError> {
    let tmp = format!("{dest}.tmp");
    let sent = stream_verified(conn, src, &tmp, expected).await?;
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
        // whose other threads still finish a write holds the listening sockets), the sockets
        // go with them, and the new
        // agent adopts the replicas, as after a crash. Then ours
        // starts, detached from the SSH session: its own session, no terminal, output to its
        // log.
        conn.sh(
            "start the agent",
            &format!(
                "set -e; mkdir -p \"{state}\"; \
                 for f in \"$HOME/{pidfile}\" \"{state}/agent.pid\"; do \
                   p=$(cat \"$f\" 2>/dev/null || true); \
                   if [ -n \"$p\" ] && tr '\\0' ' ' < \"/proc/$p/cmdline\" 2>/dev/null | grep -q ' agent '; then \
                     kill -9 \"$p\" 2>/dev/null || true; i=0; \
                     while [ $i -lt 500 ] && grep -qv ') [ZX] ' /proc/$p/task/*/stat 2>/dev/null; do sleep 0.01; i=$((i+1)); done; \
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
