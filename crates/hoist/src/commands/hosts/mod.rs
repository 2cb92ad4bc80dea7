//! The hosts target: `hoist hosts check` and `hoist hosts setup`, and `hoist deploy --target
//! hosts` ([`deploy`]). The `[hosts]` of hoist.toml (or `--host`), reached with the user's own
//! ssh, every host at once. A report line per host on stderr (or a JSON array on stdout with
//! `--json`); exit 1 when any host fails.

mod deploy;
mod kept;
mod show;

pub use deploy::deploy;
pub use show::{history, intervene, logs, rollback, status, stop};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use console::style;
use hoist_hosts::{Binary, HostError, HostReport, Setup, SshOptions};

use crate::cli::{HostsArgs, HostsCommand};
use crate::commands::outcome;

/// Runs `hoist hosts …`.
pub fn run(cmd: &HostsCommand) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cmd {
        HostsCommand::Check(a) => {
            let (targets, opts) = resolve_args(a)?;
            let reports = rt.block_on(hoist_hosts::check_all(&targets, &opts));
            Ok(report_checks(&reports, a.json))
        }
        HostsCommand::Setup(a) => {
            let app = super::load_app(&a.dir, a.environment.as_deref())?;
            let public = public(app.hosts.as_ref(), &a.dir)?;
            let (targets, opts) = resolve(app.hosts, &a.hosts, a.ssh_config.clone(), a.timeout)?;
            let exe = this_binary()?;
            let results = rt.block_on(hoist_hosts::setup_all(
                &targets,
                &opts,
                &install(&exe, public),
            ));
            Ok(report_setups(&results, a.json))
        }
    }
}

/// This hoist binary, which setup copies to hosts.
fn this_binary() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find this hoist binary to copy")
}

/// What setup installs: `exe` at this version (and, for hosts of another platform, the builds
/// of this version for them: `hoist-linux-arm64` in the directory HOIST_BINARIES names, else
/// beside `exe`), its agent started as `public` says.
fn install(exe: &std::path::Path, public: hoist_hosts::Public) -> hoist_hosts::Install {
    let version = env!("CARGO_PKG_VERSION");
    let searched: Vec<PathBuf> = crate::env_vars::get(crate::env_vars::HOIST_BINARIES)
        .map(PathBuf::from)
        .into_iter()
        .chain(exe.parent().map(std::path::Path::to_owned))
        .collect();
    let (local_os, local_arch) = hoist_hosts::local_platform();
    let others = hoist_hosts::HOST_PLATFORMS
        .iter()
        .filter(|(os, arch)| (*os, *arch) != (local_os.as_str(), local_arch.as_str()))
        .filter_map(|(os, arch)| {
            let name = hoist_hosts::foreign_name(os, arch);
            let path = searched
                .iter()
                .map(|d| d.join(&name))
                .find(|p| p.is_file())?;
            Some(Binary::foreign(path, version, os, arch))
        })
        .collect();
    hoist_hosts::Install {
        bin: Binary::new(exe, version),
        others,
        searched,
        public,
    }
}

/// The public side of `[hosts]`, its files relative to `dir` (hoist.toml's), checked to be
/// readable here before any host is touched.
fn public(
    hosts: Option<&hoist_core::Hosts>,
    dir: &std::path::Path,
) -> anyhow::Result<hoist_hosts::Public> {
    let public = hoist_hosts::Public {
        spec: hosts.map(|h| h.public.clone()).unwrap_or_default(),
        base: dir.to_owned(),
        engine: hosts.and_then(|h| h.engine.clone()),
    };
    public.check().map_err(|e| {
        anyhow::anyhow!(
            "{}; nothing was changed on the hosts",
            deploy::report_chain(&e)
        )
    })?;
    Ok(public)
}

/// [`resolve`] for `hoist hosts …`.
fn resolve_args(a: &HostsArgs) -> anyhow::Result<(Vec<String>, SshOptions)> {
    let app = super::load_app(&a.dir, a.environment.as_deref())?;
    resolve(app.hosts, &a.hosts, a.ssh_config.clone(), a.timeout)
}

