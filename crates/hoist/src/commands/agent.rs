//! `hoist agent`: the local runtime in the foreground, or `--stop` to stop the running one.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_runtime::agent::{AgentConfig, AgentError, LogLimits};
use hoist_runtime::api::AgentInfo;
use hoist_runtime::backoff::BackoffPolicy;

use crate::cli::AgentArgs;

/// Runs (or stops) the agent.
pub fn run(args: &AgentArgs) -> anyhow::Result<ExitCode> {
    let dir = super::local::state_dir(args.conn.state_dir.as_deref())?;
    if !args.has.is_empty() {
        return missing(&dir, &args.has);
    }
    if let [digest, name] = args.receive.as_slice() {
        return receive(&dir, digest, name, args.base.as_deref());
    }
    if args.supervise {
        return super::supervise::run(args, &dir);
    }
    if args.action == Some(crate::cli::AgentAction::Install) {
        return super::supervise::install(args, &dir);
    }
    // Before any thread: it reads (and clears) the LISTEN_* environment.
    let inherited = if args.stop || args.ping {
        None
    } else {
        super::supervise::inherited()?
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    if args.stop {
        return rt.block_on(stop(&dir));
    }
    if args.ping {
        return rt.block_on(ping(&dir));
    }
    let config = AgentConfig {
        state_dir: dir,
        proxy: args.listen.clone(),
        admin: args.admin.clone(),
        backoff: BackoffPolicy::default(),
        logs: LogLimits::default(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        engine_host: match &args.engine {
            Some(e) => Some(expand_engine(e)?),
            None => crate::env_vars::get(crate::env_vars::DOCKER_HOST),
        },
        inherited,
        tls: tls_options(args)?,
    };
    rt.block_on(hoist_runtime::agent::run(config, |c| {
        eprintln!(
            "hoist agent: proxy on http://{}, metrics on http://{}/metrics, state in {}",
            c.proxy,
            c.admin,
            c.state_dir.display()
        );
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// `--engine` with a leading `$HOME` or `$XDG_RUNTIME_DIR` (also `${…}`) replaced by this
/// process's own: the same address names each host user's rootless engine.
fn expand_engine(address: &str) -> anyhow::Result<String> {
    let Some((scheme, path)) = address.split_once("://") else {
        return Ok(address.to_owned());
    };
    for name in ["HOME", "XDG_RUNTIME_DIR"] {
        for written in [format!("${name}/"), format!("${{{name}}}/")] {
            if let Some(rest) = path.strip_prefix(&written) {
                let value = std::env::var(name).map_err(|_| {
                    anyhow::anyhow!("--engine {address}: ${name} is not set for the agent")
                })?;
                return Ok(format!("{scheme}://{}/{rest}", value.trim_end_matches('/')));
            }
        }
    }
    Ok(address.to_owned())
}

/// `--tls-listen` with its certificate's source: files, or ACME.
fn tls_options(args: &AgentArgs) -> anyhow::Result<Option<hoist_runtime::agent::TlsOptions>> {
    use hoist_runtime::agent::{CertSource, TlsOptions};
    let Some(listen) = &args.tls_listen else {
        return Ok(None);
    };
    let certs = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => CertSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ if !args.acme_domain.is_empty() => CertSource::Acme(hoist_runtime::acme::AcmeOptions {
            domains: args.acme_domain.clone(),
            directory: args.acme_directory.clone(),
            email: args.acme_email.clone(),
            ca: args.acme_ca.clone(),
        }),
        _ => anyhow::bail!(
            "--tls-listen needs a certificate: `--tls-cert FILE --tls-key FILE`, or `--acme-domain NAME` to get one from Let's Encrypt"
        ),
    };
    Ok(Some(TlsOptions {
        listen: listen.clone(),
        certs,
        redirect: args.redirect_https,
    }))
}

/// `--has`: the digests among `digests` that the store of `dir` lacks, on stdout.
fn missing(dir: &std::path::Path, digests: &[String]) -> anyhow::Result<ExitCode> {
    for d in digests {
        let digest: hoist_core::Digest =
            d.parse().map_err(|e| anyhow::anyhow!("--has {d}: {e}"))?;
        if !hoist_runtime::agent::artifact_dir(dir, &digest).is_dir() {
            println!("{digest}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--receive DIGEST NAME [--base DIGEST]`: a zstd stream (or delta) on stdin into the store,
/// verified; the stored path and size on stdout.
fn receive(
    dir: &std::path::Path,
    digest: &str,
    name: &str,
    base: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let parse = |flag: &str, d: &str| -> anyhow::Result<hoist_core::Digest> {
        d.parse().map_err(|e| anyhow::anyhow!("{flag} {d}: {e}"))
    };
    let digest = parse("--receive", digest)?;
    let base = base.map(|b| parse("--base", b)).transpose()?;
    let stdin = std::io::stdin().lock();
    let (path, size) =
        hoist_runtime::agent::receive_blob(dir, &digest, name, base.as_ref(), stdin)?;
    println!("{} {size}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `--ping`: the pid and version of the agent that answers on the socket of `dir`, exit 0; or
/// exit 1 when none does.
async fn ping(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    match super::local::connect::running(dir).await {
        Ok((_, info)) => {
            println!(
                "{}",
                serde_json::json!({ "pid": info.pid, "version": info.version })
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("no agent answers for `{}`: {e}", dir.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(crate) async fn stop(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let client = hoist_runtime::client::AgentClient::new(dir);
    let running: Vec<hoist_runtime::api::AppStatus> =
        client.get("/v1/apps").await.unwrap_or_default();
    let replicas: usize = running.iter().map(|s| s.replicas.len()).sum();
    let info: AgentInfo = match client
        .post("/v1/agent/shutdown", &serde_json::json!({}))
        .await
    {
        Ok(i) => i,
        Err(hoist_runtime::client::ClientError::NotRunning { .. }) => {
            eprintln!("no agent runs for `{}`", dir.display());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot stop the agent")),
    };
    if replicas > 0 {
        eprintln!(
            "stopping the agent (pid {}): {}",
            info.pid,
            super::local::stopping::draining(replicas)
        );
    }
    // It answers, then drains and stops its replicas: wait until it is gone, saying which
    // replicas it still waits for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(2);
    let gone = async {
        while !hoist_runtime::driver::procfs::exited(info.pid)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        () = gone => {}
        () = super::local::stopping::watch(&client, None) => {}
    }
    eprintln!(
        "stopped the agent (pid {}); its replicas are stopped",
        info.pid
    );
    Ok(ExitCode::SUCCESS)
}

/// What to do when the agent cannot start.
pub fn hint(e: &AgentError) -> String {
    match e {
        AgentError::Listen { what, addr, source }
            if source.kind() == std::io::ErrorKind::AddrInUse =>
        {
            format!(
                "something else listens on {addr}; stop it, or give {what} another one (`hoist agent --listen`/`--admin`, or HOIST_PROXY_ADDR/HOIST_ADMIN_ADDR)"
            )
        }
        AgentError::Listen { .. } => "addresses are HOST:PORT, like 127.0.0.1:8080".to_owned(),
        AgentError::Tls(_) => {
            "give PEM files: `--tls-cert` the certificate chain (the server's first), `--tls-key` its private key".to_owned()
        }
        AgentError::AlreadyRunning(_) => {
            "`hoist status` talks to it; `hoist agent --stop` stops it".to_owned()
        }
        AgentError::StateDir { .. } | AgentError::Store { .. } => {
            "set HOIST_STATE_DIR (or `--state-dir`) to a directory you can write".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_engine_under_home_is_this_users_own() {
        let home = std::env::var("HOME").unwrap();
        let home = home.trim_end_matches('/');
        assert_eq!(
            super::expand_engine("unix://$HOME/docker.sock").unwrap(),
            format!("unix://{home}/docker.sock")
        );
        assert_eq!(
            super::expand_engine("unix://${HOME}/p/p.sock").unwrap(),
            format!("unix://{home}/p/p.sock")
        );
        for kept in ["unix:///var/run/docker.sock", "tcp://10.0.0.5:2375"] {
            assert_eq!(super::expand_engine(kept).unwrap(), kept);
        }
    }
}
