//! The checks of `hoist doctor`, one function each, in the order a deploy meets them: the
//! project's hoist.toml, Go, the container engine, the registry, Kubernetes, the local agent
//! and its ports, and the directories hoist writes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use hoist_core::{App, Driver};

use super::{Check, Status};
use crate::cli::DoctorArgs;
use crate::env_vars;

/// How long one network check may take: a firewall that drops packets must not hang doctor.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(10);

/// Every check, in order.
pub(super) fn all(args: &DoctorArgs) -> anyhow::Result<Vec<Check>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (config, app) = config(args);
    let mut checks = vec![config, go(&args.dir)];
    checks.push(runtime.block_on(engine(app.as_ref())));
    checks.push(registry(args, app.as_ref()));
    checks.extend(runtime.block_on(kubernetes(args, app.as_ref())));
    let state = crate::commands::local::connect::state_dir(args.conn.state_dir.as_deref())?;
    checks.push(runtime.block_on(agent(&state)));
    checks.push(directory(
        "state",
        &state,
        "HOIST_STATE_DIR (or `--state-dir`)",
    ));
    if let Some(cache) = cache_dir() {
        checks.push(directory("cache", &cache, "HOIST_CACHE_DIR"));
    }
    Ok(checks)
}

/// hoist.toml in DIR or above: valid (with the overlay of `--env`), absent (commands infer
/// their defaults), or invalid (the error, with its file:line:column).
fn config(args: &DoctorArgs) -> (Check, Option<App>) {
    let Some(path) = hoist_pipeline::project::find_config(&args.dir) else {
        let check = Check::new(
            "config",
            Status::Skip,
            format!(
                "no hoist.toml in `{}` or above: commands infer the defaults (`hoist init` writes them down)",
                args.dir.display()
            ),
        );
        return (check, None);
    };
    match super::super::load_app(&args.dir, args.environment.as_deref()) {
        Ok(app) => {
            let env = args
                .environment
                .as_deref()
                .map_or_else(String::new, |e| format!(" with environment `{e}`"));
            let check = Check::new(
                "config",
                Status::Ok,
                format!("{}{env}: app `{}`", path.display(), app.app.name),
            );
            (check, Some(app))
        }
        Err(e) => {
            let check = Check::new("config", Status::Fail, one_line(&e))
                .fix("correct the file; `hoist config` prints what hoist reads");
            (check, None)
        }
    }
}

/// `go version` on PATH, and whether it is as new as go.mod's `go` line asks.
fn go(dir: &Path) -> Check {
    let Some(path) = on_path("go") else {
        return Check::new("go", Status::Fail, "`go` is not on PATH").fix(
            "install Go (https://go.dev/doc/install, or `apt-get install golang-go`) and put its bin directory on PATH",
        );
    };
    let out = Command::new(&path)
        .arg("version")
        .stdin(Stdio::null())
        .output();
    let version = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => {
            return Check::new(
                "go",
                Status::Fail,
                format!(
                    "`{} version` failed: {}",
                    path.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                ),
            )
            .fix("repair the Go installation (`go version` must work in this shell)");
        }
        Err(e) => {
            return Check::new(
                "go",
                Status::Fail,
                format!("cannot run `{}`: {e}", path.display()),
            )
            .fix("repair the Go installation (`go version` must work in this shell)");
        }
    };
    // `go version go1.26.0 linux/amd64` → `go1.26.0 linux/amd64`.
    let short = version.trim_start_matches("go version ").to_owned();
    let detail = format!("{short} ({})", path.display());
    let installed = short.split_whitespace().next().and_then(go_version);
    match (installed, go_mod_wants(dir)) {
        (Some(have), Some((wants, text))) if have < wants => Check::new(
            "go",
            Status::Warn,
            format!("{detail}; go.mod asks for go {text} or newer"),
        )
        .fix("install a newer Go, or let go fetch that toolchain (GOTOOLCHAIN=auto, through the module proxy)"),
        _ => Check::new("go", Status::Ok, detail),
    }
}