/// The targets (`--host`, else `hosts.targets`) and the ssh options from `[hosts]` and flags.
fn resolve(
    hosts: Option<hoist_core::Hosts>,
    wanted: &[String],
    ssh_config: Option<PathBuf>,
    timeout: std::time::Duration,
) -> anyhow::Result<(Vec<String>, SshOptions)> {
    let hosts = hosts.unwrap_or(hoist_core::Hosts {
        targets: Vec::new(),
        user: None,
        port: None,
        identity: None,
        parallel: hoist_core::IntOrPercent::Int(1),
        public: hoist_core::HostsPublic::default(),
        engine: None,
    });
    let targets = if wanted.is_empty() {
        hosts.targets.clone()
    } else {
        for h in wanted {
            hoist_core::SshTarget::parse(h).map_err(|e| anyhow::anyhow!("--host {h}: {e}"))?;
        }
        wanted.to_vec()
    };
    if targets.is_empty() {
        anyhow::bail!(
            "no hosts: add `[hosts] targets = [\"deploy@10.0.0.5\"]` to hoist.toml (or `[environments.NAME.hosts]`), or give `--host`"
        );
    }
    let home = dirs::home_dir();
    let opts = SshOptions {
        program: crate::env_vars::get(crate::env_vars::HOIST_SSH)
            .map_or_else(|| PathBuf::from("ssh"), PathBuf::from),
        config: ssh_config,
        user: hosts.user,
        port: hosts.port,
        identity: hosts
            .identity
            .map(|i| hoist_hosts::expand_home(&i, home.as_deref())),
        timeout,
    };
    Ok((targets, opts))
}

fn report_checks(reports: &[HostReport], json: bool) -> ExitCode {
    if json {
        let all: Vec<_> = reports.iter().map(HostReport::json).collect();
        println!("{}", serde_json::to_string_pretty(&all).expect("JSON"));
    }
    for r in reports {
        match &r.result {
            Ok(f) => {
                let hoist = f.hoist_version.as_deref().map_or_else(
                    || "hoist not set up (`hoist hosts setup`)".to_owned(),
                    |v| {
                        format!(
                            "hoist {v}, agent {}",
                            if f.agent_up { "up" } else { "down" }
                        )
                    },
                );
                let mark = if r.passed() {
                    style("ok").green()
                } else {
                    style("FAIL").red()
                };
                eprintln!(
                    "{mark} {}: {}/{}, {hoist}, {} free",
                    r.host,
                    f.os,
                    f.arch,
                    f.disk_free_bytes
                        .map_or_else(|| "?".to_owned(), human_bytes)
                );
            }
            Err(e) => print_host_error(&r.host, e),
        }
    }
    exit(reports.iter().all(HostReport::passed))
}

fn report_setups(results: &[(String, Result<Setup, HostError>)], json: bool) -> ExitCode {
    if json {
        let all: Vec<serde_json::Value> = results
            .iter()
            .map(|(host, r)| match r {
                Ok(s) => serde_json::json!({ "host": host, "ok": true, "setup": s }),
                Err(e) => serde_json::json!({
                    "host": host, "ok": false, "error_kind": e.kind(),
                    "error": e.to_string(), "hint": e.hint(),
                }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&all).expect("JSON"));
    }
    for (host, r) in results {
        match r {
            Ok(s) => {
                let copied = if s.copied_bytes == 0 {
                    "already there, nothing copied".to_owned()
                } else {
                    format!("copied {} (sha256 verified)", human_bytes(s.copied_bytes))
                };
                let agent = match s.agent {
                    hoist_hosts::AgentStart::AlreadyRunning => "agent already up",
                    hoist_hosts::AgentStart::SystemdUser => "agent started (systemd user unit)",
                    hoist_hosts::AgentStart::Detached => "agent started (detached, pidfile)",
                };
                eprintln!(
                    "{} {host}: {}: {copied}; {agent}",
                    style("ok").green(),
                    s.path
                );
            }
            Err(e) => print_host_error(host, e),
        }
    }
    exit(results.iter().all(|(_, r)| r.is_ok()))
}

pub(super) fn print_host_error(host: &str, e: &HostError) {
    eprintln!("{} {host}: {e}", style("FAIL").red());
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        eprintln!("    caused by: {s}");
        source = s.source();
    }
    if let Some(h) = e.hint() {
        eprintln!("    {} {h}", style("hint:").cyan().bold());
    }
}

fn exit(all_ok: bool) -> ExitCode {
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(outcome::ERROR)
    }
}

pub(super) fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}
