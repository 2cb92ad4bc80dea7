//! `hoist agent --supervise`: a small parent that owns the agent's listening sockets and
//! starts the agent again whenever it dies.
//!
//! Why a parent and not only a restart: the proxy's port must not close while the agent is
//! gone. The supervisor binds the proxy and admin addresses once and hands the sockets to each
//! agent it starts (fds 3 and 4, `LISTEN_FDS=2`, `LISTEN_FDNAMES=proxy:admin`: systemd's
//! socket-activation convention, so a systemd `.socket` unit works the same way). While an
//! agent is dead, connections queue in the kernel's backlog of the socket the supervisor still
//! holds, and the next agent accepts them: clients wait, they are not refused. The new agent
//! adopts the replicas that kept running (`hoist_runtime::agent` recovery).
//!
//! An agent that exits 0 was asked to stop (`hoist agent --stop`): the supervisor exits too.
//! One that keeps dying within a second of its start (its state directory is another agent's,
//! say) is given up on after a few tries, with its log. SIGTERM and SIGINT are passed on.

use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use command_fds::{CommandFdExt as _, FdMapping};

use crate::cli::AgentArgs;

/// The environment variable that tells an agent it runs under a supervisor (its value: the
/// supervisor's pid), for the log and `--stop`.
pub const SUPERVISOR_ENV: &str = "HOIST_AGENT_SUPERVISOR";

/// Starts within this long that end badly count as failing to start.
const QUICK: Duration = Duration::from_secs(1);
/// Quick failures in a row before giving up.
const GIVE_UP: u32 = 5;

/// Runs the supervisor until the agent is stopped (exit 0) or keeps failing to start.
pub fn run(args: &AgentArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let proxy = bind(&args.listen, "the proxy address")?;
    let admin = bind(&args.admin, "the admin address")?;
    let tls = args
        .tls_listen
        .as_deref()
        .map(|a| bind(a, "the HTTPS address"))
        .transpose()?;
    hoist_runtime::private::create_dir(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))?;
    hoist_runtime::private::write(
        &dir.join(PIDFILE),
        std::process::id().to_string().as_bytes(),
        hoist_runtime::private::FILE_MODE,
    )
    .with_context(|| format!("cannot write `{}`", dir.join(PIDFILE).display()))?;
    let exe = std::env::current_exe().context("cannot find the hoist binary to run the agent")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start an async runtime")?;
    let mut quick_failures = 0;
    let mut restarts = 0u32;
    loop {
        let child = spawn(&exe, args, dir, &proxy, &admin, tls.as_ref())?;
        let pid = child.id();
        let started = Instant::now();
        eprintln!(
            "hoist agent supervisor (pid {}): agent started (pid {pid}){}",
            std::process::id(),
            if restarts > 0 {
                format!(", restart {restarts}")
            } else {
                String::new()
            }
        );
        let status = rt.block_on(wait_passing_signals(child))?;
        match status {
            Waited::Stopped(s) if s.success() => return Ok(ExitCode::SUCCESS),
            Waited::Signalled => return Ok(ExitCode::SUCCESS),
            Waited::Stopped(s) => {
                eprintln!(
                    "hoist agent supervisor: the agent (pid {pid}) ended ({s}) after {:.1}s; starting it again",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        if started.elapsed() < QUICK {
            quick_failures += 1;
            if quick_failures >= GIVE_UP {
                anyhow::bail!(
                    "the agent failed {GIVE_UP} times within {}s of starting; not starting it again (its log: {})",
                    QUICK.as_secs(),
                    dir.join("agent.log").display()
                );
            }
            // A little back-off for a failing start; none after a crash of a running agent.
            std::thread::sleep(Duration::from_millis(100 << quick_failures));
        } else {
            quick_failures = 0;
        }
        restarts += 1;
    }
}

/// Binds `addr` with std (the supervisor's sockets are plain blocking fds it only holds).
fn bind(addr: &str, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).with_context(|| format!("cannot listen on {what} {addr}"))
}

/// Starts `hoist agent` with the two sockets as fds 3 and 4.
fn spawn(
    exe: &Path,
    args: &AgentArgs,
    dir: &Path,
    proxy: &TcpListener,
    admin: &TcpListener,
    tls: Option<&TcpListener>,
) -> anyhow::Result<std::process::Child> {
    let fd = |l: &TcpListener| -> anyhow::Result<OwnedFd> {
        Ok(l.try_clone()
            .context("cannot share a listening socket")?
            .into())
    };
    let mut cmd = Command::new(exe);
    cmd.arg("agent")
        .arg("--state-dir")
        .arg(dir)
        .arg("--listen")
        .arg(&args.listen)
        .arg("--admin")
        .arg(&args.admin);
    cmd.args(passed_args(args));
    let mut names = "proxy:admin".to_owned();
    let mut mappings = vec![
        FdMapping {
            parent_fd: fd(proxy)?,
            child_fd: 3,
        },
        FdMapping {
            parent_fd: fd(admin)?,
            child_fd: 4,
        },
    ];
    if let Some(tls) = tls {
        names.push_str(":tls");
        mappings.push(FdMapping {
            parent_fd: fd(tls)?,
            child_fd: 5,
        });
    }
    cmd.env("LISTEN_FDS", mappings.len().to_string())
        .env("LISTEN_FDNAMES", names)
        .env_remove("LISTEN_PID")
        .env(SUPERVISOR_ENV, std::process::id().to_string())
        .stdin(Stdio::null());
    cmd.fd_mappings(mappings)
        .map_err(|e| anyhow::anyhow!("cannot hand the sockets to the agent: {e}"))?;
    cmd.spawn().context("cannot start `hoist agent`")
}

/// The agent's engine, TLS and ACME arguments, passed on as given.
pub(crate) fn passed_args(args: &AgentArgs) -> Vec<std::ffi::OsString> {
    let mut out: Vec<std::ffi::OsString> = Vec::new();
    if let Some(engine) = &args.engine {
        out.extend(["--engine".into(), engine.into()]);
    }
    let Some(listen) = &args.tls_listen else {
        return out;
    };
    out.extend(["--tls-listen".into(), listen.into()]);
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        out.extend([
            "--tls-cert".into(),
            cert.into(),
            "--tls-key".into(),
            key.into(),
        ]);
    }
    for d in &args.acme_domain {
        out.extend(["--acme-domain".into(), d.into()]);
    }
    if !args.acme_domain.is_empty() {
        out.extend(["--acme-directory".into(), (&args.acme_directory).into()]);
        if let Some(e) = &args.acme_email {
            out.extend(["--acme-email".into(), e.into()]);
        }
        if let Some(ca) = &args.acme_ca {
            out.extend(["--acme-ca".into(), ca.into()]);
        }
    }
    if args.redirect_https {
        out.push("--redirect-https".into());
    }
    out
}

