//! cgo: which packages of a program need it, and which shared libraries a cgo binary links.
//!
//! hoist builds with `CGO_ENABLED=0`, where a package like `github.com/mattn/go-sqlite3`
//! compiles to a stub that fails when the program starts. [`cgo_packages`] asks `go list` (with
//! cgo on, as the package would really build) which non-standard packages have cgo files, so
//! the build can be refused with the package named. (Standard packages such as `net` and
//! `os/user` have pure-Go fallbacks and are not counted.)
//!
//! With `build.cgo = true` the binary links the host's C libraries: [`shared_libraries`] reads
//! its ELF program interpreter and `DT_NEEDED` entries (and theirs, transitively) and finds each
//! through the host's loader cache (`ldconfig -p`), so the image can carry them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use object::elf;
use object::read::elf::{Dyn as _, ElfFile64, FileHeader as _, ProgramHeader as _};

use crate::GoBuildError;

/// The non-standard packages `package` (in `module_dir`) imports, directly or not, that have
/// cgo files when built for linux/`arch` with cgo on, in `go list` order.
///
/// # Errors
/// [`GoBuildError::GoNotFound`], or [`GoBuildError::ListFailed`] with go's message.
pub fn cgo_packages(
    module_dir: &Path,
    package: &str,
    arch: &str,
    tags: &[String],
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>, GoBuildError> {
    let mut cmd = Command::new("go");
    cmd.current_dir(module_dir)
        .envs(env)
        .env("CGO_ENABLED", "1")
        .env("GOOS", "linux")
        .env("GOARCH", arch)
        .args(["list", "-deps", "-f"])
        .arg("{{if and (not .Standard) .CgoFiles}}{{.ImportPath}}{{end}}");
    if !tags.is_empty() {
        cmd.arg("-tags").arg(tags.join(","));
    }
    let out = cmd.arg(package).output().map_err(GoBuildError::spawn)?;
    if !out.status.success() {
        return Err(GoBuildError::ListFailed {
            dir: module_dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// One shared library a binary needs at run time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SharedLibrary {
    /// Where the binary (or the loader) looks for it: the interpreter's path, or the path the
    /// loader cache gives for a `DT_NEEDED` name; the image puts it there.
    pub path: PathBuf,
    /// The file on this machine (the same path, or where its symbolic links lead).
    pub file: PathBuf,
}

/// Why the libraries of a binary could not be found.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The file could not be read.
    #[error("cannot read `{}`", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not a 64-bit ELF file.
    #[error("`{}` is not a 64-bit ELF file: {problem}", .path.display())]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        problem: String,
    },
    /// `ldconfig -p` could not be run.
    #[error("cannot run `ldconfig -p` to find shared libraries")]
    Ldconfig(#[source] std::io::Error),
    /// A needed library is not in the loader cache.
    #[error("`{}` needs `{name}`, which this machine's loader cache (`ldconfig -p`) does not have", .by.display())]
    NotFound {
        /// The file that needs it.
        by: PathBuf,
        /// The library's name.
        name: String,
    },
}

/// The interpreter and every shared library `binary` needs, transitively, as this machine's
/// loader would find them; empty for a static binary.
///
/// # Errors
/// [`LibraryError`] when a file cannot be read or parsed, or a library is not found.
pub fn shared_libraries(binary: &Path) -> Result<Vec<SharedLibrary>, LibraryError> {
    let (interp, needed) = dynamic_info(binary)?;
    if interp.is_none() && needed.is_empty() {
        return Ok(Vec::new());
    }
    let cache = loader_cache()?;
    let mut found = BTreeSet::new();
    if let Some(i) = interp {
        found.insert(library(PathBuf::from(i)));
    }
    let mut queue: Vec<(PathBuf, String)> = needed
        .into_iter()
        .map(|n| (binary.to_path_buf(), n))
        .collect();
    let mut seen = BTreeSet::new();
    while let Some((by, name)) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let path = cache
            .get(&name)
            .cloned()
            .ok_or_else(|| LibraryError::NotFound {
                by: by.clone(),
                name: name.clone(),
            })?;
        let lib = library(path);
        let (_, more) = dynamic_info(&lib.file)?;
        queue.extend(more.into_iter().map(|n| (lib.path.clone(), n)));
        found.insert(lib);
    }
    Ok(found.into_iter().collect())
}

fn library(path: PathBuf) -> SharedLibrary {
    let file = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    SharedLibrary { path, file }
}

/// The ELF program interpreter (`PT_INTERP`) and `DT_NEEDED` names of a 64-bit little-endian
/// ELF file.
fn dynamic_info(path: &Path) -> Result<(Option<String>, Vec<String>), LibraryError> {
    let data = std::fs::read(path).map_err(|source| LibraryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let not_elf = |e: object::Error| LibraryError::NotElf {
        path: path.to_path_buf(),
        problem: e.to_string(),
    };
    let file = ElfFile64::<object::Endianness>::parse(&*data).map_err(not_elf)?;
    let endian = file.endian();
    let mut interp = None;
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) == elf::PT_INTERP
            && let Ok(bytes) = ph.data(endian, &*data)
        {
            let s = String::from_utf8_lossy(bytes);
            interp = Some(s.trim_end_matches('\0').to_owned());
        }
    }
    let mut needed = Vec::new();
    let header = file.elf_header();
    let sections = header.sections(endian, &*data).map_err(not_elf)?;
    if let Some((dynamic, index)) = sections.dynamic(endian, &*data).map_err(not_elf)? {
        let strings = sections.strings(endian, &*data, index).map_err(not_elf)?;
        for d in dynamic {
            if d.tag32(endian).map(i64::from) == Some(elf::DT_NEEDED)
                && let Ok(name) = d.string(endian, strings)
            {
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok((interp, needed))
}

/// `soname → path` from `ldconfig -p`, for this machine's architecture (the first entry of a
/// name wins, as the loader's does).
fn loader_cache() -> Result<BTreeMap<String, PathBuf>, LibraryError> {
    let out = Command::new("ldconfig")
        .arg("-p")
        .output()
        .or_else(|_| Command::new("/sbin/ldconfig").arg("-p").output())
        .map_err(LibraryError::Ldconfig)?;
    Ok(parse_ldconfig(&String::from_utf8_lossy(&out.stdout)))
}

/// Lines like `\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6`.
fn parse_ldconfig(text: &str) -> BTreeMap<String, PathBuf> {
    let arch = if cfg!(target_arch = "x86_64") {
        "x86-64"
    } else if cfg!(target_arch = "aarch64") {
        "AArch64"
    } else {
        ""
    };
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let Some((left, path)) = line.split_once(" => ") else {
            continue;
        };
        let Some((name, flags)) = left.trim().split_once(' ') else {
            continue;
        };
        // 64-bit entries name their architecture; 32-bit ones (`libc6`) do not.
        if !arch.is_empty() && !flags.contains(arch) {
            continue;
        }
        map.entry(name.to_owned())
            .or_insert_with(|| PathBuf::from(path.trim()));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldconfig_lines_map_names_to_this_architectures_paths() {
        let text = "3 libs found in cache `/etc/ld.so.cache'\n\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n\tlibc.so.6 (libc6) => /lib/i386-linux-gnu/libc.so.6\n\tlibm.so.6 (libc6,AArch64) => /lib/aarch64-linux-gnu/libm.so.6\n";
        let map = parse_ldconfig(text);
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                map.get("libc.so.6"),
                Some(&PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"))
            );
            assert!(!map.contains_key("libm.so.6"));
        }
    }

    #[test]
    fn a_static_binary_needs_nothing_and_a_dynamic_one_its_loader() {
        // This test binary is dynamic (Rust links glibc); the loader comes first among its needs.
        let me = std::env::current_exe().unwrap();
        let libs = shared_libraries(&me).unwrap();
        assert!(
            libs.iter()
                .any(|l| l.path.to_string_lossy().contains("ld-linux")),
            "{libs:?}"
        );
        assert!(
            libs.iter()
                .any(|l| l.path.file_name().is_some_and(|n| n == "libc.so.6")),
            "{libs:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let not_elf = dir.path().join("x");
        std::fs::write(&not_elf, b"#!/bin/sh\n").unwrap();
        assert!(matches!(
            shared_libraries(&not_elf),
            Err(LibraryError::NotElf { .. })
        ));
    }
}
