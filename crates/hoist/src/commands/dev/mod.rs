//! `hoist dev`: deploy to this machine's agent, then rebuild and roll out on every save. The
//! rollout is the agent's zero-downtime one: the old replica serves until the new one is
//! ready, and a build that fails or a revision that never gets ready leaves it serving. One
//! line per change with the time from the save to the new version serving; the replicas' logs
//! stream in between, prefixed by replica. Ctrl-C stops what `hoist dev` started (the app it
//! deployed, the agent it started) and nothing else.

mod watch;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hoist_core::{Driver, Outcome, Platform};
use hoist_gobuild::GoBuildError;
use hoist_runtime::api::{AppSpec, AppState, AppStatus, Artifact, Done};
use hoist_runtime::client::AgentClient;
use sha2::{Digest as _, Sha256};

use crate::cli::DevArgs;

/// Runs until Ctrl-C.
pub fn run(args: &DevArgs) -> anyhow::Result<ExitCode> {
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    let mut app = project.app.clone();
    if app.run.driver == Driver::Container {
        eprintln!(
            "hoist dev runs the binary itself (the process driver): `run.driver = \"container\"` is for `hoist deploy`"
        );
        app.run.driver = Driver::Process;
    }
    let module = hoist_gobuild::find_module(&project.dir)?.dir;
    let state = super::local::state_dir(args.agent.state_dir.as_deref())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (client, proxy, started_agent, was_running) = rt.block_on(async {
        let had_agent = super::local::connect::running(&state).await.is_ok();
        let (client, info) = super::local::connect::ensure(&state).await?;
        let was_running = client
            .get::<AppStatus>(&format!("/v1/apps/{}", app.app.name))
            .await
            .is_ok_and(|s| s.state == AppState::Running);
        anyhow::Ok((client, info.proxy, !had_agent, was_running))
    })?;
    let session = Session {
        project,
        app,
        client,
        proxy,
        store: super::build::open_store()?,
        cgo_checked: std::cell::Cell::new(false),
    };
    let watch = watch::Watch::start(&module)
        .with_context(|| format!("cannot watch `{}`", module.display()))?;
    eprintln!(
        "hoist dev: watching {} (Ctrl-C stops what it started)",
        module.display()
    );

    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        rt.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::Relaxed);
            }
        });
    }
    let mut serving = session.cycle(&rt, Instant::now(), "start", None, true);
    if serving.is_some() {
        session.stream_logs(&rt);
    }
    while !interrupted.load(Ordering::Relaxed) {
        let Some(change) = watch.next(Duration::from_millis(100)) else {
            continue;
        };
        let what = describe(&change.paths);
        let before = serving.clone();
        serving = session
            .cycle(
                &rt,
                change.first,
                &what,
                before.clone(),
                touches_modules(&change.paths),
            )
            .or(before);
        if serving.is_some() && !LOGS.load(Ordering::Relaxed) {
            session.stream_logs(&rt);
        }
    }

    eprintln!();
    rt.block_on(async {
        if was_running {
            eprintln!(
                "`{}` was running before hoist dev: it keeps running (`hoist stop {}` stops it)",
                session.app.app.name, session.app.app.name
            );
        } else if let Err(e) =
            super::local::show::stop_app(&session.client, &session.app.app.name).await
        {
            crate::report::print_error(&e);
        }
        if started_agent && let Err(e) = super::agent::stop(&state).await {
            crate::report::print_error(&e);
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

/// What `hoist dev` works with.
struct Session {
    project: hoist_pipeline::Project,
    app: hoist_core::App,
    client: AgentClient,
    proxy: String,
    store: hoist_image::BlobStore,
    /// Whether a build of this session has passed the cgo check.
    cgo_checked: std::cell::Cell<bool>,
}

/// Set once the log stream runs.
static LOGS: AtomicBool = AtomicBool::new(false);

impl Session {
    /// Builds, and rolls out what changed; the digest of the binary that serves afterwards
    /// (`None` when the build or the rollout failed and nothing of this session serves).
    ///
    /// `check_cgo`: run the pipeline's check for packages that need cgo (an unset `build.cgo`).
    /// It lists every dependency beside the compiler, on the same cores, so it runs until a
    /// build has passed it and then when go.mod, go.sum or go.work changed (a new module is
    /// where such a package comes from), not on every save.
    fn cycle(
        &self,
        rt: &tokio::runtime::Runtime,
        saved: Instant,
        what: &str,
        serving: Option<String>,
        check_cgo: bool,
    ) -> Option<String> {
        let build_started = Instant::now();
        // Until one build has passed the check (the first may fail to compile), every build runs it.
        let check_cgo = check_cgo || !self.cgo_checked.get();
        let unchecked;
        let project = if check_cgo || self.project.app.build.cgo.is_some() {
            &self.project
        } else {
            // `false` is "build without cgo, unchecked": what the check allowed at the start.
            let mut p = self.project.clone();
            p.app.build.cgo = Some(false);
            unchecked = p;
            &unchecked
        };
        let built = hoist_pipeline::Stamp::read(
            &self.project.dir,
            crate::env_vars::get(crate::env_vars::SOURCE_DATE_EPOCH).as_deref(),
        )
        .map_err(anyhow::Error::from)
        .and_then(|stamp| {
            let mut bins = hoist_pipeline::build::binaries(
                project,
                &[Platform::host()],
                &stamp,
                &self.store,
                &hoist_pipeline::Quiet,
            )?;
            let bin = bins.pop().context("the build produced no binary")?;
            Ok((bin.path, stamp.version))
        });
        let (binary, version) = match built {
            Ok(b) => {
                self.cgo_checked.set(true);
                b
            }
            Err(e) => {
                eprintln!(
                    "{what}: the build failed; {}",
                    if serving.is_some() {
                        "the running version keeps serving"
                    } else {
                        "nothing serves yet"
                    }
                );
                match e.downcast_ref::<hoist_pipeline::BuildError>() {
                    Some(hoist_pipeline::BuildError::Go(GoBuildError::CompileFailed {
                        stderr,
                        ..
                    })) => eprintln!("{}", stderr.trim_end()),
                    _ => {
                        crate::report::print_error(&e);
                    }
                }
                return serving;
            }
        };
        let build_time = build_started.elapsed();
        let digest = match file_digest(&binary) {
            Ok(d) => d,
            Err(e) => {
                crate::report::print_error(&e);
                return serving;
            }
        };
        if serving.as_deref() == Some(digest.as_str()) {
            eprintln!("{what}: the binary is unchanged; nothing to roll out");
            return serving;
        }
        let mut run = self.app.run.clone();
        // The inner loop swaps the revision as soon as it is ready: a canary's analysis needs
        // minutes of traffic a developer's saves never give it.
        run.rollout.strategy = hoist_core::Strategy::Rolling;
        let spec = AppSpec {
            name: self.app.app.name.clone(),
            version,
            port: self.app.app.port,
            args: self.app.app.args.clone(),
            run,
            artifact: Artifact::Binary { path: binary },
        };
        let rollout_started = Instant::now();
        let taken = AtomicBool::new(false);
        let done = rt.block_on(super::local::deploy::roll_out(
            &self.client,
            &spec,
            &taken,
            |_| {},
        ));
        let done: Done = match done {
            Ok(d) => d,
            Err(e) => {
                crate::report::print_error(&e);
                return serving;
            }
        };
        match done.outcome {
            Outcome::Deployed => {
                let (host, path) = self
                    .app
                    .run
                    .ingress
                    .as_ref()
                    .map_or((None, "/"), |i| (i.host.as_deref(), i.path.as_str()));
                let (url, _) = super::local::deploy::url(&self.proxy, host, path);
                eprintln!(
                    "{what}: revision {} serves {url} {:.2}s after the save (build {:.2}s, rollout {:.2}s)",
                    done.revision,
                    saved.elapsed().as_secs_f64(),
                    build_time.as_secs_f64(),
                    rollout_started.elapsed().as_secs_f64(),
                );
                Some(digest)
            }
            Outcome::RolledBack | Outcome::Failed => {
                eprintln!(
                    "{what}: revision {} did not get ready, {}\nreason: {}",
                    done.revision,
                    done.serving.map_or_else(
                        || "and nothing serves".to_owned(),
                        |s| format!("revision {s} keeps serving")
                    ),
                    done.reason.as_deref().unwrap_or("unknown")
                );
                for report in &done.replica_reports {
                    eprintln!("{}", super::local::indent(&report.to_string(), "  "));
                }
                done.serving.and(serving)
            }
        }
    }

    /// The replicas' output from now on (and the last lines written before), each line prefixed by its replica (as `hoist logs -f`
    /// prints it), on stderr beside hoist's own lines.
    fn stream_logs(&self, rt: &tokio::runtime::Runtime) {
        if LOGS.swap(true, Ordering::Relaxed) {
            return;
        }
        let client = self.client.clone();
        // The first replica's opening lines were written before the stream started.
        let path = format!("/v1/apps/{}/logs?tail=5&follow=true", self.app.app.name);
        rt.spawn(async move {
            use std::io::Write as _;
            let _ = client
                .get_raw(&path, |chunk| {
                    let mut err = std::io::stderr().lock();
                    let _ = err.write_all(chunk);
                    let _ = err.flush();
                })
                .await;
            LOGS.store(false, Ordering::Relaxed);
        });
    }
}

/// Whether a change touches the module graph (go.mod, go.sum, go.work or go.work.sum).
fn touches_modules(paths: &[std::path::PathBuf]) -> bool {
    paths.iter().any(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| matches!(n, "go.mod" | "go.sum" | "go.work" | "go.work.sum"))
    })
}

/// `main.go`, `main.go and 2 more`.
fn describe(paths: &[std::path::PathBuf]) -> String {
    match paths {
        [] => "change".to_owned(),
        [one] => one.display().to_string(),
        [one, rest @ ..] => format!("{} and {} more", one.display(), rest.len()),
    }
}

/// The binary's sha256: the same build twice is no new revision.
fn file_digest(path: &std::path::Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::{describe, touches_modules};

    #[test]
    fn module_files_bring_the_cgo_check_back() {
        assert!(touches_modules(&["go.mod".into()]));
        assert!(touches_modules(&["main.go".into(), "sub/go.sum".into()]));
        assert!(!touches_modules(&["main.go".into(), "go.mod.go".into()]));
    }

    #[test]
    fn changes_are_named_briefly() {
        assert_eq!(describe(&["main.go".into()]), "main.go");
        assert_eq!(
            describe(&["main.go".into(), "a.go".into(), "b.go".into()]),
            "main.go and 2 more"
        );
    }
}
