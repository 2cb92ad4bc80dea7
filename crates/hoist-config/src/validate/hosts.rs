//! `[hosts]`: the user's own servers, as ssh destinations and the options ssh would be given.

use hoist_core::{Hosts, IntOrPercent, SshTarget};

use super::{Result, no_duplicates, numbers, strings};
use crate::partial::HostsPart;

/// `[hosts]`: `targets` is a non-empty list of distinct `[user@]host[:port]` destinations;
/// `user` and `identity` are non-empty; `port` is a port; `parallel` is 1 or more (a count) or
/// 1–100%.
/// A `[hosts]` table without `targets` (options given for every environment, targets per
/// environment) is valid and names no host.
pub(crate) fn hosts(p: HostsPart) -> Result<Hosts> {
    if let Some(targets) = &p.targets {
        if targets.value.is_empty() {
            return Err(targets.invalid(
                "lists no host: add destinations like `[\"deploy@10.0.0.5\", \"edge-1\"]`, or remove `[hosts]`",
            ));
        }
        for t in &targets.value {
            SshTarget::parse(&t.value).map_err(|problem| t.invalid(problem))?;
        }
        no_duplicates(&targets.value, |a, b| a == b)?;
    }
    let h = Hosts {
        targets: Vec::new(),
        user: None,
        port: None,
        identity: None,
        parallel: IntOrPercent::Int(1),
    };
    let mut h = with_options(h, &p)?;
    h.targets = strings(p.targets);
    Ok(h)
}

fn with_options(mut h: Hosts, p: &HostsPart) -> Result<Hosts> {
    if let Some(user) = &p.user {
        if user.value.is_empty()
            || user.value.contains(['@', ' ', ':'])
            || user.value.starts_with('-')
        {
            return Err(user.invalid(format!(
                "`{}` is not a login name: a user name without `@`, `:`, spaces or a leading `-`",
                user.value
            )));
        }
        h.user = Some(user.value.clone());
    }
    h.port = p.port.as_ref().map(numbers::port).transpose()?;
    if let Some(identity) = &p.identity {
        if identity.value.trim().is_empty() {
            return Err(identity.invalid(
                "cannot be empty: give the path of a private key file, like \"~/.ssh/id_ed25519\"",
            ));
        }
        h.identity = Some(identity.value.clone());
    }
    if let Some(parallel) = &p.parallel {
        if matches!(
            parallel.value,
            IntOrPercent::Int(0) | IntOrPercent::Percent(0)
        ) {
            return Err(parallel.invalid(
                "must be 1 or more (hosts updated at once) or a percentage from 1% to 100%, found 0",
            ));
        }
        h.parallel = parallel.value;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use hoist_core::IntOrPercent;

    fn load(toml: &str, env: Option<&str>) -> Result<hoist_core::App, crate::ConfigError> {
        crate::load_str("hoist.toml", &format!("[app]\nname = \"a\"\n\n{toml}"), env)
    }

    #[test]
    fn targets_and_options_with_their_defaults() {
        let app = load(
            "[hosts]\ntargets = [\"deploy@10.0.0.5\", \"edge-1\"]\n",
            None,
        )
        .unwrap();
        let h = app.hosts.unwrap();
        assert_eq!(h.targets, ["deploy@10.0.0.5", "edge-1"]);
        assert_eq!(h.wave_size(), 1);
        assert_eq!((h.user, h.port, h.identity), (None, None, None));
        assert_eq!(h.parallel, IntOrPercent::Int(1));
        assert!(load("", None).unwrap().hosts.is_none());
    }

    #[test]
    fn an_environment_overlays_its_own_hosts() {
        let toml = "[hosts]\ntargets = [\"a\", \"b\", \"c\"]\nuser = \"deploy\"\n\n\
                    [environments.prod.hosts]\ntargets = [\"p1\", \"p2\", \"p3\", \"p4\"]\nparallel = \"50%\"\nport = 2222\n";
        let base = load(toml, None).unwrap().hosts.unwrap();
        assert_eq!(base.targets, ["a", "b", "c"]);
        let prod = load(toml, Some("prod")).unwrap().hosts.unwrap();
        assert_eq!(prod.targets, ["p1", "p2", "p3", "p4"]);
        assert_eq!(prod.user.as_deref(), Some("deploy"), "kept from the base");
        assert_eq!(prod.port, Some(2222));
        assert_eq!(prod.parallel, IntOrPercent::Percent(50));
        assert_eq!(prod.wave_size(), 2);
    }

    #[test]
    fn mistakes_are_reported_where_they_are_written() {
        let e = |toml: &str| load(toml, None).unwrap_err().to_string();
        assert_eq!(
            e("[hosts]\ntargets = [\"ok\", \"-oProxyCommand=x\"]\n"),
            "hoist.toml:5:18: hosts.targets[1]: `-oProxyCommand=x` starts with `-`, which ssh would read as an option"
        );
        assert!(
            e("[hosts]\ntargets = []\n")
                .starts_with("hoist.toml:5:11: hosts.targets: lists no host")
        );
        assert!(e("[hosts]\ntargets = [\"a\", \"a\"]\n").contains("`a` is listed twice"));
        assert!(e("[hosts]\nport = 0\n").starts_with("hoist.toml:5:8: hosts.port: must be a port"));
        assert!(e("[hosts]\nparallel = 0\n").contains("hosts.parallel: must be 1 or more"));
        assert!(e("[hosts]\nparallel = \"150%\"\n").contains("hosts.parallel"));
        assert!(e("[hosts]\nuser = \"a@b\"\n").contains("hosts.user: `a@b` is not a login name"));
        assert!(e("[hosts]\ntarget = [\"a\"]\n").contains("unknown key `target`"));
        let env = load(
            "[environments.prod.hosts]\nparallel = \"0%\"\n",
            Some("prod"),
        )
        .unwrap_err()
        .to_string();
        assert!(env.starts_with("hoist.toml:5:"), "{env}");
        assert!(env.contains("environments.prod.hosts.parallel"), "{env}");
    }
}
