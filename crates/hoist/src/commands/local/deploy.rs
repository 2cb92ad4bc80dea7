//! `hoist deploy` to this machine: build the binary for this platform (unless given), start
//! the agent if needed, hand it the revision and follow the rollout to its outcome.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_core::{App, Driver};
use hoist_runtime::api::{AppSpec, Artifact, Done, Event};

use super::super::outcome::Outcome;
use crate::cli::{DeployArgs, DriverArg};

/// Deploys and waits; the exit status is the outcome's (0 deployed, 2 rolled back, 3 failed).
pub fn deploy(app: &App, args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let mut run = app.run.clone();
    if let Some(d) = args.driver {
        run.driver = match d {
            DriverArg::Process => Driver::Process,
            DriverArg::Container => Driver::Container,
        };
    }
    let (artifact, version) = artifact(app, args, run.driver)?;
    let spec = AppSpec {
        name: app.app.name.clone(),
        version,
        port: app.app.port,
        args: app.app.args.clone(),
        run,
        artifact,
    };
    // The agent has loaded the archive into the engine once it answers; it is not needed after.
    let _archive = TempArchive(match &spec.artifact {
        Artifact::Image { archive, .. } => archive.clone(),
        Artifact::Binary { .. } => None,
    });
    let rt = super::runtime()?;
    let done = rt.block_on(async {
        let (client, info) = super::connect::ensure(&dir).await?;
        let mut done: Option<Done> = None;
        client
            .post_events(
                &format!("/v1/apps/{}/deploy", spec.name),
                &spec,
                |ev| match ev {
                    Event::Progress { message, .. } => eprintln!("  {message}"),
                    Event::Done(d) => done = Some(d),
                },
            )
            .await
            .map_err(|e| refused(e, "the agent refused the deploy"))?;
        anyhow::Ok((done.context("the rollout ended without an outcome")?, info))
    })?;
    let (done, info) = done;
    Ok(report(app, &done, &info.proxy, args.json))
}

/// Removes the docker archive built for the deploy when the command ends.
struct TempArchive(Option<std::path::PathBuf>);

impl Drop for TempArchive {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The binary (process driver) or image (container driver) to deploy, and its version.
fn artifact(app: &App, args: &DeployArgs, driver: Driver) -> anyhow::Result<(Artifact, String)> {
    match driver {
        Driver::Process => {
            if args.image.is_some() {
                anyhow::bail!(
                    "`--image` needs the container driver (`--driver container` or `run.driver = \"container\"`); the process driver runs a binary (`--binary FILE`, or let hoist build it)"
                );
            }
            if let Some(path) = &args.binary {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                if !path.is_file() {
                    anyhow::bail!("the binary `{}` does not exist", path.display());
                }
                let version = hoist_gobuild::GitFacts::read(&args.dir)
                    .map_or_else(|| "dev".to_owned(), |f| f.describe);
                return Ok((Artifact::Binary { path }, version));
            }
            let (path, version) = super::super::build::host_binary(app, &args.dir)?;
            Ok((Artifact::Binary { path }, version))
        }
        Driver::Container => {
            if args.binary.is_some() {
                anyhow::bail!(
                    "`--binary` needs the process driver; the container driver runs an image (`--image REF`, or let hoist build it)"
                );
            }
            if let Some(reference) = &args.image {
                let version = hoist_gobuild::GitFacts::read(&args.dir)
                    .map_or_else(|| "dev".to_owned(), |f| f.describe);
                return Ok((
                    Artifact::Image {
                        archive: None,
                        reference: reference.clone(),
                    },
                    version,
                ));
            }
            let dir = super::dir_of(&args.agent)?.join("images");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let archive = dir.join(format!("{}-{}.tar", app.app.name, std::process::id()));
            let (reference, version) =
                super::super::build::host_archive(app, &args.dir, &args.registry, &archive)?;
            Ok((
                Artifact::Image {
                    archive: Some(archive),
                    reference,
                },
                version,
            ))
        }
    }
}

/// An agent refusal (or an unreachable agent) as an error whose hint is the agent's.
pub(super) fn refused(e: hoist_runtime::client::ClientError, context: &str) -> anyhow::Error {
    match e {
        hoist_runtime::client::ClientError::Refused { body, .. } => {
            anyhow::Error::new(super::AgentRefused {
                error: body.error,
                hint: body.hint,
            })
            .context(context.to_owned())
        }
        other => anyhow::Error::new(other).context(context.to_owned()),
    }
}

fn report(app: &App, done: &Done, proxy: &str, json: bool) -> ExitCode {
    let outcome = match done.outcome {
        hoist_runtime::api::Outcome::Deployed => Outcome::Deployed,
        hoist_runtime::api::Outcome::RolledBack => Outcome::RolledBack,
        hoist_runtime::api::Outcome::Failed => Outcome::Failed,
    };
    let (host, path) = app
        .run
        .ingress
        .as_ref()
        .map_or((None, "/"), |i| (i.host.as_deref(), i.path.as_str()));
    let url = format!("http://{proxy}{path}");
    match outcome {
        Outcome::Deployed => eprintln!(
            "deployed `{}` revision {} in {:.1}s: {url}{}",
            app.app.name,
            done.revision,
            done.seconds,
            host.map_or_else(String::new, |h| format!(" (Host: {h})"))
        ),
        Outcome::RolledBack => eprintln!(
            "revision {} of `{}` failed and was rolled back; revision {} serves\nreason: {}",
            done.revision,
            app.app.name,
            done.serving
                .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            done.reason.as_deref().unwrap_or("unknown")
        ),
        Outcome::Failed => eprintln!(
            "revision {} of `{}` failed{}\nreason: {}",
            done.revision,
            app.app.name,
            done.serving.map_or_else(
                || ", and nothing serves".to_owned(),
                |s| format!("; revision {s} serves")
            ),
            done.reason.as_deref().unwrap_or("unknown")
        ),
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "outcome": outcome,
                "revision": done.revision,
                "serving": done.serving,
                "reason": done.reason,
                "seconds": done.seconds,
                "url": url,
            })
        );
    } else if outcome == Outcome::Deployed {
        println!("{url}");
    }
    outcome.exit_code()
}
