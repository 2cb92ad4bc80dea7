//! Finding the Go module and its main packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::GoBuildError;

/// A Go module on disk: where its `go.mod` is and what it calls itself — or a workspace
/// (`go.work`) whose root holds no module of its own, whose modules `go` builds together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoModule {
    /// The directory holding `go.mod` (or `go.work`).
    pub dir: PathBuf,
    /// The module path from the `module` line, e.g. `example.com/hello`; for a workspace, the
    /// path of its first module.
    pub path: String,
    /// Whether `dir` is a workspace root (`go.work`) rather than a module.
    pub workspace: bool,
}

/// A package with `func main`, as `go list` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MainPackage {
    /// The full import path, e.g. `example.com/ids/cmd/ids`.
    pub import_path: String,
    /// The path relative to the module (or workspace) root in `go build` form: `.` or
    /// `./cmd/ids`.
    pub relative: String,
    /// The path of the module it belongs to.
    pub module: String,
}

/// Finds the module that contains `dir` by looking for `go.mod` in it and its parents, as the
/// `go` command does. Reading the file directly costs nothing, where `go env GOMOD` costs a process.
///
/// # Errors
/// [`GoBuildError::NotAModule`] when no `go.mod` is found, [`GoBuildError::BadGoMod`] when it has
/// no `module` line or cannot be read.
pub fn find_module(dir: &Path) -> Result<GoModule, GoBuildError> {
    let start = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut cur = Some(start.as_path());
    while let Some(d) = cur {
        let gomod = d.join("go.mod");
        // A workspace root with no module of its own: `go` builds its modules from here.
        if !gomod.is_file() && d.join("go.work").is_file() {
            return Ok(GoModule {
                dir: d.to_path_buf(),
                path: workspace_modules(d)?
                    .first()
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default(),
                workspace: true,
            });
        }
        if gomod.is_file() {
            let text = std::fs::read_to_string(&gomod).map_err(|e| GoBuildError::BadGoMod {
                path: gomod.clone(),
                source: Some(e),
            })?;
            let path = module_path(&text).ok_or_else(|| GoBuildError::BadGoMod {
                path: gomod.clone(),
                source: None,
            })?;
            return Ok(GoModule {
                dir: d.to_path_buf(),
                path,
                workspace: false,
            });
        }
        cur = d.parent();
    }
    Err(GoBuildError::NotAModule { dir: start })
}

/// The module path of a go.mod's text: the `module` directive, unquoted.
fn module_path(gomod: &str) -> Option<String> {
    gomod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or("").trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t', '"']) {
            return None;
        }
        let p = rest.trim().trim_matches('"').trim_matches('`');
        (!p.is_empty()).then(|| p.to_owned())
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedPackage {
    import_path: String,
    name: String,
}

