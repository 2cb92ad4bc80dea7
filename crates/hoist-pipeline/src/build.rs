//! Building a project, once for every command: the version stamps, one `go build` per platform
//! (with the cgo check), and one image per binary on its base, in the content store.
//!
//! `hoist build`, `hoist deploy` (a binary or an archive for this machine, or an image pushed for
//! Kubernetes) and later targets all call [`build`] (or its two halves, [`binaries`] and
//! [`images`]); what happens to the result — outputs, a push, a load into an engine — is the
//! caller's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use hoist_core::{App, Platform};
use hoist_gobuild::{Binary, BuildRequest, GitFacts, GoBuildError};
use hoist_image::{BlobStore, BuiltImage, Descriptor, ImageBase, ImageError, ImageSpec};

use crate::Project;

/// What the pipeline reports as it goes: a stage starts and ends (the CLI draws a spinner and
/// a line per stage; a library caller may ignore them).
pub trait Observer: Sync {
    /// Stage `name` starts; the handle ends it.
    fn stage(&self, name: &str) -> Box<dyn Stage + '_>;
}

/// One stage in progress (ended from whichever build thread finishes it).
pub trait Stage: Send {
    /// It ended well, with a note (`5.8 MB`, a digest).
    fn finish(self: Box<Self>, note: &str);
    /// It failed (the error follows as the call's result).
    fn fail(self: Box<Self>);
}

/// An observer that reports nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn stage(&self, _: &str) -> Box<dyn Stage + '_> {
        Box::new(Quiet)
    }
}

impl Stage for Quiet {
    fn finish(self: Box<Self>, _: &str) {}
    fn fail(self: Box<Self>) {}
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Go side: no Go, no module, a compile error.
    #[error(transparent)]
    Go(#[from] GoBuildError),
    /// `app.main` names no directory of the project.
    #[error(transparent)]
    Project(Box<crate::ProjectError>),
    /// Assembling an image.
    #[error("cannot assemble the image for {platform}")]
    Image {
        /// The platform.
        platform: String,
        /// Why.
        #[source]
        source: ImageError,
    },
    /// The index of several platforms.
    #[error("cannot write the image index")]
    Index(#[source] ImageError),
    /// `SOURCE_DATE_EPOCH` is not a number.
    #[error("SOURCE_DATE_EPOCH must be whole seconds since 1970, found `{0}`")]
    Epoch(String),
    /// A dependency needs cgo and `build.cgo` is not set.
    #[error(
        "`{main}` needs cgo: {} {} C code, and a static build (CGO_ENABLED=0) would give a program that fails when it starts",
        .packages.join(", "),
        if .packages.len() == 1 { "compiles" } else { "compile" }
    )]
    NeedsCgo {
        /// The main package.
        main: String,
        /// The packages with cgo files.
        packages: Vec<String>,
    },
    /// `build.cgo = true` for another machine's platform.
    #[error(
        "`build.cgo = true` builds with this machine's C compiler and libraries, so only for {host}; {platform} was asked for"
    )]
    CgoCrossCompile {
        /// The platform asked for.
        platform: String,
        /// This machine's.
        host: String,
    },
    /// The shared libraries of a cgo binary could not be found.
    #[error("cannot find the shared libraries the cgo binary links")]
    Libraries(#[source] hoist_gobuild::LibraryError),
}

type Result<T> = std::result::Result<T, BuildError>;

/// What a build is stamped and dated with.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// `git describe --tags --always --dirty`, or `dev` outside git.
    pub version: String,
    /// HEAD's hash, or `unknown`.
    pub commit: String,
    /// `SOURCE_DATE_EPOCH`, else HEAD's commit time, else 0: never the clock.
    pub epoch: u64,
    /// What git said, when the project is in a repository.
    pub facts: Option<GitFacts>,
}

impl Stamp {
    /// The stamps of the checkout at `dir`; `source_date_epoch` is the value of the
    /// reproducible-builds variable `SOURCE_DATE_EPOCH`, if set (the caller reads the
    /// environment; this crate does not).
    ///
    /// # Errors
    /// [`BuildError::Epoch`] when `source_date_epoch` is not a number.
    pub fn read(dir: &Path, source_date_epoch: Option<&str>) -> Result<Self> {
        let facts = GitFacts::read(dir);
        let (version, commit) = facts.as_ref().map_or_else(
            || ("dev".to_owned(), "unknown".to_owned()),
            |f| (f.describe.clone(), f.commit.clone()),
        );
        let epoch = match source_date_epoch {
            Some(v) => v.parse().map_err(|_| BuildError::Epoch(v.to_owned()))?,
            None => facts
                .as_ref()
                .map_or(0, |f| u64::try_from(f.commit_time).unwrap_or(0)),
        };
        Ok(Self {
            version,
            commit,
            epoch,
            facts,
        })
    }
}