/// The container engine at `DOCKER_HOST` (else dockerd's socket): what the `container` driver
/// runs replicas in. Needed when `run.driver = "container"`.
async fn engine(app: Option<&App>) -> Check {
    let host = env_vars::get(env_vars::DOCKER_HOST);
    let shown = host
        .clone()
        .unwrap_or_else(|| hoist_runtime::driver::container::DEFAULT_HOST.to_owned());
    let needed = app.is_some_and(|a| a.run.driver == Driver::Container);
    let connected = tokio::time::timeout(
        NETWORK_TIMEOUT,
        hoist_runtime::driver::container::Engine::connect(host.as_deref()),
    )
    .await;
    let why = match connected {
        Ok(Ok(engine)) => {
            return Check::new(
                "engine",
                Status::Ok,
                format!("{} at {shown}", engine.describe()),
            );
        }
        Ok(Err(e)) => one_line(&anyhow::Error::new(e)),
        Err(_) => format!("no answer from {shown} in {}s", NETWORK_TIMEOUT.as_secs()),
    };
    let fix = "start dockerd (`dockerd`, or `systemctl start docker`) or podman's API service (`podman system service --time=0 unix:///run/user/$UID/podman/podman.sock`), and point DOCKER_HOST at its socket";
    if needed {
        Check::new(
            "engine",
            Status::Fail,
            format!("`run.driver = \"container\"` needs an engine: {why}"),
        )
        .fix(fix)
    } else {
        Check::new(
            "engine",
            Status::Warn,
            format!("{why} (needed only for `run.driver = \"container\"`)"),
        )
        .fix(fix)
    }
}

/// The push target's registry answers and takes the credentials hoist would send (from
/// HOIST_REGISTRY_USERNAME/PASSWORD, docker's or podman's auth files).
fn registry(args: &DoctorArgs, app: Option<&App>) -> Check {
    let repository = env_vars::get(env_vars::HOIST_IMAGE_REPOSITORY)
        .or_else(|| app.and_then(|a| a.image.repository.clone()));
    let Some(repository) = repository else {
        return Check::new(
            "registry",
            Status::Skip,
            "no `image.repository` (needed by `hoist build --push` and Kubernetes deploys)",
        );
    };
    let checked = hoist_registry::Repository::parse(&repository)
        .map_err(anyhow::Error::from)
        .and_then(|r| {
            let client = crate::commands::registry::client(&args.registry, &r.registry)?;
            client
                .check_login(&r.registry)
                .map_err(|e| anyhow::Error::new(e).context(format!("`{}`", r.registry)))?;
            Ok(r)
        });
    match checked {
        Ok(r) => Check::new(
            "registry",
            Status::Ok,
            format!(
                "{} answers and accepts hoist's credentials (push to {r})",
                r.registry
            ),
        ),
        Err(e) => {
            let fix = crate::report::hint(&e).unwrap_or_else(|| {
                "check the address in `image.repository`; `hoist login HOST` stores credentials"
                    .to_owned()
            });
            Check::new("registry", Status::Fail, one_line(&e)).fix(fix)
        }
    }
}