/// Lists the main packages of `module` with `go list -json ./...`, sorted by path; of every
/// module of a workspace, with paths relative to its root (`./svc/cmd/api`).
///
/// # Errors
/// [`GoBuildError::GoNotFound`] without a `go` command, [`GoBuildError::ListFailed`] with go's
/// own message when the module does not load.
pub fn list_main_packages(module: &GoModule) -> Result<Vec<MainPackage>, GoBuildError> {
    let modules = if module.workspace {
        workspace_modules(&module.dir)?
    } else {
        vec![(module.dir.clone(), module.path.clone())]
    };
    let mut mains = Vec::new();
    for (dir, path) in modules {
        let prefix = dir
            .strip_prefix(&module.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        for pkg in list_in(&dir)? {
            let relative = relative_package(&path, &pkg.import_path);
            let relative = match (prefix.as_str(), relative.as_str()) {
                ("", r) => r.to_owned(),
                (p, ".") => format!("./{p}"),
                (p, r) => format!("./{p}/{}", r.trim_start_matches("./")),
            };
            mains.push(MainPackage {
                import_path: pkg.import_path,
                relative,
                module: path.clone(),
            });
        }
    }
    mains.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(mains)
}

/// The main packages `go list ./...` finds in `dir`.
fn list_in(dir: &Path) -> Result<Vec<ListedPackage>, GoBuildError> {
    let out = Command::new("go")
        .args(["list", "-json=ImportPath,Name", "./..."])
        .current_dir(dir)
        .output()
        .map_err(GoBuildError::spawn)?;
    if !out.status.success() {
        return Err(GoBuildError::ListFailed {
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
        });
    }
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<ListedPackage>()
        .filter(|p| p.as_ref().map_or(true, |p| p.name == "main"))
        .map(|p| p.map_err(GoBuildError::ListParse))
        .collect()
}

/// The modules of the workspace rooted at `dir` (`go list -m`): each one's directory and path.
fn workspace_modules(dir: &Path) -> Result<Vec<(PathBuf, String)>, GoBuildError> {
    let out = Command::new("go")
        .args(["list", "-m", "-f", "{{.Dir}}\t{{.Path}}"])
        .current_dir(dir)
        .output()
        .map_err(GoBuildError::spawn)?;
    if !out.status.success() {
        return Err(GoBuildError::ListFailed {
            dir: dir.to_path_buf(),
            stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(d, p)| (PathBuf::from(d), p.to_owned()))
        .collect())
}

/// `example.com/ids` + `example.com/ids/cmd/ids` → `./cmd/ids`; the module itself → `.`.
fn relative_package(module: &str, import_path: &str) -> String {
    match import_path.strip_prefix(module) {
        Some("") => ".".to_owned(),
        Some(rest) if rest.starts_with('/') => format!(".{rest}"),
        _ => import_path.to_owned(),
    }
}

impl GoModule {
    /// Picks the main package to build: `wanted` if given (as `./cmd/x`, `cmd/x` or a full
    /// import path), else the only one.
    ///
    /// # Errors
    /// [`GoBuildError::NoMainPackage`], [`GoBuildError::SeveralMainPackages`] (listing them) or
    /// [`GoBuildError::UnknownMainPackage`].
    pub fn choose_main<'a>(
        &self,
        mains: &'a [MainPackage],
        wanted: Option<&str>,
    ) -> Result<&'a MainPackage, GoBuildError> {
        let candidates = || mains.iter().map(|m| m.relative.clone()).collect();
        match (wanted, mains) {
            (_, []) => Err(GoBuildError::NoMainPackage {
                module: self.path.clone(),
            }),
            (None, [only]) => Ok(only),
            (None, _) => Err(GoBuildError::SeveralMainPackages {
                module: self.path.clone(),
                candidates: candidates(),
            }),
            (Some(w), _) => {
                let norm = normalize_relative(w);
                mains
                    .iter()
                    .find(|m| m.relative == norm || m.import_path == w)
                    .ok_or_else(|| GoBuildError::UnknownMainPackage {
                        module: self.path.clone(),
                        wanted: w.to_owned(),
                        candidates: candidates(),
                    })
            }
        }
    }
}

impl GoModule {
    /// The main package whose directory is `dir` or holds it (the innermost), if any: what a
    /// user standing in `cmd/server` means.
    pub fn main_at<'a>(&self, mains: &'a [MainPackage], dir: &Path) -> Option<&'a MainPackage> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        mains
            .iter()
            .filter(|m| dir.starts_with(self.package_dir(m)))
            .max_by_key(|m| m.relative.len())
    }

    /// The directory of package `m` of this module.
    pub fn package_dir(&self, m: &MainPackage) -> PathBuf {
        match m.relative.as_str() {
            "." => self.dir.clone(),
            rel => self.dir.join(rel.trim_start_matches("./")),
        }
    }
}

