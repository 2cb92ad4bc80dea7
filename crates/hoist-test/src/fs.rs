//! Files: the repository's root, copies of directories, and a scratch place under `target/`
//! that outlives one test run (for builds worth caching).

use std::path::{Path, PathBuf};

/// The repository's root directory: fixtures, examples and scripts are found from here, whichever
/// crate's tests ask.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes `text` to `path`, creating its directory: tests write config files into projects.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dir");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Copies the directory tree `src` to `dst` (created): tests change copies of fixtures, never
/// the committed files.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// A directory under cargo's target directory (`target/tmp/hoist-test/NAME`), kept between runs:
/// what is built there (Go fixtures, the manifest validator) is reused by the next run, and
/// `cargo clean` removes it. `CARGO_TARGET_TMPDIR` is only known to integration tests at compile
/// time, so it is found from the running test binary (`target/<profile>/deps/<binary>`).
pub fn target_tmp(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .parent()
        .filter(|deps| deps.ends_with("deps"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(std::env::temp_dir, Path::to_path_buf);
    let dir = target.join("tmp/hoist-test").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Sets the permission bits of `path`: tests open up or lock down a state directory to see what
/// hoist does about it.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// The permission bits of a file or directory (with setuid, setgid and sticky): what hoist
/// created them with.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}
