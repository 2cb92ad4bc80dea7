//! Which project a command is about, and its configuration: the nearest `hoist.toml` in the
//! directory given or a parent (as `go` finds `go.mod`), or — when there is none — defaults
//! inferred from the Go module, so `hoist build`, `hoist deploy` and `hoist render` work in a
//! module nobody has configured yet.
//!
//! The inferred configuration is exactly what `hoist init` would write (the same template,
//! loaded by the same code), so running `hoist init` later changes nothing until the file is
//! edited.

use std::path::{Path, PathBuf};

use hoist_config::ConfigError;
use hoist_core::{App, Platform};
use hoist_gobuild::{GoBuildError, GoModule, MainPackage};

/// The port an app without configuration is assumed to listen on (and told in `$PORT`).
pub const DEFAULT_PORT: u16 = 8080;

/// A project: where it is and what it says.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory of `hoist.toml`, or the module root without one: where `go build` runs
    /// and git is asked for the version.
    pub dir: PathBuf,
    /// The configuration file, if there is one.
    pub config_file: Option<PathBuf>,
    /// The merged, validated configuration (with `--env` and `--set` applied).
    pub app: App,
    /// What was inferred, when there is no configuration file.
    pub inferred: Option<Inferred>,
}

/// What hoist assumed for a project without `hoist.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    /// The module path.
    pub module: String,
    /// The app name, from the module path (or the main package's directory when the module
    /// has several).
    pub name: String,
    /// The main package, `.` or `./cmd/x`.
    pub main: String,
    /// The port.
    pub port: u16,
    /// `app.args` that make it listen on `$PORT`, like `--web.listen-address=:$(PORT)`.
    pub args: Vec<String>,
    /// Where the port and the arguments were read from, when not the defaults.
    pub found: Option<String>,
}

/// How the main package `main` (`.` or `./cmd/x`) of the module at `module_dir` listens, read
/// from its source ([`hoist_gobuild::listen`]): the port, the `app.args` that put it on `$PORT`,
/// and one line saying where that was found; [`DEFAULT_PORT`] and no arguments when the
/// source says nothing.
pub fn listening(module_dir: &Path, main: &str) -> (u16, Vec<String>, Option<String>) {
    let dir = module_dir.join(main.trim_start_matches("./"));
    let Some(l) = hoist_gobuild::listen::detect(&dir) else {
        return (DEFAULT_PORT, Vec::new(), None);
    };
    let found = match (&l.arg, l.port) {
        (Some(arg), _) => format!(
            "{}: it listens where that flag says, so hoist passes `{arg}`",
            l.evidence
        ),
        (None, None) => format!("{}: it listens on $PORT, as hoist runs it", l.evidence),
        (None, Some(port)) => format!(
            "{}: a fixed port ({port}); one replica per machine with the process driver until it reads $PORT",
            l.evidence
        ),
    };
    (
        l.port.unwrap_or(DEFAULT_PORT),
        l.arg.into_iter().collect(),
        Some(found),
    )
}

impl std::fmt::Display for Inferred {
    /// One line: what was inferred and how to pin it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args = if self.args.is_empty() {
            String::new()
        } else {
            format!(" with `{}`", self.args.join(" "))
        };
        write!(
            f,
            "no hoist.toml: building `{}` of module `{}` as app `{}`, listening on $PORT (default {}){args}; `hoist init` writes these down to pin or change them",
            self.main, self.module, self.name, self.port
        )
    }
}

