//! `hoist build`: Go source → binaries → OCI image, written where `--output` says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use hoist_core::{App, Platform};
use hoist_gobuild::{BuildRequest, GitFacts};
use hoist_image::{BlobStore, BuiltImage, Descriptor, ImageBase, ImageSpec, LayoutRoot};
use serde::Serialize;

use super::outputs::Output;
use crate::cli::{BuildArgs, Engine};
use crate::env_vars;
use crate::progress::Progress;

/// What `--json` prints.
#[derive(Serialize)]
struct Summary<'a> {
    digest: String,
    media_type: &'a str,
    version: &'a str,
    platforms: Vec<PlatformSummary<'a>>,
    outputs: Vec<String>,
    timings: BTreeMap<&'static str, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    push: Option<super::registry::PushSummary<'a>>,
}

#[derive(Serialize)]
struct PlatformSummary<'a> {
    platform: String,
    digest: String,
    binary_size: u64,
    image: &'a BuiltImage,
}

/// Runs the build and prints the image digest (or the summary) on stdout.
pub fn run(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    run_to(args, &mut std::io::stdout())
}

/// [`run`], writing the digest (or the summary) to `out`: `hoist deploy` builds with it and
/// keeps its own stdout for its report.
pub(super) fn run_to(args: &BuildArgs, out: &mut dyn std::io::Write) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let app = super::load_app(&args.dir, args.environment.as_deref())?;
    let platforms = platforms(&app, &args.platforms)?;
    let outputs = args
        .outputs
        .iter()
        .map(|o| Output::parse(o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for o in &outputs {
        o.check_writable()?;
    }
    // A push target and its tags are checked before any work, too.
    let push_target = if args.push {
        let repository = super::registry::target_repository(&args.target, Some(&app))?;
        let tags = super::registry::tags(Some(&app), &args.dir, &args.target.tags)?;
        let client = super::registry::client(&args.registry, &repository.registry)?;
        Some((repository, tags, client))
    } else {
        None
    };
    // Fail before any work when there is no module at all; `go build` finds it again itself.
    hoist_gobuild::find_module(&args.dir)?;
    let store = open_store()?;
    let progress = Progress::new();
    let mut timings = BTreeMap::new();

    // git runs while the compiler does: it only feeds the stamps and the layer mtime.
    let facts = GitFacts::read(&args.dir);
    let (version, commit) = stamp(facts.as_ref());
    let epoch = source_date_epoch(facts.as_ref())?;
    // The base is resolved before compiling, so a missing base fails fast.
    let bases = super::base::resolve(
        &app.build.base,
        &platforms,
        &args.registry,
        &store,
        &progress,
    )?;

    let t = Instant::now();
    let binaries = build_binaries(
        &app, &args.dir, &store, &platforms, &version, &commit, &progress,
    )?;
    timings.insert("go_build", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let stage = progress.stage("image");
    let images = assemble(
        &app,
        &binaries,
        &bases,
        facts.as_ref(),
        &version,
        epoch,
        &store,
    );
    let images = match images {
        Ok(i) => i,
        Err(e) => {
            stage.fail();
            return Err(e);
        }
    };
    let root = root_descriptor(&images, &store)?;
    stage.finish(&format!("{} {}", root.digest, cached_note(&images)));
    timings.insert("image", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let written = write_outputs(
        &app, &version, &outputs, args.load, &root, &images, &store, &progress,
    )?;
    timings.insert("outputs", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let pushed = match &push_target {
        Some((repository, tags, client)) => Some(super::registry::push(
            client,
            repository,
            &root,
            &hoist_registry::BlobDir::new(store.root()),
            tags,
            Some(&super::registry::mount_hints(&store)),
        )?),
        None => None,
    };
    if pushed.is_some() {
        timings.insert("push", t.elapsed().as_secs_f64());
    }
    timings.insert("total", started.elapsed().as_secs_f64());
    let push_tags = push_target.as_ref().map(|(_, tags, _)| tags.as_slice());
    super::last_build::remember(
        store.root(),
        &args.dir,
        args.environment.as_deref(),
        &super::last_build::LastBuild {
            digest: root.digest.to_string(),
            pushed: pushed.as_ref().map(|p| p.pinned.clone()),
        },
    );

    if args.json {
        let summary = Summary {
            digest: root.digest.to_string(),
            media_type: &root.media_type,
            version: &version,
            platforms: images
                .iter()
                .zip(&binaries)
                .map(|(image, bin)| PlatformSummary {
                    platform: bin.platform.to_string(),
                    digest: image.manifest.digest.to_string(),
                    binary_size: bin.size,
                    image,
                })
                .collect(),
            outputs: written,
            timings,
            push: pushed
                .as_ref()
                .map(|p| super::registry::PushSummary::new(p, push_tags.unwrap_or_default())),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else if let Some(p) = &pushed {
        writeln!(out, "{}", p.pinned)?;
    } else {
        writeln!(out, "{}", root.digest)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The version and commit a binary is stamped with: from git, or `dev` / `unknown` outside a
/// repository.
fn stamp(facts: Option<&GitFacts>) -> (String, String) {
    facts.map_or_else(
        || ("dev".to_owned(), "unknown".to_owned()),
        |f| (f.describe.clone(), f.commit.clone()),
    )
}

/// The app's binary for this machine's platform (what the local `process` driver runs), and
/// the version it is stamped with. `build.platforms` does not matter here: Go builds for any
/// platform, and this machine's is the one that runs.
pub(super) fn host_binary(app: &App, dir: &Path) -> anyhow::Result<(PathBuf, String)> {
    hoist_gobuild::find_module(dir)?;
    let store = open_store()?;
    let facts = GitFacts::read(dir);
    let (version, commit) = stamp(facts.as_ref());
    let progress = Progress::new();
    let mut bins = build_binaries(
        app,
        dir,
        &store,
        &[Platform::host()],
        &version,
        &commit,
        &progress,
    )?;
    let bin = bins.pop().context("the build produced no binary")?;
    Ok((bin.path, version))
}

/// The app's image for this machine's platform, written as a docker archive to `out` (what the
/// local `container` driver loads into the engine); returns the archive's `NAME:VERSION` tag
/// and the version. The image is the one `hoist build --platform <this machine's>` makes.
pub(super) fn host_archive(
    app: &App,
    dir: &Path,
    registry: &crate::cli::RegistryArgs,
    out: &Path,
) -> anyhow::Result<(String, String)> {
    hoist_gobuild::find_module(dir)?;
    let store = open_store()?;
    let progress = Progress::new();
    let facts = GitFacts::read(dir);
    let (version, commit) = stamp(facts.as_ref());
    let epoch = source_date_epoch(facts.as_ref())?;
    let platforms = [Platform::host()];
    let bases = super::base::resolve(&app.build.base, &platforms, registry, &store, &progress)?;
    let binaries = build_binaries(app, dir, &store, &platforms, &version, &commit, &progress)?;
    let stage = progress.stage("image");
    let images = assemble(
        app,
        &binaries,
        &bases,
        facts.as_ref(),
        &version,
        epoch,
        &store,
    )?;
    let image = pick_platform(&images)?;
    let tags = repo_tags(&app.app.name, &version);
    hoist_image::write_docker_archive(out, image, &tags, &store)?;
    stage.finish(&image.manifest.digest.to_string());
    Ok((tags[0].clone(), version))
}

/// `--platform` flags win over `build.platforms`.
fn platforms(app: &App, flags: &[String]) -> anyhow::Result<Vec<Platform>> {
    if flags.is_empty() {
        return Ok(app.build.platforms.clone());
    }
    flags
        .iter()
        .map(|f| {
            f.parse::<Platform>()
                .with_context(|| format!("invalid --platform `{f}`"))
        })
        .collect()
}

/// The content-addressed store in HOIST_CACHE_DIR or the user's cache directory.
pub(super) fn open_store() -> anyhow::Result<BlobStore> {
    let dir = env_vars::get(env_vars::HOIST_CACHE_DIR)
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("hoist")))
        .context("no cache directory: set HOIST_CACHE_DIR")?;
    BlobStore::open(&dir).with_context(|| format!("cannot use the cache at `{}`", dir.display()))
}

/// SOURCE_DATE_EPOCH, else the commit time, else 0: never the clock, so builds reproduce.
fn source_date_epoch(facts: Option<&GitFacts>) -> anyhow::Result<u64> {
    if let Some(v) = env_vars::get(env_vars::SOURCE_DATE_EPOCH) {
        return v.parse().with_context(|| {
            format!(
                "{} must be whole seconds since 1970, found `{v}`",
                env_vars::SOURCE_DATE_EPOCH
            )
        });
    }
    Ok(facts.map_or(0, |f| u64::try_from(f.commit_time).unwrap_or(0)))
}

fn build_binaries(
    app: &App,
    dir: &Path,
    store: &BlobStore,
    platforms: &[Platform],
    version: &str,
    commit: &str,
    progress: &Progress,
) -> anyhow::Result<Vec<hoist_gobuild::Binary>> {
    let work = work_dir(store, dir);
    let requests: Vec<BuildRequest> = platforms
        .iter()
        .map(|p| BuildRequest {
            module_dir: dir.to_path_buf(),
            package: app.app.main.clone(),
            platform: p.clone(),
            output: work
                .join(p.to_string().replace('/', "-"))
                .join(&app.app.name),
            version: version.to_owned(),
            commit: commit.to_owned(),
            version_var: app.build.version_var.clone(),
            commit_var: app.build.commit_var.clone(),
            tags: app.build.tags.clone(),
            extra_ldflags: app.build.ldflags.clone(),
        })
        .collect();
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let names: Vec<String> = platforms.iter().map(|p| format!("go build {p}")).collect();
    let stages = std::sync::Mutex::new(
        names
            .iter()
            .map(|n| Some(progress.stage(n.clone())))
            .collect::<Vec<_>>(),
    );
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
    for s in stages
        .into_inner()
        .expect("progress lock")
        .into_iter()
        .flatten()
    {
        s.fail();
    }
    Ok(result?)
}

/// Binaries of one project directory go to one work directory in the cache, so two checkouts
/// never overwrite each other's binaries mid-build.
fn work_dir(store: &BlobStore, dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let key = hoist_core::Digest::of(abs.as_os_str().as_encoded_bytes());
    store.root().join("work").join(&key.hex()[..16])
}

/// One image per binary, on the base resolved for its platform (`bases` follows `build`'s
/// platforms, as the binaries do).
fn assemble(
    app: &App,
    binaries: &[hoist_gobuild::Binary],
    bases: &[ImageBase],
    facts: Option<&GitFacts>,
    version: &str,
    epoch: u64,
    store: &BlobStore,
) -> anyhow::Result<Vec<BuiltImage>> {
    let source = app
        .image
        .source
        .clone()
        .or_else(|| facts.and_then(|f| f.remote_url.clone()));
    binaries
        .iter()
        .zip(bases)
        .map(|(bin, base)| {
            let spec = ImageSpec {
                base: base.clone(),
                args: app.app.args.clone(),
                port: Some(app.app.port),
                labels: app.image.labels.clone(),
                source: source.clone(),
                revision: facts.map(|f| f.commit.clone()),
                version: Some(version.to_owned()),
                created: epoch,
                ..ImageSpec::new(bin.platform.clone(), app.app.name.clone(), bin.path.clone())
            };
            hoist_image::build_image(&spec, store)
                .with_context(|| format!("cannot assemble the image for {}", bin.platform))
        })
        .collect()
}

/// The image's name: the index when several platforms were built, else the one manifest.
fn root_descriptor(images: &[BuiltImage], store: &BlobStore) -> anyhow::Result<Descriptor> {
    match images {
        [one] => Ok(one.manifest.clone()),
        _ => Ok(hoist_image::build_index(images, store)?),
    }
}

fn cached_note(images: &[BuiltImage]) -> String {
    let cached = images
        .iter()
        .flat_map(|i| &i.layers)
        .filter(|l| l.cached)
        .count();
    let total: usize = images.iter().map(|i| i.layers.len()).sum();
    format!("({cached}/{total} layers from cache)")
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    app: &App,
    version: &str,
    outputs: &[Output],
    load: Option<Engine>,
    root: &Descriptor,
    images: &[BuiltImage],
    store: &BlobStore,
    progress: &Progress,
) -> anyhow::Result<Vec<String>> {
    let tags = repo_tags(&app.app.name, version);
    let mut written = Vec::new();
    for out in outputs {
        let stage = progress.stage(format!("write {}", out.path().display()));
        let r = match out {
            Output::OciLayout(dir) => {
                let roots = [LayoutRoot {
                    descriptor: root.clone(),
                    tag: Some(tag_of(&tags[0]).to_owned()),
                }];
                hoist_image::write_oci_layout(dir, &roots, store).map_err(anyhow::Error::from)
            }
            Output::DockerArchive(file) => pick_platform(images)
                .and_then(|img| Ok(hoist_image::write_docker_archive(file, img, &tags, store)?)),
        };
        match r {
            Ok(()) => stage.finish(""),
            Err(e) => {
                stage.fail();
                return Err(e);
            }
        }
        written.push(match out {
            Output::OciLayout(p) => format!("oci:{}", p.display()),
            Output::DockerArchive(p) => format!("docker-archive:{}", p.display()),
        });
    }
    if let Some(engine) = load {
        let stage = progress.stage(format!("{} load", engine.program()));
        match load_into(engine, images, &tags, store) {
            Ok(()) => stage.finish(&tags.join(", ")),
            Err(e) => {
                stage.fail();
                return Err(e);
            }
        }
        written.extend(tags.iter().map(|t| format!("{}:{t}", engine.program())));
    }
    Ok(written)
}

/// `NAME:VERSION` and `NAME:latest`; the version made a valid tag (`[A-Za-z0-9_.-]`, ≤128).
fn repo_tags(name: &str, version: &str) -> Vec<String> {
    let tag: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    vec![format!("{name}:{tag}"), format!("{name}:latest")]
}

/// `hello:v1` → `v1`: an OCI layout names images by tag alone.
fn tag_of(repo_tag: &str) -> &str {
    repo_tag.rsplit_once(':').map_or(repo_tag, |(_, t)| t)
}

/// A docker archive holds one platform: this machine's when it was built, else the only one.
fn pick_platform(images: &[BuiltImage]) -> anyhow::Result<&BuiltImage> {
    let host = Platform::host();
    if let Some(i) = images.iter().find(|i| i.platform.matches(&host)) {
        return Ok(i);
    }
    match images {
        [one] => Ok(one),
        _ => anyhow::bail!(
            "a docker archive holds one platform and this machine's ({host}) was not built; add `--platform {}`",
            images
                .first()
                .map_or_else(String::new, |i| i.platform.to_string())
        ),
    }
}

/// `docker load` / `podman load` of a docker archive written to a temporary file.
fn load_into(
    engine: Engine,
    images: &[BuiltImage],
    tags: &[String],
    store: &BlobStore,
) -> anyhow::Result<()> {
    let image = pick_platform(images)?;
    let tmp = tempfile::Builder::new()
        .prefix("hoist-load-")
        .suffix(".tar")
        .tempfile()
        .context("cannot create a temporary file for the archive")?;
    let path = tmp.path().to_path_buf();
    hoist_image::write_docker_archive(&path, image, tags, store)?;
    let out = std::process::Command::new(engine.program())
        .arg("load")
        .arg("-i")
        .arg(&path)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!("`{}` is not installed or not on PATH", engine.program())
            } else {
                anyhow::anyhow!("cannot run `{} load`: {e}", engine.program())
            }
        })?;
    if !out.status.success() {
        anyhow::bail!(
            "`{} load` failed:\n{}",
            engine.program(),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_valid_docker_tags() {
        assert_eq!(
            repo_tags("hello", "v1.2.3-4-gabc"),
            ["hello:v1.2.3-4-gabc", "hello:latest"]
        );
        assert_eq!(
            repo_tags("hello", "feat/x+y"),
            ["hello:feat-x-y", "hello:latest"]
        );
    }
}
