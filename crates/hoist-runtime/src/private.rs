//! The agent's state is private to its user: directories 0700, files 0600 (0700 for the
//! binaries it runs). The store holds `run.env` values, which are often secrets, and the logs
//! hold whatever the apps print.
//!
//! Everything the agent creates goes through [`create_dir`], [`write`] and [`append`], which
//! set the mode at creation (not after, so there is no moment when a file is readable by
//! others), and [`tighten`] checks a state directory left by an older hoist, or loosened by
//! hand, when the agent starts.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Mode of every directory the agent creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the agent creates (binaries: [`EXEC_MODE`]).
pub const FILE_MODE: u32 = 0o600;
/// Mode of the binaries the process driver runs.
pub const EXEC_MODE: u32 = 0o700;

/// Creates `dir` and its missing parents with mode 0700.
///
/// # Errors
/// The filesystem's error.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Writes `bytes` to a new (or truncated) file at `path` with `mode`.
///
/// # Errors
/// The filesystem's error.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(mode)
        .open(path)?;
    f.write_all(bytes)
}

/// Opens `path` for appending, creating it with mode 0600.
///
/// # Errors
/// The filesystem's error.
pub fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)
}

/// Options for a file opened for appending and created 0600 (for tokio's `OpenOptions`).
pub fn append_options() -> tokio::fs::OpenOptions {
    let mut o = tokio::fs::OpenOptions::new();
    o.create(true).append(true).mode(FILE_MODE);
    o
}

/// Takes group and other permissions away from `dir` and everything in it, except under the
/// directories named in `skip` (relative to `dir`: app data, whose modes are the app's own);
/// returns what it changed. Symbolic links are not followed.
///
/// # Errors
/// The filesystem's error on `dir` itself; entries that cannot be read are left alone.
pub fn tighten(dir: &Path, skip: &[&Path]) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    tighten_one(dir, &mut changed)?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if skip.iter().any(|s| path == dir.join(s)) {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                continue;
            }
            let _ = tighten_one(&path, &mut changed);
            if kind.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(changed)
}

/// Clears the group and other bits of one file or directory, if it has any.
fn tighten_one(path: &Path, changed: &mut Vec<PathBuf>) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    let mode = meta.permissions().mode() & 0o7777;
    let group_or_other = mode & 0o077;
    if group_or_other == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
    changed.push(path.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_private_whatever_the_umask_allows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        write(&dir.join("f"), b"x", FILE_MODE).unwrap();
        assert_eq!(mode(&dir.join("f")), 0o600);
        drop(append(&dir.join("log")).unwrap());
        assert_eq!(mode(&dir.join("log")), 0o600);
    }

    #[test]
    fn tighten_clears_group_and_other_bits_but_skips_app_data() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let set = |p: &Path, m| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m));
        std::fs::create_dir_all(root.join("logs/app")).unwrap();
        std::fs::create_dir_all(root.join("data/app")).unwrap();
        std::fs::write(root.join("hoist.db"), b"").unwrap();
        std::fs::write(root.join("logs/app/r.log"), b"").unwrap();
        std::fs::write(root.join("data/app/user.db"), b"").unwrap();
        set(root, 0o755).unwrap();
        set(&root.join("hoist.db"), 0o644).unwrap();
        set(&root.join("logs"), 0o755).unwrap();
        set(&root.join("logs/app/r.log"), 0o664).unwrap();
        set(&root.join("data/app/user.db"), 0o644).unwrap();
        let changed = tighten(root, &[Path::new("data/app")]).unwrap();
        assert_eq!(mode(root), 0o700);
        assert_eq!(mode(&root.join("hoist.db")), 0o600);
        assert_eq!(mode(&root.join("logs/app/r.log")), 0o600);
        assert_eq!(mode(&root.join("data/app/user.db")), 0o644, "app data");
        assert!(changed.contains(&root.join("hoist.db")));
        assert!(
            tighten(root, &[])
                .unwrap()
                .contains(&root.join("data/app/user.db"))
        );
        assert!(tighten(root, &[]).unwrap().is_empty(), "nothing left to do");
    }
}
