//! Running one probe check against a replica: an HTTP GET (200–399 passes), a TCP connect, or a
//! command that must exit 0. Each check is bounded by the probe's timeout, and a failure says
//! what was seen, for `status` and for the reason of a failed rollout.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use hoist_core::ProbeAction;
use http_body_util::Empty;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How an `exec` check reaches the replica.
#[derive(Debug, Clone)]
pub(crate) enum ExecVia {
    /// Run the command on this machine with the replica's environment (process driver).
    /// `/app/<name>` (the binary's path in hoist's images) is the replica's own binary.
    Local {
        /// The replica's environment, `PORT` included.
        env: BTreeMap<String, String>,
        /// The binary, for `/app/<name>`.
        binary: PathBuf,
        /// The app's name.
        app: String,
    },
    /// Run it inside the container (container driver).
    Container(std::sync::Arc<crate::driver::container::ContainerReplica>),
}

/// Runs `action` against the replica listening on 127.0.0.1:`port`.
pub(crate) async fn run(
    action: &ProbeAction,
    port: u16,
    exec: &ExecVia,
    timeout: Duration,
) -> Result<(), String> {
    let check = async {
        match action {
            ProbeAction::Http { path, .. } => http(port, path).await,
            ProbeAction::Tcp { .. } => TcpStream::connect(addr(port))
                .await
                .map(drop)
                .map_err(|e| format!("TCP {}", connect_error(&e, port))),
            ProbeAction::Exec { command } => run_exec(command, exec, timeout).await,
        }
    };
    match tokio::time::timeout(timeout, check).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{} timed out after {}s",
            describe(action, port),
            timeout.as_secs_f64()
        )),
    }
}

/// `GET /healthz`, `TCP :41234`, `exec hello -check`: for messages; `port` is the one the
/// replica was given (a probe's own is the app's port inside a container).
pub(crate) fn describe(action: &ProbeAction, port: u16) -> String {
    match action {
        ProbeAction::Http { path, .. } => format!("GET {path}"),
        ProbeAction::Tcp { .. } => format!("TCP :{port}"),
        ProbeAction::Exec { command } => format!("exec {}", command.join(" ")),
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `connection refused on :8080`, or the error as the system says it.
fn connect_error(e: &std::io::Error, port: u16) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused on :{port}"),
        _ => format!("cannot connect to :{port}: {e}"),
    }
}

async fn http(port: u16, path: &str) -> Result<(), String> {
    let stream = TcpStream::connect(addr(port))
        .await
        .map_err(|e| format!("GET {path}: {}", connect_error(&e, port)))?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    tokio::spawn(conn);
    let req = http::Request::get(path)
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .header(http::header::USER_AGENT, "hoist-probe")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("GET {path}: {e}"))?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = resp.status();
    if (200..400).contains(&status.as_u16()) {
        Ok(())
    } else {
        Err(format!("GET {path} → {status}"))
    }
}

async fn run_exec(command: &[String], via: &ExecVia, timeout: Duration) -> Result<(), String> {
    let Some((program, args)) = command.split_first() else {
        return Err("exec: empty command".to_owned());
    };
    match via {
        ExecVia::Container(replica) => match replica.exec(command, timeout).await {
            Ok(0) => Ok(()),
            Ok(code) => Err(format!(
                "exec {}: exited with status {code}",
                command.join(" ")
            )),
            Err(e) => Err(format!(
                "exec {}: {}",
                command.join(" "),
                crate::report_chain(&e)
            )),
        },
        ExecVia::Local { env, binary, app } => {
            let program = if *program == format!("/app/{app}") {
                binary.clone()
            } else {
                PathBuf::from(program)
            };
            let status = tokio::process::Command::new(&program)
                .args(args)
                .env_clear()
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .envs(env)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .status()
                .await
                .map_err(|e| format!("exec {}: {e}", command.join(" ")))?;
            if status.success() {
                Ok(())
            } else {
                Err(format!(
                    "exec {}: {}",
                    command.join(" "),
                    crate::driver::process::Exit::from(status)
                ))
            }
        }
    }
}