/// Each context a Kubernetes deploy would use answers, and RBAC lets this user apply what a
/// deploy applies. Failures fail only a project with `[kubernetes]`; otherwise they warn.
async fn kubernetes(args: &DoctorArgs, app: Option<&App>) -> Vec<Check> {
    let targets_kube = app.is_some_and(|a| a.kubernetes.is_some());
    let paths = crate::commands::kube::kubeconfig_paths(args.kube.kubeconfig.as_ref());
    if !targets_kube && !paths.iter().any(|p| p.is_file()) {
        return vec![Check::new(
            "kubernetes",
            Status::Skip,
            "no kubeconfig (needed only for `--target kubernetes`)",
        )];
    }
    let bad = if targets_kube {
        Status::Fail
    } else {
        Status::Warn
    };
    let configs = match hoist_kube::Kubeconfigs::load(&paths) {
        Ok(c) => c,
        Err(e) => return vec![kube_failure(bad, &anyhow::Error::new(e))],
    };
    let settings = app.and_then(|a| a.kubernetes.as_ref());
    let mut contexts = args.kube.contexts.clone();
    if contexts.is_empty() {
        contexts = settings.map(|k| k.contexts.clone()).unwrap_or_default();
    }
    if contexts.is_empty() {
        match configs.current_or_err() {
            Ok(c) => contexts.push(c),
            Err(e) => return vec![kube_failure(bad, &anyhow::Error::new(e))],
        }
    }
    let namespace = args
        .kube
        .namespace
        .clone()
        .or_else(|| settings.and_then(|k| k.namespace.clone()));
    let mut out = Vec::new();
    for context in contexts {
        let checked = async {
            let cluster = configs.cluster(&context).await?;
            let ns = namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace().to_owned());
            let access = cluster.access(&ns).await?;
            Ok::<_, hoist_kube::KubeError>((cluster.server().to_owned(), ns, access))
        };
        let check = match tokio::time::timeout(NETWORK_TIMEOUT, checked).await {
            Ok(Ok((server, ns, access))) if access.denied.is_empty() => Check::new(
                "kubernetes",
                Status::Ok,
                format!(
                    "context `{context}`: {server} ({}) lets this user deploy to namespace `{ns}`",
                    access.version
                ),
            ),
            Ok(Ok((server, ns, access))) => Check::new(
                "kubernetes",
                bad,
                format!(
                    "context `{context}`: {server} answers, but RBAC refuses {} in namespace `{ns}`",
                    access.denied.join(", ")
                ),
            )
            .fix("ask the cluster's admin for a Role allowing it (`kubectl auth can-i --list -n NS` shows what you may do)"),
            Ok(Err(e)) => kube_failure(bad, &anyhow::Error::new(e)),
            Err(_) => Check::new(
                "kubernetes",
                bad,
                format!(
                    "context `{context}`: no answer in {}s",
                    NETWORK_TIMEOUT.as_secs()
                ),
            )
            .fix("check the network path to the API server (VPN, firewall) and the kubeconfig's `server`"),
        };
        out.push(check);
    }
    out
}

fn kube_failure(status: Status, e: &anyhow::Error) -> Check {
    let check = Check::new("kubernetes", status, one_line(e));
    match crate::report::hint(e) {
        Some(fix) => check.fix(fix),
        None => check,
    }
}

/// The local agent: running (and the same version as this hoist), or not running with its
/// proxy and admin ports free for it.
async fn agent(state: &Path) -> Check {
    let ours = env!("CARGO_PKG_VERSION");
    if let Ok((_, info)) = crate::commands::local::connect::running(state).await {
        let detail = format!(
            "running (pid {}, hoist {}): proxy on {}, admin on {}",
            info.pid, info.version, info.proxy, info.admin
        );
        return if info.version == ours {
            Check::new("agent", Status::Ok, detail)
        } else {
            Check::new(
                "agent",
                Status::Warn,
                format!("{detail}; this hoist is {ours}"),
            )
            .fix("`hoist agent --stop`; the next `hoist deploy` starts this version's agent")
        };
    }
    let proxy =
        env_vars::get(env_vars::HOIST_PROXY_ADDR).unwrap_or_else(|| "127.0.0.1:8080".into());
    let admin =
        env_vars::get(env_vars::HOIST_ADMIN_ADDR).unwrap_or_else(|| "127.0.0.1:9180".into());
    let taken: Vec<String> = [
        ("proxy", &proxy, "HOIST_PROXY_ADDR"),
        ("admin", &admin, "HOIST_ADMIN_ADDR"),
    ]
    .into_iter()
    .filter_map(|(what, addr, var)| {
        TcpListener::bind(addr.as_str())
            .err()
            .map(|e| format!("its {what} address {addr} is taken ({e}; {var} moves it)"))
    })
    .collect();
    if taken.is_empty() {
        Check::new(
            "agent",
            Status::Ok,
            format!(
                "not running; `hoist deploy` starts it, and its ports are free (proxy {proxy}, admin {admin})"
            ),
        )
    } else {
        Check::new("agent", Status::Fail, format!("not running, and {}", taken.join("; ")))
            .fix("stop what listens there (`ss -ltnp` shows which program), or set the variable named to a free address")
    }
}

