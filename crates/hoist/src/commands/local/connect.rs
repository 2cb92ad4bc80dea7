//! Finding the agent of a state directory, and starting one in the background when a deploy
//! needs it and none runs.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hoist_runtime::api::AgentInfo;
use hoist_runtime::client::{AgentClient, ClientError};

/// `--state-dir`/`HOIST_STATE_DIR`, else `$XDG_STATE_HOME/hoist` (`~/.local/state/hoist`).
pub fn state_dir(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()));
    }
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .map(|d| d.join("hoist"))
        .context("no state directory: set HOIST_STATE_DIR")
}

/// The agent's client if one answers.
pub async fn running(dir: &Path) -> Result<(AgentClient, AgentInfo), ClientError> {
    let client = AgentClient::new(dir);
    let info = client.get::<AgentInfo>("/v1/agent").await?;
    Ok((client, info))
}

/// The agent of `dir`, or a clear error saying how to start one.
pub async fn connect(dir: &Path) -> anyhow::Result<AgentClient> {
    running(dir)
        .await
        .map(|(c, _)| c)
        .map_err(|e| anyhow::Error::new(e).context("cannot reach the local agent"))
}

/// The agent of `dir`, started in the background (`hoist agent`, its output in
/// `dir/agent.log`) when none answers.
pub async fn ensure(dir: &Path) -> anyhow::Result<(AgentClient, AgentInfo)> {
    if let Ok(found) = running(dir).await {
        return Ok(found);
    }
    hoist_runtime::private::create_dir(dir)
        .with_context(|| format!("cannot create the state directory `{}`", dir.display()))?;
    let log_path = dir.join("agent.log");
    let log = hoist_runtime::private::append(&log_path)
        .with_context(|| format!("cannot open `{}`", log_path.display()))?;
    let start_len = log.metadata().map_or(0, |m| m.len());
    let exe = std::env::current_exe().context("cannot find the hoist binary to start the agent")?;
    let mut child = Command::new(exe)
        .arg("agent")
        .arg("--state-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log))
        // Its own process group: a Ctrl-C in this terminal does not stop the agent.
        .process_group(0)
        .spawn()
        .context("cannot start `hoist agent`")?;
    eprintln!(
        "started the local agent (pid {}), log: {}",
        child.id(),
        log_path.display()
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(found) = running(dir).await {
            return Ok(found);
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read(&log_path).unwrap_or_default();
            let tail = String::from_utf8_lossy(
                &log[usize::try_from(start_len).unwrap_or(0).min(log.len())..],
            )
            .trim()
            .to_owned();
            return Err(anyhow::anyhow!("{tail}").context(format!(
                "the local agent exited ({status}) instead of starting; its log `{}` says",
                log_path.display()
            )));
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the local agent did not answer within 15s; see `{}`",
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