/// How a wait ended.
enum Waited {
    /// The agent exited by itself (or was killed).
    Stopped(std::process::ExitStatus),
    /// The supervisor was asked to stop: the agent was told too, and has ended.
    Signalled,
}

/// Waits for the agent; SIGTERM or SIGINT to the supervisor is passed on to it and ends the
/// supervision once the agent has drained and exited.
async fn wait_passing_signals(mut child: std::process::Child) -> anyhow::Result<Waited> {
    use tokio::signal::unix::{SignalKind, signal};
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let asked = tokio::select! {
        status = rx => return Ok(Waited::Stopped(status.context("the agent's waiter ended")??)),
        _ = term.recv() => nix::sys::signal::Signal::SIGTERM,
        _ = int.recv() => nix::sys::signal::Signal::SIGINT,
    };
    let _ = nix::sys::signal::kill(pid, asked);
    // The agent drains and stops its replicas; the waiter thread reaps it.
    while nix::sys::signal::kill(pid, None).is_ok() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Waited::Signalled)
}

/// The sockets a supervisor (or systemd) handed this process, named `proxy` and `admin` by
/// `LISTEN_FDNAMES`; `None` when none were. Call before any thread starts: it reads and
/// clears the `LISTEN_*` environment.
pub fn inherited() -> anyhow::Result<Option<hoist_runtime::agent::Inherited>> {
    if std::env::var_os("LISTEN_FDS").is_none() {
        return Ok(None);
    }
    let names: Vec<String> = std::env::var("LISTEN_FDNAMES")
        .unwrap_or_else(|_| "proxy:admin".to_owned())
        .split(':')
        .map(str::to_owned)
        .collect();
    let mut fds = listenfd::ListenFd::from_env();
    let mut take = |name: &str| -> anyhow::Result<std::sync::Arc<TcpListener>> {
        let idx = names.iter().position(|n| n == name).with_context(|| {
            format!(
                "LISTEN_FDNAMES ({}) names no `{name}` socket",
                names.join(":")
            )
        })?;
        let l = fds
            .take_tcp_listener(idx)
            .with_context(|| format!("the inherited `{name}` socket is not a TCP listener"))?
            .with_context(|| format!("no inherited `{name}` socket (LISTEN_FDS)"))?;
        Ok(std::sync::Arc::new(l))
    };
    let tls = if names.iter().any(|n| n == "tls") {
        Some(take("tls")?)
    } else {
        None
    };
    Ok(Some(hoist_runtime::agent::Inherited {
        proxy: take("proxy")?,
        admin: take("admin")?,
        tls,
    }))
}

/// The supervisor's pid file in the state directory, written by the supervisor itself.
pub const PIDFILE: &str = "supervisor.pid";

