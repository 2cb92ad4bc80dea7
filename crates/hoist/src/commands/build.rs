//! `hoist build`: Go source → binaries → OCI image, written where `--output` says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use hoist_core::{App, Platform};
use hoist_image::{BlobStore, BuiltImage, LayoutRoot};
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

/// [`run`], writing the digest (or the summary) to `out`.
pub(super) fn run_to(args: &BuildArgs, out: &mut dyn std::io::Write) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    let (app, dir) = (&project.app, &project.dir);
    let platforms = platforms(app, &args.platforms)?;
    let outputs = args
        .outputs
        .iter()
        .map(|o| Output::parse(o))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for o in &outputs {
        o.check_writable()?;
    }
    // Impossible requests fail before anything is compiled.
    let one_platform = outputs
        .iter()
        .find(|o| matches!(o, Output::DockerArchive(_)))
        .map(|o| format!("`--output docker-archive:{}`", o.path().display()))
        .or_else(|| args.load.map(|e| format!("`--load {}`", e.program())));
    if let Some(what) = one_platform {
        single_platform_possible(&platforms, &what)?;
    }
    // A push target and its tags are checked before any work, too.
    let push_target = if args.push {
        let repository = super::registry::target_repository(&args.target, Some(app))?;
        let tags = super::registry::tags(Some(app), dir, &args.target.tags)?;
        let client = super::registry::client(&args.registry, &repository.registry)?;
        Some((repository, tags, client))
    } else {
        None
    };
    let store = open_store()?;
    let progress = Progress::new();
    // The base is resolved before compiling, so a missing base fails fast.
    let bases = super::base::resolve(
        &app.build.base,
        &platforms,
        &args.registry,
        &store,
        &progress,
    )?;
    let built = hoist_pipeline::build(
        &project,
        &platforms,
        &bases,
        stamp(&project)?,
        &store,
        &progress,
    )?;
    let mut timings = built.timings.clone();

    let t = Instant::now();
    let written = write_outputs(app, &built, &outputs, args.load, &store, &progress)?;
    timings.insert("outputs", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let pushed = match &push_target {
        Some((repository, tags, client)) => Some(super::registry::push(
            client,
            repository,
            &built.root,
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
    super::last_build::remember(
        store.root(),
        dir,
        args.environment.as_deref(),
        &super::last_build::LastBuild {
            digest: built.root.digest.to_string(),
            pushed: pushed.as_ref().map(|p| p.pinned.clone()),
        },
    );

    if args.json {
        let summary = Summary {
            digest: built.root.digest.to_string(),
            media_type: &built.root.media_type,
            version: &built.stamp.version,
            platforms: built
                .images
                .iter()
                .zip(&built.binaries)
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
                .zip(push_target.as_ref())
                .map(|(p, (_, tags, _))| super::registry::PushSummary::new(p, tags)),
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else if let Some(p) = &pushed {
        writeln!(out, "{}", p.pinned)?;
    } else {
        writeln!(out, "{}", built.root.digest)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The app's binary for `platform` (this machine's for the local `process` driver, a host's
/// for a hosts deploy), and the version it is stamped with. `build.platforms` does not matter
/// here: Go builds for any platform, and the one that runs is the one needed.
pub(super) fn host_binary(
    project: &hoist_pipeline::Project,
    platform: &Platform,
) -> anyhow::Result<(PathBuf, String)> {
    let store = open_store()?;
    let stamp = stamp(project)?;
    let progress = Progress::new();
    let mut bins = hoist_pipeline::build::binaries(
        project,
        std::slice::from_ref(platform),
        &stamp,
        &store,
        &progress,
    )?;
    let bin = bins.pop().context("the build produced no binary")?;
    Ok((bin.path, stamp.version))
}

/// The app's image for this machine's platform, written as a docker archive to `out` (what the
/// local `container` driver loads into the engine); returns the archive's `NAME:VERSION` tag
/// and the version. The image is the one `hoist build --platform <this machine's>` makes.
pub(super) fn host_archive(
    project: &hoist_pipeline::Project,
    registry: &crate::cli::RegistryArgs,
    out: &Path,
) -> anyhow::Result<(String, String)> {
    let (store, built) = build_for(project, registry, &Platform::host())?;
    let image = pick_platform(&built.images)?;
    let tags = repo_tags(&project.app.app.name, &built.stamp.version);
    hoist_image::write_docker_archive(out, image, &tags, &store)?;
    Ok((tags[0].clone(), built.stamp.version))
}

/// The image of `project` for `platform`, built into the user's store.
fn build_for(
    project: &hoist_pipeline::Project,
    registry: &crate::cli::RegistryArgs,
    platform: &Platform,
) -> anyhow::Result<(BlobStore, hoist_pipeline::Built)> {
    let store = open_store()?;
    let progress = Progress::new();
    let platforms = [platform.clone()];
    let bases = super::base::resolve(
        &project.app.build.base,
        &platforms,
        registry,
        &store,
        &progress,
    )?;
    let built = hoist_pipeline::build(
        project,
        &platforms,
        &bases,
        stamp(project)?,
        &store,
        &progress,
    )?;
    Ok((store, built))
}

/// The app's image for `platform` (a host's) as docker-archive parts in `dir` (the config and
/// each layer uncompressed, named by digest): what a hosts deploy sends each host, only the
/// parts it lacks. Returns them, the image's `NAME:VERSION` tag and the version.
pub(super) fn host_image_parts(
    project: &hoist_pipeline::Project,
    registry: &crate::cli::RegistryArgs,
    dir: &Path,
    platform: &Platform,
) -> anyhow::Result<(hoist_image::ArchiveParts, String, String)> {
    let (store, built) = build_for(project, registry, platform)?;
    let image = pick_platform(&built.images)?;
    let tags = repo_tags(&project.app.app.name, &built.stamp.version);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let parts = hoist_image::export_archive_parts(dir, image, &store)?;
    Ok((parts, tags[0].clone(), built.stamp.version))
}

/// What a build of `project` is stamped with: git's version and commit, and the time from
/// `SOURCE_DATE_EPOCH` (else the commit's).
pub(super) fn stamp(project: &hoist_pipeline::Project) -> anyhow::Result<hoist_pipeline::Stamp> {
    Ok(hoist_pipeline::Stamp::read(
        &project.dir,
        env_vars::get(env_vars::SOURCE_DATE_EPOCH).as_deref(),
    )?)
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

/// Writes the `--output`s and does the `--load` of `built`; returns what was written.
fn write_outputs(
    app: &App,
    built: &hoist_pipeline::Built,
    outputs: &[Output],
    load: Option<Engine>,
    store: &BlobStore,
    progress: &Progress,
) -> anyhow::Result<Vec<String>> {
    let (root, images) = (&built.root, built.images.as_slice());
    let tags = repo_tags(&app.app.name, &built.stamp.version);
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

/// A docker archive (`what` asks for one) holds one platform: this machine's, or the only one
/// built. Checked before the build, so an impossible request costs no compile.
fn single_platform_possible(platforms: &[Platform], what: &str) -> anyhow::Result<()> {
    let host = Platform::host();
    if platforms.len() <= 1 || platforms.iter().any(|p| p.matches(&host)) {
        return Ok(());
    }
    let listed: Vec<String> = platforms.iter().map(ToString::to_string).collect();
    anyhow::bail!(
        "{what} needs one platform's image (a docker archive holds one), and this machine's ({host}) is not among the {} being built ({}); build just one of them, e.g. `--platform {}`",
        platforms.len(),
        listed.join(", "),
        listed[0]
    )
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
