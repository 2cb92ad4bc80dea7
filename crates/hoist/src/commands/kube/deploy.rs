//! `hoist deploy --target kubernetes`: the image (given, or built and pushed), the rendered
//! objects, then one deploy per context, several at once, and a report per cluster.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use hoist_core::App;
use hoist_gobuild::GitFacts;
use hoist_kube::{Manifest, Options, Release, Report, Target};
use hoist_render::{PinnedImage, RenderInput};
use serde::Serialize;

use super::progress::Lines;
use crate::cli::{DeployArgs, PushTargetArgs};
use crate::commands::outcome::{Outcome, exit_code};
use crate::env_vars;

/// The `--json` report.
#[derive(Serialize)]
pub struct JsonReport<'a> {
    /// `app.name`.
    pub app: &'a str,
    /// The instance label.
    pub instance: String,
    /// The image deployed, pinned by digest (not for a rollback: each cluster has its own).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The version label (not for a rollback).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub version: &'a str,
    /// The worst outcome over the clusters.
    pub outcome: Outcome,
    /// Seconds from the start of `hoist deploy` (including a build) to the last cluster's end.
    pub total_seconds: f64,
    /// One entry per context.
    pub clusters: Vec<ClusterJson>,
}

/// One cluster's part of the report: its [`Report`], or the error that stopped it.
#[derive(Serialize)]
#[serde(untagged)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per cluster, built once to be printed; a box would only complicate the match"
)]
pub enum ClusterJson {
    /// It ran.
    Report(Report),
    /// It could not.
    Error {
        /// The context.
        context: String,
        /// `failed`.
        outcome: Outcome,
        /// The error and its causes.
        error: String,
    },
}

/// Deploys `app` to every context.
pub fn deploy(project: &hoist_pipeline::Project, args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let (app, project_dir) = (&project.app, project.dir.as_path());
    let started = Instant::now();
    if args.binary.is_some() {
        anyhow::bail!(
            "`--binary` is for this machine's agent; Kubernetes runs images: pass `--image REF` or let hoist build and push one"
        );
    }
    let rt = super::runtime()?;
    let timeout = super::parse_duration(&args.timeout).context("invalid `--timeout`")?;
    // Contexts and kubeconfig are checked before any build.
    let targets = rt.block_on(super::targets(app, &args.target.kube))?;
    let version = GitFacts::read(project_dir).map_or_else(|| "dev".to_owned(), |f| f.describe);
    let options = Options {
        force_conflicts: args.force_conflicts,
        create_namespace: args.create_namespace
            || app.kubernetes.as_ref().is_some_and(|k| k.create_namespace),
        history_limit: super::history_limit(app),
        timeout,
    };
    // Every cluster must answer and accept the objects (a dry run with a stand-in image)
    // before the build pushes anything: no new tag for a deploy that cannot happen.
    if args.image.is_none() {
        let stand_in = manifests(app, &stand_in_image(app)?, &version)?;
        let checks = rt.block_on(hoist_kube::fleet::each(
            targets.iter().collect(),
            args.parallel,
            |t| hoist_kube::preflight(t, &stand_in, &options),
        ));
        for (t, r) in targets.iter().zip(checks) {
            r.with_context(|| {
                format!(
                    "`{}` cannot take the deploy, so nothing was built or pushed",
                    t.cluster.context()
                )
            })?;
        }
    }
    let image = image(project, args)?;
    let release = Release {
        manifests: manifests(app, &image, &version)?,
        image: image.to_string(),
        version: version.clone(),
        rollback_of: None,
    };
    let results = match app.run.rollout.strategy.canary() {
        Some(canary) => run_canary(&rt, &targets, &release, &options, canary, args.parallel)?,
        None => run_all(&rt, &targets, &release, &options, args.parallel, "deploy"),
    };
    finish(
        app,
        &image.to_string(),
        &version,
        &targets,
        results,
        args.json,
        started,
    )
}

/// The app's objects as manifests, running `image`.
fn manifests(app: &App, image: &PinnedImage, version: &str) -> anyhow::Result<Vec<Manifest>> {
    let objects = hoist_render::render(
        app,
        &RenderInput {
            image: image.clone(),
            version: version.to_owned(),
        },
    )?;
    Ok(objects
        .iter()
        .map(Manifest::from_object)
        .collect::<Result<Vec<_>, _>>()?)
}

/// The image a preflight dry run renders before the real one exists: the repository it will
/// be pushed to, with a digest of zeros.
fn stand_in_image(app: &App) -> anyhow::Result<PinnedImage> {
    let repository = env_vars::get(env_vars::HOIST_IMAGE_REPOSITORY)
        .or_else(|| app.image.repository.clone())
        .unwrap_or_else(|| format!("hoist.invalid/{}", app.app.name));
    Ok(PinnedImage::parse(&format!(
        "{repository}@sha256:{}",
        "0".repeat(64)
    ))?)
}

/// Runs `release` on every target; prints progress lines as they go.
pub(super) fn run_all(
    rt: &tokio::runtime::Runtime,
    targets: &[Target],
    release: &Release,
    options: &Options,
    parallel: usize,
    verb: &'static str,
) -> Vec<hoist_kube::Result<Report>> {
    let lines = Lines::new(verb);
    rt.block_on(hoist_kube::fleet::each(
        targets.iter().collect(),
        parallel,
        |t| hoist_kube::deploy(t, release, options, &lines),
    ))
}