/// The supervisor of the agent of `dir` when one runs: the pid in its pid file, alive, and the
/// parent of the agent whose pid is `agent`.
fn supervisor_of(dir: &Path, agent: u32) -> Option<u32> {
    let supervisor: u32 = std::fs::read_to_string(dir.join(PIDFILE))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{agent}/stat")).ok()?;
    // `PID (COMM) STATE PPID …`: the fields after the command's closing parenthesis.
    let ppid: u32 = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    (ppid == supervisor).then_some(supervisor)
}

/// `hoist agent install`: this machine's agent supervised from now on — under systemd as a
/// user unit where a user manager runs (it also comes back after a reboot), else the
/// supervisor started in the background. An unsupervised agent that runs is replaced without
/// stopping its replicas: it is killed and the supervised agent adopts them.
pub fn install(args: &AgentArgs, dir: &Path) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start an async runtime")?;
    let running = rt
        .block_on(super::local::connect::running(dir))
        .ok()
        .map(|(_, info)| info.pid);
    if let Some(agent) = running
        && let Some(sup) = supervisor_of(dir, agent)
    {
        eprintln!(
            "the agent (pid {agent}) already runs under its supervisor (pid {sup}): nothing to do"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().context("cannot find the hoist binary")?;
    // A user manager that answers (not only a systemctl binary).
    let systemd = Command::new("systemctl")
        .args(["--user", "show-environment"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if let Some(agent) = running {
        // Its replicas keep running and are adopted; only its own connections are cut.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(agent).unwrap_or(i32::MAX)),
            nix::sys::signal::Signal::SIGKILL,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !hoist_runtime::driver::procfs::exited(agent) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("replacing the running agent (pid {agent}); its replicas keep running");
    }
    let unit = if systemd {
        systemd_unit(&exe, args, dir)
            .inspect_err(|e| {
                eprintln!("warning: {e:#}; running the supervisor in the background instead");
            })
            .ok()
    } else {
        None
    };
    let how = if let Some(path) = unit {
        format!("as the systemd user unit {}", path.display())
    } else {
        let log_path = dir.join("agent.log");
        hoist_runtime::private::create_dir(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let log = hoist_runtime::private::append(&log_path)
            .with_context(|| format!("cannot open `{}`", log_path.display()))?;
        let child = Command::new(&exe)
            .arg("agent")
            .arg("--supervise")
            .arg("--state-dir")
            .arg(dir)
            .arg("--listen")
            .arg(&args.listen)
            .arg("--admin")
            .arg(&args.admin)
            .args(passed_args(args))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .context("cannot start the supervisor")?;
        format!(
            "supervised in the background (pid {}; no systemd user manager here, so it does not come back after a reboot: run `hoist agent install` at boot)",
            child.id()
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let info = loop {
        if let Ok((_, info)) = rt.block_on(super::local::connect::running(dir))
            && Some(info.pid) != running
        {
            break info;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the supervised agent did not answer within 20s; see `{}`",
            dir.join("agent.log").display()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("the agent runs (pid {}), {how}", info.pid);
    Ok(ExitCode::SUCCESS)
}

/// Writes, enables and starts `hoist-agent.service` for the user's systemd; returns its path.
fn systemd_unit(exe: &Path, args: &AgentArgs, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let unit_dir = dirs::config_dir()
        .context("no configuration directory for the systemd user unit")?
        .join("systemd/user");
    std::fs::create_dir_all(&unit_dir)
        .with_context(|| format!("cannot create `{}`", unit_dir.display()))?;
    let unit = format!(
        "[Unit]\nDescription=hoist agent\n\n[Service]\nExecStart={} agent --supervise --state-dir {} --listen {} --admin {}{}\nRestart=always\n\n[Install]\nWantedBy=default.target\n",
        exe.display(),
        dir.display(),
        args.listen,
        args.admin,
        passed_args(args).iter().fold(String::new(), |mut line, a| {
            // Literal for systemd, which would expand `$HOME` and `%h` itself (`--engine
            // unix://$HOME/…` is the agent's to expand).
            line.push(' ');
            line.push_str(&a.to_string_lossy().replace('$', "$$").replace('%', "%%"));
            line
        })
    );
    let path = unit_dir.join("hoist-agent.service");
    std::fs::write(&path, unit).with_context(|| format!("cannot write `{}`", path.display()))?;
    for step in [
        &["--user", "daemon-reload"][..],
        &["--user", "enable", "--now", "hoist-agent.service"],
    ] {
        let ok = Command::new("systemctl")
            .args(step)
            .status()
            .is_ok_and(|s| s.success());
        anyhow::ensure!(ok, "`systemctl {}` failed", step.join(" "));
    }
    Ok(path)
}