/// `cmd/x`, `./cmd/x/`, `./cmd/x` → `./cmd/x`; `.` and `./` → `.`.
fn normalize_relative(p: &str) -> String {
    let t = p.trim_end_matches('/');
    let t = t.strip_prefix("./").unwrap_or(t);
    if t.is_empty() || t == "." {
        ".".to_owned()
    } else {
        format!("./{t}")
    }
}

/// The `go` directive of the go.mod at `go_mod` (`1.22`, `1.24.3`): the Go release the module
/// asks for. `None` when the file cannot be read or has no `go` line.
pub fn go_directive(go_mod: &Path) -> Option<String> {
    std::fs::read_to_string(go_mod)
        .ok()?
        .lines()
        .find_map(|l| l.trim().strip_prefix("go ").map(|v| v.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_module_line() {
        assert_eq!(
            module_path("module example.com/a\n\ngo 1.22\n").as_deref(),
            Some("example.com/a")
        );
        assert_eq!(
            module_path("// c\nmodule \"x/y\" // why\n").as_deref(),
            Some("x/y")
        );
        assert_eq!(module_path("go 1.22\n"), None);
        assert_eq!(module_path("modulex foo\n"), None);
    }

    #[test]
    fn relative_paths() {
        assert_eq!(relative_package("a.com/m", "a.com/m"), ".");
        assert_eq!(relative_package("a.com/m", "a.com/m/cmd/x"), "./cmd/x");
        assert_eq!(normalize_relative("cmd/x/"), "./cmd/x");
        assert_eq!(normalize_relative("./"), ".");
    }

    #[test]
    fn chooses_main() {
        let m = GoModule {
            dir: PathBuf::from("/m"),
            path: "a.com/m".into(),
            ..GoModule::default()
        };
        let mains = vec![
            MainPackage {
                import_path: "a.com/m/cmd/a".into(),
                relative: "./cmd/a".into(),
                ..MainPackage::default()
            },
            MainPackage {
                import_path: "a.com/m/cmd/b".into(),
                relative: "./cmd/b".into(),
                ..MainPackage::default()
            },
        ];
        let e = m.choose_main(&mains, None).unwrap_err().to_string();
        assert!(e.contains("./cmd/a, ./cmd/b"), "{e}");
        assert_eq!(
            m.choose_main(&mains, Some("cmd/b")).unwrap().relative,
            "./cmd/b"
        );
        assert!(m.choose_main(&mains, Some("./cmd/c")).is_err());
        assert!(matches!(
            m.choose_main(&[], None),
            Err(GoBuildError::NoMainPackage { .. })
        ));
    }

    #[test]
    fn the_package_a_directory_is_in() {
        let m = GoModule {
            dir: PathBuf::from("/m"),
            path: "github.com/a/go-httpbin/v2".into(),
            ..GoModule::default()
        };
        let mains = vec![
            MainPackage {
                import_path: "x/m".into(),
                relative: ".".into(),
                ..MainPackage::default()
            },
            MainPackage {
                import_path: "x/m/cmd/a".into(),
                relative: "./cmd/a".into(),
                ..MainPackage::default()
            },
        ];
        assert_eq!(
            m.main_at(&mains, Path::new("/m/cmd/a/sub"))
                .unwrap()
                .relative,
            "./cmd/a"
        );
        assert_eq!(
            m.main_at(&mains, Path::new("/m/internal"))
                .unwrap()
                .relative,
            "."
        );
        assert!(m.main_at(&mains, Path::new("/elsewhere")).is_none());
    }

    #[test]
    fn finds_module_in_parent() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("go.mod"), "module ex.com/p\n").unwrap();
        std::fs::create_dir_all(d.path().join("cmd/x")).unwrap();
        let m = find_module(&d.path().join("cmd/x")).unwrap();
        assert_eq!(m.path, "ex.com/p");
        let e = find_module(Path::new("/")).unwrap_err();
        assert!(matches!(e, GoBuildError::NotAModule { .. }));
    }
}
