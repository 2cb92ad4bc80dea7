//! Blobs by content address: ask a host's agent store which blobs it lacks, send only those.
//!
//! The host's own hoist answers and stores (`hoist agent --has`, `hoist agent --receive`), so
//! the store's layout stays the agent's and the host needs nothing but hoist. A blob goes as a
//! zstd frame over the connection; the host decompresses it to a temporary name beside the
//! store, hashes it, and renames it into the store only when its digest matches: a broken,
//! partial or truncated transfer is never visible to the agent.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use hoist_core::Digest;
use serde::Serialize;
use tokio::io::AsyncWriteExt as _;

use crate::error::HostError;
use crate::facts::layout;
use crate::ssh::Connection;

/// zstd's level for blobs: level 3 packs a Go binary to about 40% in well under a second; the
/// higher levels gain a few percent for several times the time.
const LEVEL: i32 = 3;

/// A blob the host has and the sender has too: what a new blob is sent as a delta against.
#[derive(Debug, Clone, Copy)]
pub struct Base<'a> {
    /// Its digest (the host finds it in its store by this).
    pub digest: &'a Digest,
    /// The sender's copy.
    pub path: &'a Path,
}

/// The compressed frames of one run, by (blob, base): hosts that lack the same blob against the
/// same base share one compression (a delta of a 15 MB binary costs a CPU-second; three hosts
/// paid it three times).
#[derive(Debug, Default)]
pub struct Frames(Mutex<HashMap<(Digest, Option<Digest>), FrameCell>>);

type FrameCell = Arc<tokio::sync::OnceCell<Arc<Vec<u8>>>>;

impl Frames {
    /// The frame of `path` (digest `digest`) against `base`, compressed on first use.
    async fn get(
        &self,
        path: &Path,
        digest: &Digest,
        base: Option<Base<'_>>,
    ) -> std::io::Result<Arc<Vec<u8>>> {
        let cell = Arc::clone(
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry((digest.clone(), base.map(|b| b.digest.clone())))
                .or_default(),
        );
        cell.get_or_try_init(|| async {
            let file = path.to_owned();
            let base_path = base.map(|b| b.path.to_owned());
            tokio::task::spawn_blocking(move || compress(&file, base_path.as_deref()))
                .await
                .map_err(std::io::Error::other)?
                .map(Arc::new)
        })
        .await
        .cloned()
    }
}

/// One blob sent.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Where the host stored it (an absolute path on the host).
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// The bytes that crossed the connection (compressed).
    pub wire_bytes: u64,
    /// The blob it was sent as a delta against, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Digest>,
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
/// `artifacts/sha256-HEX/NAME`, zstd-compressed on the way — as a delta against `base` when
/// given (a blob the host's store has, like the binary it runs now); `frames` keeps the
/// compressed bytes for the other hosts of the run.
///
/// # Errors
///
/// [`HostError::Remote`] when the host refuses it (the digest differs, a full disk: nothing is
/// stored then), and the errors of the connection and of reading `path`.
pub async fn send(
    conn: &Connection,
    frames: &Frames,
    path: &Path,
    digest: &Digest,
    name: &str,
    base: Option<Base<'_>>,
) -> Result<Sent, HostError> {
    let local = |source| HostError::LocalBinary {
        path: path.to_owned(),
        source,
    };
    let frame = frames.get(path, digest, base).await.map_err(local)?;
    let session = |source| HostError::Session {
        host: conn.host.clone(),
        source,
    };
    let mut cmd = conn
        .session()
        .raw_command(format!("\"$HOME/{}/hoist\"", layout::BIN_DIR));
    cmd.raw_arg("agent")
        .raw_arg("--receive")
        .arg(digest.to_string())
        .arg(name);
    if let Some(b) = base {
        cmd.raw_arg("--base").arg(b.digest.to_string());
    }
    let (child, mut stdin) = conn.spawn_piped(cmd).await?;
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
        base: base.map(|b| b.digest.clone()),
    })
}

/// The zstd frame of the file at `path`; with `base`, a delta against it (zstd's reference
/// prefix with long-distance matching and a window that spans both, as `zstd --patch-from`).
fn compress(path: &Path, base: Option<&Path>) -> std::io::Result<Vec<u8>> {
    let input = std::fs::read(path)?;
    let Some(base) = base else {
        return zstd::stream::encode_all(&input[..], LEVEL);
    };
    let prefix = std::fs::read(base)?;
    let span = input.len().max(prefix.len()).max(1 << 10);
    // The smallest power of two that holds both, within zstd's limits (31 on 64-bit hosts).
    let window_log = (usize::BITS - (span - 1).leading_zeros()).clamp(10, 31);
    let mut frame = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::with_ref_prefix(&mut frame, LEVEL, &prefix)?;
    encoder.window_log(window_log)?;
    encoder.long_distance_matching(true)?;
    std::io::Write::write_all(&mut encoder, &input)?;
    encoder.finish()?;
    Ok(frame)
}