/// `dir` exists and is private, or can be created; hoist can write a file there.
fn directory(name: &'static str, dir: &Path, setting: &str) -> Check {
    use std::os::unix::fs::PermissionsExt as _;
    let fix = format!("set {setting} to a directory you can write");
    if !dir.exists() {
        let parent = dir.ancestors().skip(1).find(|a| a.exists());
        return match parent {
            Some(p) if p.is_dir() && writable(p) => Check::new(
                name,
                Status::Ok,
                format!("{} (created when first needed)", dir.display()),
            ),
            Some(p) => Check::new(
                name,
                Status::Fail,
                format!(
                    "{} cannot be created: `{}` is not a writable directory",
                    dir.display(),
                    p.display()
                ),
            )
            .fix(fix),
            None => Check::new(
                name,
                Status::Fail,
                format!("{} cannot be created", dir.display()),
            )
            .fix(fix),
        };
    }
    if !dir.is_dir() {
        return Check::new(
            name,
            Status::Fail,
            format!("{} is not a directory", dir.display()),
        )
        .fix(fix);
    }
    if !writable(dir) {
        return Check::new(
            name,
            Status::Fail,
            format!("{} is not writable", dir.display()),
        )
        .fix(fix);
    }
    let mode = std::fs::metadata(dir).map_or(0, |m| m.permissions().mode() & 0o777);
    if name == "state" && mode & 0o077 != 0 {
        return Check::new(
            name,
            Status::Warn,
            format!(
                "{} is readable by other users (mode {mode:o}); it holds run.env values",
                dir.display()
            ),
        )
        .fix(format!(
            "`chmod 700 {}` (the agent tightens it when it starts)",
            dir.display()
        ));
    }
    Check::new(
        name,
        Status::Ok,
        format!("{} (writable, mode {mode:o})", dir.display()),
    )
}

/// Whether a file can be created in `dir` (tried, not guessed from the mode bits: root, ACLs
/// and read-only mounts all decide).
fn writable(dir: &Path) -> bool {
    tempfile::Builder::new()
        .prefix(".hoist-doctor-")
        .tempfile_in(dir)
        .is_ok()
}

/// hoist's content store, as `hoist build` opens it.
fn cache_dir() -> Option<PathBuf> {
    env_vars::get(env_vars::HOIST_CACHE_DIR)
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("hoist")))
}

/// `name` in PATH's directories, as a shell finds it.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// `go1.26.0` → `[1, 26, 0]`; `go1.22rc1` → `[1, 22]`.
fn go_version(text: &str) -> Option<Vec<u64>> {
    let v = text.trim_start_matches("go");
    let parts: Vec<u64> = v
        .split('.')
        .map_while(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect();
    (!parts.is_empty()).then_some(parts)
}

/// The `go` line of the go.mod in `dir` or above: parsed, and as written.
fn go_mod_wants(dir: &Path) -> Option<(Vec<u64>, String)> {
    let abs = std::path::absolute(dir).ok()?;
    let wants = abs
        .ancestors()
        .find(|d| d.join("go.mod").is_file())
        .and_then(|d| hoist_gobuild::go_directive(&d.join("go.mod")))?;
    Some((go_version(&wants)?, wants))
}

/// An error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    hoist_core::error_line(e.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_versions_compare_by_number() {
        assert_eq!(go_version("go1.26.0"), Some(vec![1, 26, 0]));
        assert_eq!(go_version("1.22"), Some(vec![1, 22]));
        assert_eq!(go_version("go1.23rc1"), Some(vec![1, 23]));
        assert!(go_version("go1.9.0") < go_version("go1.22"));
        assert!(go_version("go1.22.0") >= go_version("1.22"));
        assert_eq!(go_version("devel"), None);
    }
}