/// Why a project could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// `hoist.toml` (or a `--set`) is invalid.
    #[error("invalid configuration in `{}`", .file.display())]
    Config {
        /// The file, or `--set` for an override.
        file: PathBuf,
        /// What is wrong, where.
        #[source]
        source: ConfigError,
    },
    /// A `--set` override is invalid.
    #[error("invalid `--set` override")]
    Set(#[source] ConfigError),
    /// No hoist.toml, and the Go module cannot tell what to build.
    #[error("no hoist.toml in `{}` or a parent directory, and the Go module does not say what to build", .dir.display())]
    Infer {
        /// Where the search started.
        dir: PathBuf,
        /// Go's side of it.
        #[source]
        source: GoBuildError,
    },
    /// The inferred configuration does not load (e.g. `--env` names an environment, and
    /// without a hoist.toml there are none).
    #[error("no hoist.toml in `{}` or a parent directory, and the inferred configuration is invalid", .dir.display())]
    Inferred {
        /// Where the search started.
        dir: PathBuf,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
}

/// The nearest `hoist.toml` in `start` or a parent directory.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).unwrap_or_else(|_| start.to_path_buf());
    start
        .ancestors()
        .map(|d| d.join(hoist_config::FILE_NAME))
        .find(|p| p.is_file())
}

/// Opens the project at `start`: the nearest hoist.toml with `environment` and `sets`, else the
/// configuration inferred from the Go module for `platform` (this machine's, for a local
/// deploy).
///
/// # Errors
/// [`ProjectError`]: an invalid file or override, or a module that does not say what to build.
pub fn open(
    start: &Path,
    environment: Option<&str>,
    sets: &[String],
    platform: &Platform,
) -> Result<Project, ProjectError> {
    if let Some(file) = find_config(start) {
        let app = hoist_config::load_with(&file, environment, sets).map_err(|e| {
            let from_set = matches!(e, ConfigError::BadSet { .. })
                || e.location().is_some_and(|l| l.file.starts_with("--set "));
            if from_set {
                ProjectError::Set(e)
            } else {
                ProjectError::Config {
                    file: file.clone(),
                    source: e,
                }
            }
        })?;
        let dir = file.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        return Ok(Project {
            dir,
            config_file: Some(file),
            app,
            inferred: None,
        });
    }
    let infer = |source| ProjectError::Infer {
        dir: start.to_path_buf(),
        source,
    };
    let module = hoist_gobuild::find_module(start).map_err(infer)?;
    let mains = hoist_gobuild::list_main_packages(&module).map_err(infer)?;
    let chosen = choose(&module, &mains, start, None).map_err(infer)?;
    let (port, args, found) = listening(&module.dir, &chosen.relative);
    let inferred = Inferred {
        module: if chosen.module.is_empty() {
            module.path.clone()
        } else {
            chosen.module.clone()
        },
        name: app_name(&module, &mains, chosen),
        main: chosen.relative.clone(),
        port,
        args,
        found,
    };
    let text = hoist_config::init_template(&hoist_config::InitParams {
        name: inferred.name.clone(),
        main: inferred.main.clone(),
        port: inferred.port,
        args: inferred.args.clone(),
        found: inferred.found.clone(),
        platforms: vec![platform.to_string()],
    });
    let file = module.dir.join(hoist_config::FILE_NAME);
    let app = hoist_config::load_str_with(&file.display().to_string(), &text, environment, sets)
        .map_err(|source| match source {
            e @ ConfigError::BadSet { .. } => ProjectError::Set(e),
            e if e.location().is_some_and(|l| l.file.starts_with("--set ")) => ProjectError::Set(e),
            source => ProjectError::Inferred {
                dir: start.to_path_buf(),
                source,
            },
        })?;
    Ok(Project {
        dir: module.dir,
        config_file: None,
        app,
        inferred: Some(inferred),
    })
}

impl Project {
    /// Checks that `app.main` is a directory of the project before anything is built: `go
    /// build` would fail with a message that does not say where the name came from, so this
    /// one points at the key in hoist.toml.
    ///
    /// # Errors
    /// [`ProjectError::Config`] at `app.main` (or the overlay's).
    pub fn check_main(&self) -> Result<(), ProjectError> {
        match &self.config_file {
            Some(file) => check_main(file, &self.dir, &self.app),
            None => Ok(()),
        }
    }
}

