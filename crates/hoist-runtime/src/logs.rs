//! Replica output captured to size-bounded, rotating log files: `NAME.log`, then `NAME.log.1`
//! … `NAME.log.K` for older output, so a chatty replica can never fill the disk.

use std::path::{Path, PathBuf};

use tokio::fs::File;
use tokio::io::AsyncWriteExt;

use crate::RuntimeError;

/// Where a replica's log goes and how much of it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPolicy {
    /// The current file; rotated files get `.1`, `.2`, … appended.
    pub path: PathBuf,
    /// Bytes per file before it is rotated.
    pub max_bytes: u64,
    /// Rotated files kept besides the current one.
    pub keep: u32,
}

/// Appends to the current log file, rotating it when it is full.
pub struct RotatingLog {
    policy: LogPolicy,
    file: File,
    written: u64,
}

impl RotatingLog {
    /// Opens (appending to) the current log file.
    pub async fn open(policy: LogPolicy) -> Result<Self, RuntimeError> {
        if let Some(dir) = policy.path.parent() {
            crate::private::create_dir(dir).map_err(|source| RuntimeError::Log {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = open_append(&policy.path).await?;
        let written = file.metadata().await.map_or(0, |m| m.len());
        Ok(Self {
            policy,
            file,
            written,
        })
    }

    /// Writes `bytes`, rotating first when they would not fit. A single write larger than the
    /// limit still goes whole into a fresh file: a line is never split across files.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), RuntimeError> {
        if self.written > 0 && self.written + bytes.len() as u64 > self.policy.max_bytes {
            self.rotate().await?;
        }
        self.file
            .write_all(bytes)
            .await
            .map_err(|source| RuntimeError::Log {
                path: self.policy.path.clone(),
                source,
            })?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Flushes what was written; errors are ignored (the log is best effort once the replica
    /// has gone).
    pub async fn flush(&mut self) {
        let _ = self.file.flush().await;
    }

    async fn rotate(&mut self) -> Result<(), RuntimeError> {
        let _ = self.file.flush().await;
        let numbered = |n: u32| PathBuf::from(format!("{}.{n}", self.policy.path.display()));
        let _ = tokio::fs::remove_file(numbered(self.policy.keep)).await;
        for n in (1..self.policy.keep).rev() {
            let _ = tokio::fs::rename(numbered(n), numbered(n + 1)).await;
        }
        if self.policy.keep > 0 {
            let _ = tokio::fs::rename(&self.policy.path, numbered(1)).await;
        } else {
            let _ = tokio::fs::remove_file(&self.policy.path).await;
        }
        self.file = open_append(&self.policy.path).await?;
        self.written = 0;
        Ok(())
    }
}

/// Rotates a log that another process writes to (a replica of the `process` driver, which
/// holds the file open with `O_APPEND`) when it has reached `max_bytes`: the older files shift
/// up, the current content is copied to `.1`, and the current file is truncated in place, so
/// the writer goes on writing at the new end. Lines written between the copy and the truncate
/// are lost, as with logrotate's `copytruncate`; returns whether it rotated.
///
/// # Errors
/// The I/O error of the copy or the truncation.
pub fn rotate_copy_truncate(policy: &LogPolicy) -> std::io::Result<bool> {
    let len = match std::fs::metadata(&policy.path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if len < policy.max_bytes {
        return Ok(false);
    }
    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", policy.path.display()));
    if policy.keep > 0 {
        let _ = std::fs::remove_file(numbered(policy.keep));
        for n in (1..policy.keep).rev() {
            let _ = std::fs::rename(numbered(n), numbered(n + 1));
        }
        std::fs::copy(&policy.path, numbered(1))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&policy.path)?
        .set_len(0)?;
    Ok(true)
}

/// The log files of `policy`, oldest first: `.K` … `.1`, then the current one (those that exist).
pub fn files_oldest_first(policy: &LogPolicy) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = (1..=policy.keep)
        .rev()
        .map(|n| PathBuf::from(format!("{}.{n}", policy.path.display())))
        .filter(|p| p.exists())
        .collect();
    if policy.path.exists() {
        files.push(policy.path.clone());
    }
    files
}

async fn open_append(path: &Path) -> Result<File, RuntimeError> {
    crate::private::append_options()
        .open(path)
        .await
        .map_err(|source| RuntimeError::Log {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_truncate_keeps_the_writer_appending() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let policy = LogPolicy {
            path: dir.path().join("r.log"),
            max_bytes: 8,
            keep: 1,
        };
        let mut writer = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&policy.path)
            .unwrap();
        writer.write_all(b"first\n").unwrap();
        assert!(!rotate_copy_truncate(&policy).unwrap(), "not full yet");
        writer.write_all(b"second\n").unwrap();
        assert!(rotate_copy_truncate(&policy).unwrap());
        writer.write_all(b"third\n").unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(
            read(&policy.path),
            "third\n",
            "appends at the new end, no hole"
        );
        assert_eq!(read(&dir.path().join("r.log.1")), "first\nsecond\n");
        assert_eq!(
            files_oldest_first(&policy),
            [dir.path().join("r.log.1"), policy.path.clone()]
        );
    }

    #[tokio::test]
    async fn rotates_and_keeps_k_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.log");
        let mut log = RotatingLog::open(LogPolicy {
            path: path.clone(),
            max_bytes: 10,
            keep: 2,
        })
        .await
        .unwrap();
        for line in ["aaaaaa\n", "bbbbbb\n", "cccccc\n", "dddddd\n"] {
            log.write(line.as_bytes()).await.unwrap();
        }
        log.file.flush().await.unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(&path), "dddddd\n");
        assert_eq!(read(&dir.path().join("r.log.1")), "cccccc\n");
        assert_eq!(read(&dir.path().join("r.log.2")), "bbbbbb\n");
        assert!(!dir.path().join("r.log.3").exists());
    }
}
