//! Blobs by content address: ask a host's agent store which blobs it lacks, send only those.
//!
//! The host's own hoist answers (`hoist agent --has`), so the store's layout stays the agent's.
//! A blob is streamed over the connection to a temporary name beside the store, hashed on the
//! host, and renamed into the store (`artifacts/sha256-HEX/NAME`) only when its digest matches:
//! a broken or partial transfer is never visible to the agent. Not compressed yet (zstd is
//! next, see docs/hosts.md).

use std::path::Path;

use hoist_core::Digest;

use crate::error::HostError;
use crate::facts::layout;
use crate::ssh::Connection;

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
/// `artifacts/sha256-HEX/NAME`; returns the bytes sent.
///
/// # Errors
///
/// [`HostError::Checksum`] when the host's sha256 differs (nothing is stored then), and the
/// errors of the connection and of reading `path`.
pub async fn send(
    conn: &Connection,
    path: &Path,
    digest: &Digest,
    name: &str,
) -> Result<u64, HostError> {
    let dir = format!("$HOME/{}/artifacts", layout::STATE_DIR);
    let incoming = format!("{dir}/.incoming-{}", digest.hex());
    let sent = crate::bootstrap::stream_verified(conn, path, &incoming, digest.hex()).await?;
    conn.sh(
        "store the blob",
        &format!(
            "set -e; d=\"{dir}/sha256-{hex}\"; mkdir -p \"$d\"; chmod 755 \"{incoming}\"; mv -f \"{incoming}\" \"$d/{name}\"",
            hex = digest.hex(),
            name = name.replace(['/', '"', '$', '`', '\\'], "_"),
        ),
    )
    .await?;
    Ok(sent)
}
