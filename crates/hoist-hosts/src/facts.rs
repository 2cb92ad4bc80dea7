//! What a host says about itself, asked in one shell script over the connection and read here
//! (pure, so it is unit-tested from literal answers).

use serde::Serialize;

/// Where hoist lives on a host, under the user's home: no root needed, one copy per user.
pub mod layout {
    /// The directory of hoist's binaries, `hoist-VERSION` each, and `hoist` linking the current one.
    pub const BIN_DIR: &str = ".local/share/hoist/bin";
    /// The agent's state directory (the remote hoist's default: `~/.local/state/hoist`).
    pub const STATE_DIR: &str = ".local/state/hoist";
    /// The pid of the detached agent's supervisor (`hoist agent --supervise`), beside its
    /// state (hosts without systemd user sessions); the agent writes its own `agent.pid`.
    pub const PIDFILE: &str = ".local/state/hoist/supervisor.pid";
    /// The systemd user unit, on hosts with systemd user sessions.
    pub const UNIT: &str = "hoist-agent.service";
}

/// The script `hoist hosts check` runs on each host: one line `key=value` per fact.
pub const FACTS_SCRIPT: &str = r#"
echo "uname=$(uname -sm)"
echo "home=$HOME"
df -Pk "$HOME" | awk 'NR == 2 { print "free_kib=" $4 }'
b="$HOME/.local/share/hoist/bin/hoist"
if [ -x "$b" ]; then
  echo "version=$("$b" --version 2>/dev/null)"
  if "$b" agent --ping >/dev/null 2>&1; then echo agent=up; else echo agent=down; fi
fi
if [ -f "$HOME/.local/state/hoist/agent.args" ]; then
  echo "args=$(head -n 1 "$HOME/.local/state/hoist/agent.args")"
fi
if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; then
  echo systemd=user
fi
"#;

/// A host's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// `linux`, from `uname -s`.
    pub os: String,
    /// Go's name for `uname -m`: `amd64`, `arm64`, or the machine name as given.
    pub arch: String,
    /// The user's home there.
    pub home: String,
    /// Bytes free in the home's filesystem.
    pub disk_free_bytes: Option<u64>,
    /// The installed hoist's version, when hoist has been set up there.
    pub hoist_version: Option<String>,
    /// Whether that hoist's agent answers on its socket.
    pub agent_up: bool,
    /// Whether the user has a systemd user session (the agent then runs as a user unit).
    pub systemd_user: bool,
    /// The arguments the running agent was started with (`agent.args`, one shell-quoted
    /// line), to tell whether it must be restarted with others; not part of the report.
    #[serde(skip)]
    pub agent_args: Option<String>,
}

/// Go's architecture name for a `uname -m` machine name.
pub fn go_arch(machine: &str) -> String {
    match machine {
        "x86_64" | "amd64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "armv7l" | "armv6l" => "arm",
        "i686" | "i386" => "386",
        other => other,
    }
    .to_owned()
}

/// Reads [`FACTS_SCRIPT`]'s output; `None` when `uname` is missing from it.
pub fn parse_facts(out: &str) -> Option<Facts> {
    let get = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    };
    let (os, machine) = get("uname")?.split_once(' ')?;
    Some(Facts {
        os: os.to_lowercase(),
        arch: go_arch(machine),
        home: get("home").unwrap_or_default().to_owned(),
        disk_free_bytes: get("free_kib")
            .and_then(|k| k.parse::<u64>().ok())
            .map(|k| k * 1024),
        // `hoist 0.1.0` (clap's --version).
        hoist_version: get("version")
            .filter(|v| !v.is_empty())
            .map(|v| v.strip_prefix("hoist ").unwrap_or(v).to_owned()),
        agent_up: get("agent") == Some("up"),
        systemd_user: get("systemd") == Some("user"),
        agent_args: out
            .lines()
            .find_map(|l| l.strip_prefix("args="))
            .map(|a| a.trim_end().to_owned()),
    })
}

/// This binary's platform as `os/arch`, Go's names: what a host must be to run a copy of it.
pub fn local_platform() -> (String, String) {
    (
        std::env::consts::OS.to_owned(),
        go_arch(std::env::consts::ARCH),
    )
}

#[cfg(test)]
mod tests {
    use super::{go_arch, parse_facts};

    #[test]
    fn a_bootstrapped_host_and_a_bare_one() {
        let f = parse_facts(
            "uname=Linux x86_64\nhome=/home/deploy\nfree_kib=1024\nversion=hoist 0.1.0\nagent=up\n",
        )
        .unwrap();
        assert_eq!((f.os.as_str(), f.arch.as_str()), ("linux", "amd64"));
        assert_eq!(f.disk_free_bytes, Some(1024 * 1024));
        assert_eq!(f.hoist_version.as_deref(), Some("0.1.0"));
        assert!(f.agent_up);
        assert!(!f.systemd_user);
        assert_eq!(f.agent_args, None);
        let started = parse_facts(
            "uname=Linux x86_64\nhome=/h\nagent=up\nargs=--engine 'unix://$HOME/d.sock' --listen 0.0.0.0:80\n",
        )
        .unwrap();
        assert_eq!(
            started.agent_args.as_deref(),
            Some("--engine 'unix://$HOME/d.sock' --listen 0.0.0.0:80")
        );
        let bare = parse_facts("uname=Linux aarch64\nhome=/h\nfree_kib=5\nsystemd=user\n").unwrap();
        assert_eq!(bare.arch, "arm64");
        assert_eq!(bare.hoist_version, None);
        assert!(!bare.agent_up);
        assert!(bare.systemd_user);
        assert_eq!(parse_facts("sh: uname: not found\n"), None);
        assert_eq!(go_arch("riscv64"), "riscv64");
    }
}
