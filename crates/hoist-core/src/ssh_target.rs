//! An SSH destination as `hosts.targets` writes it: `[user@]host[:port]`, `[user@][v6addr]:port`
//! or a `~/.ssh/config` alias. Parsed once here so that the config's check and the transport
//! read it the same way.

use std::fmt;

/// One SSH destination. `host` may be an alias that the user's ssh config resolves: hoist never
/// looks it up itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The login user given before `@`, if any.
    pub user: Option<String>,
    /// A host name, an address (IPv6 without brackets) or an ssh config alias.
    pub host: String,
    /// The port given after `:`, if any.
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `[user@]host[:port]`; an IPv6 address takes brackets when it has a port.
    ///
    /// # Errors
    ///
    /// What is wrong, for the config to report at the value: empty parts, whitespace, a leading
    /// `-` (ssh would read it as an option), or a port that is not 1–65535.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("cannot be empty".to_owned());
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "`{s}` contains whitespace: write `[user@]host[:port]`"
            ));
        }
        let (user, rest) = match s.rsplit_once('@') {
            Some(("", r)) => return Err(format!("`{s}` has an empty user before `@`: {r:?}")),
            Some((u, r)) => (Some(u.to_owned()), r),
            None => (None, s),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("`{s}` opens `[` without closing it"))?;
            match after {
                "" => (addr, None),
                p => (
                    addr,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| format!("`{s}`: expected `:PORT` after `]`"))?,
                    ),
                ),
            }
        } else {
            match rest.split_once(':') {
                // One colon: `host:port`; more: a bare IPv6 address.
                Some((h, p)) if !p.contains(':') => (h, Some(p)),
                _ => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(format!("`{s}` has no host"));
        }
        if host.starts_with('-') || user.as_deref().is_some_and(|u| u.starts_with('-')) {
            return Err(format!(
                "`{s}` starts with `-`, which ssh would read as an option"
            ));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| format!("`{s}`: the port must be from 1 to 65535, found `{p}`"))
            })
            .transpose()?;
        Ok(Self {
            user,
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        match self.port {
            Some(p) if self.host.contains(':') => write!(f, "[{}]:{p}", self.host),
            Some(p) => write!(f, "{}:{p}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SshTarget;

    fn t(user: Option<&str>, host: &str, port: Option<u16>) -> SshTarget {
        SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        }
    }

    #[test]
    fn the_forms_users_write() {
        assert_eq!(SshTarget::parse("edge-1").unwrap(), t(None, "edge-1", None));
        assert_eq!(
            SshTarget::parse("deploy@10.0.0.5").unwrap(),
            t(Some("deploy"), "10.0.0.5", None)
        );
        assert_eq!(
            SshTarget::parse("deploy@h:2222").unwrap(),
            t(Some("deploy"), "h", Some(2222))
        );
        assert_eq!(
            SshTarget::parse("fe80::1").unwrap(),
            t(None, "fe80::1", None)
        );
        assert_eq!(
            SshTarget::parse("u@[fe80::1]:22").unwrap(),
            t(Some("u"), "fe80::1", Some(22))
        );
        for s in ["deploy@h:2222", "u@[fe80::1]:22", "edge-1"] {
            assert_eq!(SshTarget::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn what_ssh_would_misread_is_refused() {
        for bad in [
            "",
            "a b",
            "-oProxyCommand=x",
            "@h",
            "h:0",
            "h:99999",
            "u@",
            "[::1",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad}");
        }
    }
}