/// The result of [`build`].
#[derive(Debug, Clone)]
pub struct Built {
    /// Its stamps.
    pub stamp: Stamp,
    /// One binary per platform, in the order asked.
    pub binaries: Vec<Binary>,
    /// One image per binary.
    pub images: Vec<BuiltImage>,
    /// The image's name: the index of several platforms, else the one manifest.
    pub root: Descriptor,
    /// Seconds per stage (`go_build`, `image`).
    pub timings: BTreeMap<&'static str, f64>,
}

/// Builds `project` for `platforms` on `bases` (one per platform, as resolved by the caller)
/// with `stamp`: binaries, then images, then the index.
///
/// # Errors
/// [`BuildError`].
pub fn build(
    project: &Project,
    platforms: &[Platform],
    bases: &[ImageBase],
    stamp: Stamp,
    store: &BlobStore,
    observer: &dyn Observer,
) -> Result<Built> {
    let mut timings = BTreeMap::new();
    let t = Instant::now();
    let binaries = binaries(project, platforms, &stamp, store, observer)?;
    timings.insert("go_build", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let stage = observer.stage("image");
    let built = images(project, &binaries, bases, &stamp, store).and_then(|images| {
        let root = match images.as_slice() {
            [one] => one.manifest.clone(),
            _ => hoist_image::build_index(&images, store).map_err(BuildError::Index)?,
        };
        Ok((images, root))
    });
    let (images, root) = match built {
        Ok(b) => b,
        Err(e) => {
            stage.fail();
            return Err(e);
        }
    };
    let cached = images
        .iter()
        .flat_map(|i| &i.layers)
        .filter(|l| l.cached)
        .count();
    let total: usize = images.iter().map(|i| i.layers.len()).sum();
    stage.finish(&format!(
        "{} ({cached}/{total} layers from cache)",
        root.digest
    ));
    timings.insert("image", t.elapsed().as_secs_f64());
    Ok(Built {
        stamp,
        binaries,
        images,
        root,
        timings,
    })
}

/// One binary per platform, built in parallel (bounded by the core count), checked for cgo:
/// with `build.cgo` unset, a program whose dependencies have cgo files is refused (the check
/// runs beside the compiler); with `build.cgo = true` only this machine's platform is built.
///
/// # Errors
/// [`BuildError::Go`], [`BuildError::NeedsCgo`], [`BuildError::CgoCrossCompile`].
///
/// # Panics
/// When the cgo check's thread panics (its panic is passed on).
pub fn binaries(
    project: &Project,
    platforms: &[Platform],
    stamp: &Stamp,
    store: &BlobStore,
    observer: &dyn Observer,
) -> Result<Vec<Binary>> {
    let app = &project.app;
    // No module, or no main package where hoist.toml says: in hoist's words, before go says
    // it in its own.
    hoist_gobuild::find_module(&project.dir)?;
    project
        .check_main()
        .map_err(|e| BuildError::Project(Box::new(e)))?;
    let cgo = app.build.cgo == Some(true);
    if cgo {
        let host = Platform::host();
        if let Some(p) = platforms.iter().find(|p| !p.matches(&host)) {
            return Err(BuildError::CgoCrossCompile {
                platform: p.to_string(),
                host: host.to_string(),
            });
        }
    }
    let work = work_dir(store, &project.dir);
    let requests: Vec<BuildRequest> = platforms
        .iter()
        .map(|p| BuildRequest {
            module_dir: project.dir.clone(),
            package: app.app.main.clone(),
            platform: p.clone(),
            output: work
                .join(p.to_string().replace('/', "-"))
                .join(&app.app.name),
            version: stamp.version.clone(),
            commit: stamp.commit.clone(),
            version_var: app.build.version_var.clone(),
            commit_var: app.build.commit_var.clone(),
            tags: app.build.tags.clone(),
            extra_ldflags: app.build.ldflags.clone(),
            cgo,
            env: app.build.env.clone(),
        })
        .collect();
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let stages = std::sync::Mutex::new(
        platforms
            .iter()
            .map(|p| Some(observer.stage(&format!("go build {p}"))))
            .collect::<Vec<_>>(),
    );
    let (result, cgo_check) = std::thread::scope(|s| {
        // Only an unset `build.cgo` is checked: `false` is the user vouching for pure-Go
        // fallbacks, `true` builds with cgo anyway.
        let check = (app.build.cgo.is_none()).then(|| {
            let arch = platforms.first().map_or("amd64", |p| p.arch.as_str());
            s.spawn(move || {
                hoist_gobuild::cgo_packages(
                    &project.dir,
                    &app.app.main,
                    arch,
                    &app.build.tags,
                    &app.build.env,
                )
            })
        });
        let result = hoist_gobuild::build_all(&requests, jobs, &|bin| {
            let i = platforms
                .iter()
                .position(|p| *p == bin.platform)
                .unwrap_or(0);
            if let Some(s) = stages
                .lock()
                .expect("progress lock")
                .get_mut(i)
                .and_then(Option::take)
            {
                s.finish(&format!("{:.1} MB", bin.size as f64 / 1e6));
            }
        });
        let check = check.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (result, check)
    });
    for s in stages
        .into_inner()
        .expect("progress lock")
        .into_iter()
        .flatten()
    {
        s.fail();
    }
    let binaries = result?;
    // A module that does not list (rare: `go build` just worked) is not refused for it.
    if let Some(Ok(packages)) = cgo_check
        && !packages.is_empty()
    {
        return Err(BuildError::NeedsCgo {
            main: app.app.main.clone(),
            packages,
        });
    }
    Ok(binaries)
}

/// Binaries of one project directory go to one work directory in the store, so two checkouts
/// never overwrite each other's binaries mid-build.
fn work_dir(store: &BlobStore, dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let key = hoist_core::Digest::of(abs.as_os_str().as_encoded_bytes());
    store.root().join("work").join(&key.hex()[..16])
}

/// One image per binary, on the base resolved for its platform (`bases` follows the binaries).
///
/// # Errors
/// [`BuildError::Image`], [`BuildError::Libraries`].
pub fn images(
    project: &Project,
    binaries: &[Binary],
    bases: &[ImageBase],
    stamp: &Stamp,
    store: &BlobStore,
) -> Result<Vec<BuiltImage>> {
    let app = &project.app;
    let source = app
        .image
        .source
        .clone()
        .or_else(|| stamp.facts.as_ref().and_then(|f| f.remote_url.clone()));
    let (env, args) = image_env_and_args(app);
    binaries
        .iter()
        .zip(bases)
        .map(|(bin, base)| {
            let libraries = if app.build.cgo == Some(true) {
                hoist_gobuild::shared_libraries(&bin.path)
                    .map_err(BuildError::Libraries)?
                    .into_iter()
                    .map(|l| (l.path.display().to_string(), l.file))
                    .collect()
            } else {
                Vec::new()
            };
            let spec = ImageSpec {
                base: base.clone(),
                args: args.clone(),
                env: env.clone(),
                port: Some(app.app.port),
                state: app.run.state.as_ref().map(|s| s.path.clone()),
                libraries,
                labels: app.image.labels.clone(),
                source: source.clone(),
                revision: stamp.facts.as_ref().map(|f| f.commit.clone()),
                version: Some(stamp.version.clone()),
                created: stamp.epoch,
                ..ImageSpec::new(bin.platform.clone(), app.app.name.clone(), bin.path.clone())
            };
            hoist_image::build_image(&spec, store).map_err(|source| BuildError::Image {
                platform: bin.platform.to_string(),
                source,
            })
        })
        .collect()
}

/// `PORT` in the image's environment, so an app that reads it listens where the image says
/// (`podman run -p HOST:PORT`), `STATE_DIR` with `run.state`, and `$(NAME)` in `app.args`
/// expanded with them, as the kubelet would (an engine runs `Cmd` as it is).
pub fn image_env_and_args(app: &App) -> (BTreeMap<String, String>, Vec<String>) {
    let mut env = BTreeMap::from([("PORT".to_owned(), app.app.port.to_string())]);
    if let Some(s) = &app.run.state {
        env.insert(hoist_core::State::ENV.to_owned(), s.path.clone());
    }
    let args = app
        .app
        .args
        .iter()
        .map(|a| hoist_core::expand::expand(a, |name| env.get(name).cloned()))
        .collect();
    (env, args)
}