fn check_main(file: &Path, dir: &Path, app: &App) -> Result<(), ProjectError> {
    let main = &app.app.main;
    let pkg = dir.join(main);
    if pkg.is_dir() {
        return Ok(());
    }
    let environment = app.environment.as_deref();
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let name = file.display().to_string();
    let overlay = environment.map(|e| format!("environments.{e}.app.main"));
    let (key, location) = overlay
        .and_then(|k| hoist_config::locate_key(&name, &text, &k).map(|l| (k, l)))
        .or_else(|| {
            hoist_config::locate_key(&name, &text, "app.main").map(|l| ("app.main".to_owned(), l))
        })
        .unwrap_or_else(|| {
            // Set by `--set`: the file's first line stands for "the configuration".
            let location = hoist_config::Location {
                file: name.clone(),
                line: 1,
                column: 1,
                line_text: text.lines().next().unwrap_or_default().to_owned(),
                width: 1,
            };
            ("app.main".to_owned(), location)
        });
    Err(ProjectError::Config {
        file: file.to_path_buf(),
        source: ConfigError::Invalid {
            location: Box::new(location),
            key,
            problem: format!(
                "`{main}` is not a directory of the project (`{}` does not exist); name the package with `func main`, relative to hoist.toml, like \"./cmd/server\" or \".\"",
                pkg.display()
            ),
        },
    })
}

/// The main package to build: `wanted`, else the one `start` is in, else the only one.
///
/// # Errors
/// As [`GoModule::choose_main`].
pub fn choose<'a>(
    module: &GoModule,
    mains: &'a [MainPackage],
    start: &Path,
    wanted: Option<&str>,
) -> Result<&'a MainPackage, GoBuildError> {
    if wanted.is_none()
        && mains.len() > 1
        && let Some(here) = module.main_at(mains, start).filter(|m| m.relative != ".")
    {
        return Ok(here);
    }
    module.choose_main(mains, wanted)
}

/// The app's name: the module's (`github.com/prometheus/pushgateway` → `pushgateway`), or,
/// when the module has several programs, the chosen one's directory (`./cmd/api` → `api`).
pub fn app_name(module: &GoModule, mains: &[MainPackage], chosen: &MainPackage) -> String {
    if mains.len() > 1 && chosen.relative != "." {
        hoist_config::app_name_from(&chosen.relative)
    } else if !chosen.module.is_empty() {
        // The module the program is in (in a workspace, not the first one).
        hoist_config::app_name_from(&chosen.module)
    } else {
        hoist_config::app_name_from(&module.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_config_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        assert_eq!(find_config(&root.join("a/b/c")), None);
        std::fs::write(root.join("a/hoist.toml"), "").unwrap();
        assert_eq!(
            find_config(&root.join("a/b/c")),
            Some(root.join("a/hoist.toml"))
        );
        std::fs::write(root.join("a/b/hoist.toml"), "").unwrap();
        assert_eq!(
            find_config(&root.join("a/b/c")),
            Some(root.join("a/b/hoist.toml"))
        );
    }

    #[test]
    fn names_come_from_the_module_or_the_chosen_program() {
        let module = GoModule {
            dir: PathBuf::from("/m"),
            path: "github.com/prometheus/node_exporter".into(),
            ..GoModule::default()
        };
        let root = MainPackage {
            import_path: module.path.clone(),
            relative: ".".into(),
            ..MainPackage::default()
        };
        let api = MainPackage {
            import_path: format!("{}/cmd/api", module.path),
            relative: "./cmd/api".into(),
            ..MainPackage::default()
        };
        assert_eq!(
            app_name(&module, std::slice::from_ref(&root), &root),
            "node-exporter"
        );
        let both = [root.clone(), api.clone()];
        assert_eq!(app_name(&module, &both, &api), "api");
        assert_eq!(app_name(&module, &both, &root), "node-exporter");
        assert_eq!(
            choose(&module, &both, Path::new("/m/cmd/api"), None)
                .unwrap()
                .relative,
            "./cmd/api"
        );
        assert!(
            choose(&module, &both, Path::new("/m"), None).is_err(),
            "at the root, two programs are still a choice to make"
        );
    }
}