/// Runs `release` as a canary on every target, judged from `[verify.prometheus]`.
fn run_canary(
    rt: &tokio::runtime::Runtime,
    targets: &[Target],
    release: &Release,
    options: &Options,
    canary: &hoist_core::Canary,
    parallel: usize,
) -> anyhow::Result<Vec<hoist_kube::Result<Report>>> {
    let queries = canary
        .prometheus
        .as_ref()
        .context("a canary on Kubernetes needs `[verify.prometheus]`")?;
    let lines = Lines::new("deploy");
    let sources = targets
        .iter()
        .map(|t| hoist_prometheus::Source::new(queries, &t.app, &t.namespace).map(PromFigures))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rt.block_on(hoist_kube::fleet::each(
        targets.iter().zip(&sources).collect(),
        parallel,
        |(t, figures)| hoist_kube::deploy_canary(t, release, options, canary, figures, &lines),
    )))
}

/// A canary's figures from Prometheus, by revision number.
struct PromFigures(hoist_prometheus::Source);

impl hoist_kube::Figures for PromFigures {
    async fn sample(
        &self,
        revision: u64,
        window: std::time::Duration,
    ) -> Result<Option<hoist_canary::Sample>, String> {
        self.0
            .sample(&revision.to_string(), window, std::time::SystemTime::now())
            .await
            .map_err(|e| format!("{:#}", anyhow::Error::new(e)))
    }
}

/// Prints the summary (and `--json`), and picks the exit status.
pub(super) fn finish(
    app: &App,
    image: &str,
    version: &str,
    targets: &[Target],
    results: Vec<hoist_kube::Result<Report>>,
    json: bool,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    // One cluster: its error is the command's error (exit 1, with a hint).
    let mut results = results;
    if results.len() == 1
        && results[0].is_err()
        && let Some(Err(e)) = results.pop()
    {
        return Err(e.into());
    }
    let mut clusters = Vec::new();
    let mut outcomes = Vec::new();
    for (t, r) in targets.iter().zip(results) {
        match r {
            Ok(report) => {
                super::progress::summary(&report);
                outcomes.push(report.outcome);
                clusters.push(ClusterJson::Report(report));
            }
            Err(e) => {
                let e = anyhow::Error::new(e);
                eprintln!("{}: error: {e:#}", t.cluster.context());
                if let Some(h) = crate::report::hint(&e) {
                    eprintln!("  hint: {h}");
                }
                outcomes.push(Outcome::Failed);
                clusters.push(ClusterJson::Error {
                    context: t.cluster.context().to_owned(),
                    outcome: Outcome::Failed,
                    error: format!("{e:#}"),
                });
            }
        }
    }
    let worst = Outcome::worst(outcomes);
    if json {
        let report = JsonReport {
            app: &app.app.name,
            instance: hoist_render::instance(app),
            image: image.to_owned(),
            version,
            outcome: worst,
            total_seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            clusters,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(exit_code(worst))
}

/// `--image REF` (as `hoist render --image`), else a build pushed to `image.repository`.
fn image(project: &hoist_pipeline::Project, args: &DeployArgs) -> anyhow::Result<PinnedImage> {
    let app = &project.app;
    if let Some(given) = &args.image {
        if given.starts_with("oci:") {
            anyhow::bail!(
                "`--image {given}`: a cluster pulls images from a registry; push the layout first (`hoist push {}`) and pass the reference it prints",
                given.trim_start_matches("oci:")
            );
        }
        return super::super::render::image(app, Some(given), None);
    }
    build_and_push(project, args)
}

/// Builds the project (as `hoist build --push` does) and pushes it to `image.repository` (or
/// `HOIST_IMAGE_REPOSITORY`) with the tag policy's tags; the pushed reference, pinned.
fn build_and_push(
    project: &hoist_pipeline::Project,
    args: &DeployArgs,
) -> anyhow::Result<PinnedImage> {
    let app = &project.app;
    let target = PushTargetArgs {
        repository: env_vars::get(env_vars::HOIST_IMAGE_REPOSITORY),
        tags: Vec::new(),
    };
    if target.repository.is_none() && app.image.repository.is_none() {
        anyhow::bail!(super::super::render::ImageMissing::NotGiven);
    }
    let registry = super::super::registry::target_repository(&target, Some(app))?;
    let tags = super::super::registry::tags(Some(app), &project.dir, &[])?;
    let client = super::super::registry::client(&args.registry, &registry.registry)?;
    let store = super::super::build::open_store()?;
    let progress = crate::progress::Progress::new();
    let platforms = app.build.platforms.clone();
    let bases = super::super::base::resolve(
        &app.build.base,
        &platforms,
        &args.registry,
        &store,
        &progress,
    )?;
    let stamp = super::super::build::stamp(project)?;
    let built = hoist_pipeline::build(project, &platforms, &bases, stamp, &store, &progress)?;
    let pushed = super::super::registry::push(
        &client,
        &registry,
        &built.root,
        &hoist_registry::BlobDir::new(store.root()),
        &tags,
        Some(&super::super::registry::mount_hints(&store)),
    )?;
    super::super::last_build::remember(
        store.root(),
        &project.dir,
        args.environment.as_deref(),
        &super::super::last_build::LastBuild {
            digest: built.root.digest.to_string(),
            pushed: Some(pushed.pinned.clone()),
        },
    );
    Ok(PinnedImage::parse(&pushed.pinned)?)
}
