//! `hoist deploy` to this machine: build the binary for this platform (unless given), start
//! the agent if needed, hand it the revision and follow the rollout to its outcome.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_core::{App, Driver};
use hoist_runtime::api::{AppSpec, Artifact, Done, Event};

use super::super::outcome::{Outcome, exit_code};
use crate::cli::{DeployArgs, DriverArg};

/// Deploys and waits; the exit status is the outcome's (0 deployed, 3 rolled back, 4 failed).
pub fn deploy(project: &hoist_pipeline::Project, args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let app = &project.app;
    let dir = super::dir_of(&args.agent)?;
    let mut run = app.run.clone();
    if let Some(d) = args.driver {
        run.driver = match d {
            DriverArg::Process => Driver::Process,
            DriverArg::Container => Driver::Container,
        };
    }
    let (artifact, version) = artifact(project, args, run.driver)?;
    let spec = AppSpec {
        name: app.app.name.clone(),
        version,
        port: app.app.port,
        args: app.app.args.clone(),
        run,
        artifact,
    };
    // The agent has loaded the archive into the engine once it answers; it is not needed after.
    // (Only the one built here: a `--image docker-archive:FILE` is the user's.)
    let _archive = TempArchive(match &spec.artifact {
        Artifact::Image { archive, .. } if args.image.is_none() => archive.clone(),
        _ => None,
    });
    let rt = super::runtime()?;
    // Set once the agent has taken the deploy: from then on, the rollout is the agent's.
    let taken = std::sync::atomic::AtomicBool::new(false);
    let follow = async {
        let (client, info) = super::connect::ensure(&dir).await?;
        let done = roll_out(&client, &spec, &taken, |message| eprintln!("  {message}")).await?;
        anyhow::Ok((done, info))
    };
    let done = rt.block_on(async {
        tokio::select! {
            done = follow => done.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })?;
    let Some((done, info)) = done else {
        interrupted(&spec.name, taken.load(std::sync::atomic::Ordering::Relaxed));
        return Ok(ExitCode::from(super::super::outcome::INTERRUPTED));
    };
    Ok(report(app, &done, &info.proxy, args.json))
}

/// Hands `spec` to the agent and follows the rollout to its outcome, passing each progress
/// message on; `taken` is set once the agent has the deploy (from then on the rollout is its).
pub(crate) async fn roll_out(
    client: &hoist_runtime::client::AgentClient,
    spec: &AppSpec,
    taken: &std::sync::atomic::AtomicBool,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Done> {
    let mut done: Option<Done> = None;
    client
        .post_events(&format!("/v1/apps/{}/deploy", spec.name), spec, |ev| {
            taken.store(true, std::sync::atomic::Ordering::Relaxed);
            match ev {
                Event::Progress { message, .. } => progress(&message),
                Event::Done(d) => done = Some(d),
            }
        })
        .await
        .map_err(|e| refused(e, "the agent refused the deploy"))?;
    done.context("the rollout ended without an outcome")
}

/// What Ctrl-C during a deploy left behind: the agent goes on with a rollout it has taken.
fn interrupted(app: &str, taken: bool) {
    if taken {
        eprintln!(
            "interrupted: the rollout of `{app}` goes on in the agent (it rolls back by itself if the new revision fails); follow it with `hoist status {app}`, undo it with `hoist rollback {app}` once it ends"
        );
    } else {
        eprintln!("interrupted before the agent took the deploy: nothing changed");
    }
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
fn artifact(
    project: &hoist_pipeline::Project,
    args: &DeployArgs,
    driver: Driver,
) -> anyhow::Result<(Artifact, String)> {
    let (app, project_dir) = (&project.app, project.dir.as_path());
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
                let version = hoist_gobuild::GitFacts::read(project_dir)
                    .map_or_else(|| "dev".to_owned(), |f| f.describe);
                return Ok((Artifact::Binary { path }, version));
            }
            let (path, version) =
                super::super::build::host_binary(project, &hoist_core::Platform::host())?;
            Ok((Artifact::Binary { path }, version))
        }
        Driver::Container => {
            if args.binary.is_some() {
                anyhow::bail!(
                    "`--binary` needs the process driver; the container driver runs an image (`--image REF`, or let hoist build it)"
                );
            }
            if let Some(reference) = &args.image {
                let version = hoist_gobuild::GitFacts::read(project_dir)
                    .map_or_else(|| "dev".to_owned(), |f| f.describe);
                return Ok((prebuilt_image(reference)?, version));
            }
            let dir = super::dir_of(&args.agent)?.join("images");
            hoist_runtime::private::create_dir(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            let archive = dir.join(format!("{}-{}.tar", app.app.name, std::process::id()));
            let (reference, version) =
                super::super::build::host_archive(project, &args.registry, &archive)?;
            Ok((
                Artifact::Image {
                    archive: Some(archive),
                    reference,
                    id: None,
                    parts: None,
                },
                version,
            ))
        }
    }
}

/// `--image`: `docker-archive:FILE` (what `hoist build --output docker-archive:FILE` writes),
/// loaded into the engine, or a registry reference the engine pulls.
fn prebuilt_image(given: &str) -> anyhow::Result<Artifact> {
    if let Some(file) = given.strip_prefix("docker-archive:") {
        let path = std::path::absolute(file).unwrap_or_else(|_| file.into());
        if !path.is_file() {
            anyhow::bail!("the image archive `{}` does not exist", path.display());
        }
        return Ok(Artifact::Image {
            archive: Some(path),
            reference: given.to_owned(),
            id: None,
            parts: None,
        });
    }
    if given.starts_with("oci:") {
        anyhow::bail!(
            "`--image {given}`: engines load docker archives, not OCI layouts; write one with `hoist build --output docker-archive:FILE` and give `--image docker-archive:FILE`, or push the layout (`hoist push`) and give its reference"
        );
    }
    Ok(Artifact::Image {
        archive: None,
        reference: given.to_owned(),
        id: None,
        parts: None,
    })
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

/// The URL the app answers on through the proxy at `proxy` (`127.0.0.1:8080`), and what else a
/// request needs: a `*.localhost` host resolves to this machine by itself (in curl and
/// browsers), any other host must be sent as the `Host` header.
pub(crate) fn url(proxy: &str, host: Option<&str>, path: &str) -> (String, String) {
    let port = proxy.rsplit_once(':').map_or("80", |(_, p)| p);
    match host {
        None => (format!("http://{proxy}{path}"), String::new()),
        Some(h) if h == "localhost" || h.ends_with(".localhost") => {
            (format!("http://{h}:{port}{path}"), String::new())
        }
        Some(h) => {
            let url = format!("http://{proxy}{path}");
            let how = format!(
                " with the header `Host: {h}` (`curl -H 'Host: {h}' {url}`; a browser needs `{h}` to resolve to this machine)"
            );
            (url, how)
        }
    }
}

fn report(app: &App, done: &Done, proxy: &str, json: bool) -> ExitCode {
    let outcome = done.outcome;
    let (host, path) = app
        .run
        .ingress
        .as_ref()
        .map_or((None, "/"), |i| (i.host.as_deref(), i.path.as_str()));
    let (url, how) = url(proxy, host, path);
    match outcome {
        Outcome::Deployed => eprintln!(
            "deployed `{}` revision {} in {:.1}s{}: {url}{how}",
            app.app.name,
            done.revision,
            done.seconds,
            done.unserved_seconds.map_or_else(String::new, |g| format!(
                " (no replica was ready for {g:.2}s while the old one made way; requests waited)"
            )),
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
    if outcome != Outcome::Deployed {
        for report in &done.replica_reports {
            eprintln!("{}", super::show::indent(&report.to_string(), "  "));
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "outcome": outcome,
                "revision": done.revision,
                "serving": done.serving,
                "reason": done.reason,
                "replica_reports": done.replica_reports,
                "unserved_seconds": done.unserved_seconds,
                "seconds": done.seconds,
                "url": url,
                "host": host,
            })
        );
    } else if outcome == Outcome::Deployed {
        println!("{url}");
    }
    exit_code(outcome)
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn a_url_that_answers() {
        let proxy = "127.0.0.1:8080";
        assert_eq!(url(proxy, None, "/").0, "http://127.0.0.1:8080/");
        assert_eq!(
            url(proxy, Some("a.localhost"), "/api").0,
            "http://a.localhost:8080/api"
        );
        let (u, how) = url(proxy, Some("shop.example.com"), "/");
        assert_eq!(u, "http://127.0.0.1:8080/");
        assert!(
            how.contains("curl -H 'Host: shop.example.com' http://127.0.0.1:8080/"),
            "{how}"
        );
    }
}
