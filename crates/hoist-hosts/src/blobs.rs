//! Blobs by content address: ask a host's agent store which blobs it lacks, send only those.
//!
//! The host's own hoist answers and stores (`hoist agent --has`, `hoist agent --receive`), so
//! the store's layout stays the agent's and the host needs nothing but hoist. A blob goes as a
//! zstd frame over the connection; the host decompresses it to a temporary name beside the
//! store, hashes it, and renames it into the store only when its digest matches: a broken,
//! partial or truncated transfer is never visible to the agent.

use std::path::Path;

use hoist_core::Digest;
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;

use crate::error::HostError;
use crate::facts::layout;
use crate::ssh::Connection;

/// zstd's level for blobs: level 3 packs a Go binary to about 40% in well under a second; the
/// higher levels gain a few percent for several times the time.
const LEVEL: i32 = 3;

/// One blob sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Where the host stored it (an absolute path on the host).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// The bytes that crossed the connection (compressed).
    pub wire_bytes: u64,
}

/// The digests among `digests` that the host's agent store lacks, in the order given. Needs
/// hoist set up on the host ([`crate::setup`]).
///
/// # Errors
///
/// [`HostError::Remote`] when the host's hoist cannot answer, [`HostError::Unexpected`] when
/// it answers something that is not a digest.
pub async fn missing(conn: &Connection, digests: &[Digest]) -> Result<Vec<Digest>, HostError> {
    if digests.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = digests.iter().map(ToString::to_string).collect();
    let out = conn
        .sh(
            "ask the agent store which blobs it lacks",
            &format!(
                "\"$HOME/{}/hoist\" agent --has {}",
                layout::BIN_DIR,
                list.join(" ")
            ),
        )
        .await?;
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| HostError::Unexpected {
                host: conn.host.clone(),
                step: "hoist agent --has",
                answer: l.to_owned(),
            })
        })
        .collect()
}

/// Sends the file at `path`, whose digest is `digest`, into the host's agent store as
/// `artifacts/sha256-HEX/NAME`, zstd-compressed on the way.
///
/// # Errors
///
/// [`HostError::Remote`] when the host refuses it (the digest differs, a full disk: nothing is
/// stored then), and the errors of the connection and of reading `path`.
pub async fn send(
    conn: &Connection,
    path: &Path,
    digest: &Digest,
    name: &str,
) -> Result<Sent, HostError> {
    let local = |source| HostError::LocalBinary {
        path: path.to_owned(),
        source,
    };
    let file = path.to_owned();
    let frame = tokio::task::spawn_blocking(move || {
        let input = std::fs::File::open(&file)?;
        zstd::stream::encode_all(input, LEVEL)
    })
    .await
    .map_err(|e| local(std::io::Error::other(e)))?
    .map_err(local)?;
    let session = |source| HostError::Session {
        host: conn.host.clone(),
        source,
    };
    let mut child = conn
        .session()
        .raw_command(format!("\"$HOME/{}/hoist\"", layout::BIN_DIR))
        .raw_arg("agent")
        .raw_arg("--receive")
        .arg(digest.to_string())
        .arg(name)
        .stdin(openssh::Stdio::piped())
        .stdout(openssh::Stdio::piped())
        .stderr(openssh::Stdio::piped())
        .spawn()
        .await
        .map_err(session)?;
    let Some(mut stdin) = child.stdin().take() else {
        unreachable!("stdin is piped")
    };
    // A host that refuses early (a full disk) closes its end: its stderr says why.
    let wrote = async {
        stdin.write_all(&frame).await?;
        stdin.shutdown().await
    }
    .await;
    drop(stdin);
    let out = child.wait_with_output().await.map_err(session)?;
    if !out.status.success() {
        return Err(conn.remote("store the blob", &out.status.to_string(), &out.stderr));
    }
    wrote.map_err(|e| conn.remote("send the blob", &e.to_string(), &out.stderr))?;
    let answer = String::from_utf8_lossy(&out.stdout);
    let (stored, bytes) = answer
        .trim()
        .rsplit_once(' ')
        .and_then(|(p, n)| Some((p.to_owned(), n.parse().ok()?)))
        .ok_or_else(|| HostError::Unexpected {
            host: conn.host.clone(),
            step: "hoist agent --receive",
            answer: answer.trim().to_owned(),
        })?;
    Ok(Sent {
        path: stored,
        bytes,
        wire_bytes: frame.len() as u64,
    })
}
