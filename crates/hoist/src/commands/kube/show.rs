//! `status`, `history`, `rollback` and `diff` with `--target kubernetes`.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use hoist_core::App;
use hoist_gobuild::GitFacts;
use hoist_kube::{Change, Manifest, Options, Record, Target};
use hoist_render::RenderInput;
use serde::Serialize;

use crate::cli::{DiffArgs, HistoryArgs, RollbackArgs, StatusArgs};

/// `hoist status --target kubernetes`: per context, the serving revision and the live rollout.
pub fn status(app: &App, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    let targets = super::app_targets(&rt, app, &args.target.kube)?;
    let results = rt.block_on(hoist_kube::fleet::each(targets.iter().collect(), 4, |t| {
        hoist_kube::status(t, &app.app.name)
    }));
    let mut all = Vec::new();
    for r in results {
        all.push(r?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    for s in &all {
        let serving = s.serving.map_or_else(
            || "no revision deployed".to_owned(),
            |r| format!("revision {r} serving"),
        );
        println!("{} ({}): {serving}", s.context, s.namespace);
        match (&s.image, &s.rollout) {
            (Some(image), Some(rollout)) => {
                println!("  image   {image}");
                println!("  rollout {rollout}");
            }
            _ => println!("  no Deployment `{}`", app.app.name),
        }
        if let Some((rev, outcome)) = s.latest {
            println!(
                "  latest  revision {rev}: {}{}",
                outcome.as_str(),
                s.latest_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }
        if let Some(c) = &s.canary {
            for line in canary_lines(c) {
                println!("  {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct HistoryJson<'a> {
    context: &'a str,
    namespace: &'a str,
    serving: Option<u64>,
    revisions: Vec<RevisionJson<'a>>,
}

#[derive(Serialize)]
struct RevisionJson<'a> {
    revision: u64,
    outcome: &'static str,
    created: &'a str,
    finished: Option<&'a str>,
    image: &'a str,
    version: &'a str,
    rollback_of: Option<u64>,
    rollout_seconds: Option<f64>,
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    replica_reports: &'a [hoist_core::ReplicaReport],
    /// A canary's steps and verdicts with their numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    canary: Option<&'a hoist_kube::CanaryRecord>,
}

impl<'a> RevisionJson<'a> {
    fn of(r: &'a Record) -> Self {
        Self {
            revision: r.revision,
            outcome: r.outcome.as_str(),
            created: &r.created,
            finished: r.finished.as_deref(),
            image: &r.image,
            version: &r.version,
            rollback_of: r.rollback_of,
            rollout_seconds: r.rollout_seconds,
            reason: r.reason.as_deref(),
            replica_reports: &r.replica_reports,
            canary: r.canary.as_ref(),
        }
    }
}

/// `hoist history --target kubernetes`: the revision records of each context.
pub fn history(app: &App, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    let targets = super::app_targets(&rt, app, &args.target.kube)?;
    let results = rt.block_on(hoist_kube::fleet::each(
        targets.iter().collect(),
        4,
        Target::records,
    ));
    let mut all = Vec::new();
    for (t, r) in targets.iter().zip(results) {
        all.push((t, r?));
    }
    if args.json {
        let out: Vec<HistoryJson<'_>> = all
            .iter()
            .map(|(t, records)| HistoryJson {
                context: t.cluster.context(),
                namespace: &t.namespace,
                serving: records.serving().map(|r| r.revision),
                revisions: records.all.iter().map(RevisionJson::of).collect(),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (t, records) in &all {
        println!("{} ({}):", t.cluster.context(), t.namespace);
        if records.all.is_empty() {
            println!("  no revisions of `{}`", t.instance);
            continue;
        }
        println!(
            "  {:<4} {:<12} {:<20} {:<10} IMAGE / REASON",
            "REV", "OUTCOME", "CREATED", "VERSION"
        );
        let serving = records.serving().map(|r| r.revision);
        for r in &records.all {
            let mark = if Some(r.revision) == serving {
                "*"
            } else {
                " "
            };
            let created = r.created.get(..19).unwrap_or(&r.created);
            let note = match (&r.reason, r.rollback_of) {
                (Some(reason), _) => reason.clone(),
                (None, Some(of)) => {
                    format!("{} (rollback to revision {of})", short_image(&r.image))
                }
                (None, None) => short_image(&r.image),
            };
            println!(
                "{mark} {:<4} {:<12} {:<20} {:<10} {note}",
                r.revision,
                r.outcome.as_str(),
                created,
                r.version
            );
            for report in &r.replica_reports {
                println!(
                    "{}",
                    crate::commands::local::indent(&report.to_string(), "       ")
                );
            }
            if let Some(c) = &r.canary {
                for line in canary_lines(c) {
                    println!("       {line}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `repo@sha256:0123456789ab…`.
fn short_image(image: &str) -> String {
    match image.split_once("@sha256:") {
        Some((repo, hex)) if hex.len() > 12 => format!("{repo}@sha256:{}…", &hex[..12]),
        _ => image.to_owned(),
    }
}

/// `hoist rollback --target kubernetes [--to REV]`: the chosen revision's objects applied again
/// as a new revision, waited for, and rolled back in turn if they fail.
pub fn rollback(app: &App, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let rt = super::runtime()?;
    let timeout = super::parse_duration(&args.timeout).context("invalid `--timeout`")?;
    let targets = super::app_targets(&rt, app, &args.target.kube)?;
    let options = Options {
        force_conflicts: true,
        create_namespace: false,
        history_limit: super::history_limit(app),
        timeout,
    };
    let lines = super::progress::Lines::new("rollback");
    let results = rt.block_on(hoist_kube::fleet::each(
        targets.iter().collect(),
        args.parallel,
        |t| {
            let (options, lines) = (&options, &lines);
            async move {
                let release = hoist_kube::rollback_release(t, args.to).await?;
                hoist_kube::deploy(t, &release, options, lines).await
            }
        },
    ));
    super::deploy::finish(app, "", "", &targets, results, args.json, started)
}

#[derive(Serialize)]
struct DiffJson<'a> {
    context: &'a str,
    namespace: &'a str,
    changes: &'a [Change],
}

/// `hoist diff`: what `hoist deploy --target kubernetes` would change, per context. Exit 0
/// whether or not something would change (the diff is the answer); 1 on error.
pub fn diff(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let project = super::super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    let (app, dir) = (project.app, project.dir);
    let last = super::super::build::open_store().ok().and_then(|store| {
        super::super::last_build::recall(store.root(), &dir, args.environment.as_deref())
    });
    let image = super::super::render::image(&app, args.image.as_deref(), last.as_ref())?;
    let version = GitFacts::read(&dir).map_or_else(|| "dev".to_owned(), |f| f.describe);
    let objects = hoist_render::render(&app, &RenderInput { image, version })?;
    let manifests = objects
        .iter()
        .map(Manifest::from_object)
        .collect::<Result<Vec<_>, _>>()?;
    let rt = super::runtime()?;
    let targets = super::app_targets(&rt, &app, &args.kube)?;
    let results = rt.block_on(hoist_kube::fleet::each(targets.iter().collect(), 4, |t| {
        hoist_kube::diff(t, &manifests, false)
    }));
    let mut all = Vec::new();
    for (t, r) in targets.iter().zip(results) {
        all.push((t, r?));
    }
    if args.json {
        let out: Vec<DiffJson<'_>> = all
            .iter()
            .map(|(t, c)| DiffJson {
                context: t.cluster.context(),
                namespace: &t.namespace,
                changes: c,
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (t, changes) in &all {
        let n = changes
            .iter()
            .filter(|c| c.changes() && !matches!(c, Change::Conflict { .. }))
            .count();
        eprintln!(
            "{} ({}): {}",
            t.cluster.context(),
            t.namespace,
            if n == 0 {
                "no changes".to_owned()
            } else {
                format!("{n} object(s) would change")
            }
        );
        for c in changes {
            match c {
                Change::Create { object, yaml } => {
                    println!("+ create {object}");
                    for l in yaml.lines() {
                        println!("+ {l}");
                    }
                }
                Change::Update { object, diff } => {
                    println!("~ update {object}");
                    print!("{diff}");
                }
                Change::Delete { object } => println!("- delete {object} (prune)"),
                Change::Conflict { object, fields } => println!(
                    "! conflict {object}: {} (deploy needs --force-conflicts)",
                    fields.join(", ")
                ),
                Change::Unchanged { .. } => {}
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A canary record as lines: where it stands (or how it ended), then each step's verdict with
/// its numbers.
pub(super) fn canary_lines(c: &hoist_kube::CanaryRecord) -> Vec<String> {
    let (weight, canary, stable) = c.split;
    let steps: Vec<String> = c.steps.iter().map(|s| format!("{s}%")).collect();
    let mut out = vec![match c.phase.as_str() {
        "analysing" => format!(
            "canary beside revision {}: step {} of {} ({}), {weight}% → {canary} canary and {stable} stable replicas",
            c.stable,
            c.done.len() + 1,
            c.steps.len(),
            steps.join(" → ")
        ),
        phase => format!(
            "canary beside revision {} ({}): {phase}",
            c.stable,
            steps.join(" → ")
        ),
    }];
    for d in &c.done {
        let v = d
            .verdict
            .as_ref()
            .map_or_else(|| "promoted by hand".to_owned(), ToString::to_string);
        out.push(format!("  step {}%: {v}", d.weight));
    }
    if let Some(v) = &c.verdict
        && c.phase != "promoted"
    {
        out.push(format!("  last verdict: {v}"));
    }
    out
}

/// `hoist promote|abort --target kubernetes`: asks the deploy walking the app's canary, in
/// every context, to promote or abort it at its next analysis (the canary Deployment's
/// `hoist.dev/intervene` annotation). Exit 1 when no canary runs anywhere.
pub fn intervene(
    app: &App,
    args: &crate::cli::StopArgs,
    promote: bool,
) -> anyhow::Result<ExitCode> {
    let rt = super::runtime()?;
    let targets = super::app_targets(&rt, app, &args.target.kube)?;
    let verb = if promote { "promote" } else { "abort" };
    let mut asked = 0;
    for t in &targets {
        let found = rt
            .block_on(hoist_kube::intervene(t, promote))
            .with_context(|| {
                format!("cannot ask the canary in {} to {verb}", t.cluster.context())
            })?;
        if found {
            asked += 1;
            eprintln!(
                "asked the canary of `{}` in {}/{} to {verb}: the deploy walking it does so at its next analysis",
                t.app,
                t.cluster.context(),
                t.namespace
            );
        } else {
            eprintln!(
                "no canary of `{}` runs in {}/{}",
                t.app,
                t.cluster.context(),
                t.namespace
            );
        }
    }
    if args.json {
        println!("{}", serde_json::json!({ "asked": asked, verb: asked > 0 }));
    }
    Ok(if asked > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::commands::outcome::ERROR)
    })
}
