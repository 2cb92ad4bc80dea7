//! `[hosts]`: the user's own servers, as ssh destinations and the options ssh would be given.

use hoist_core::{Hosts, HostsHttps, HostsPublic, HostsTls, IntOrPercent, SshTarget};

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
        public: HostsPublic::default(),
        engine: None,
    };
    let mut h = with_options(h, &p)?;
    h.public = public(&p)?;
    h.targets = strings(p.targets);
    Ok(h)
}

/// `http`, `https` and the certificate keys: addresses are `HOST:PORT` or `:PORT` (every
/// address); `https` needs a certificate, either `tls_cert` with `tls_key` or ACME `domains`,
/// never both; the `acme_*` keys need `domains`.
fn public(p: &HostsPart) -> Result<HostsPublic> {
    let http = p.http.as_ref().map(address).transpose()?;
    let files = match (&p.tls_cert, &p.tls_key) {
        (Some(c), Some(k)) => Some((
            non_empty(c, "a PEM certificate chain")?,
            non_empty(k, "its PEM private key")?,
        )),
        (Some(c), None) => {
            return Err(c.invalid("needs `tls_key`, the certificate's private key (a PEM file)"));
        }
        (None, Some(k)) => {
            return Err(k.invalid("needs `tls_cert`, the certificate chain (a PEM file)"));
        }
        (None, None) => None,
    };
    if let Some(domains) = &p.domains {
        if domains.value.is_empty() {
            return Err(domains.invalid(
                "lists no name: give the names the certificate covers, like [\"{host}.example.com\"], or remove `domains`",
            ));
        }
        for d in &domains.value {
            domain(d)?;
        }
        no_duplicates(&domains.value, |a, b| a == b)?;
    }
    let acme_key = [&p.acme_email, &p.acme_directory, &p.acme_ca]
        .into_iter()
        .flatten()
        .next();
    if p.domains.is_none()
        && let Some(k) = acme_key
    {
        return Err(k.invalid(
            "is for certificates from ACME, which `domains` asks for: add `domains`, or remove this key",
        ));
    }
    let tls = match (files, &p.domains) {
        (Some(_), Some(d)) => {
            return Err(d.invalid(
                "asks ACME for the HTTPS certificate while `tls_cert`/`tls_key` give your own: keep one of them",
            ));
        }
        (Some((cert, key)), None) => Some(HostsTls::Files { cert, key }),
        (None, Some(d)) => Some(HostsTls::Acme {
            domains: d.value.iter().map(|f| f.value.clone()).collect(),
            directory: p
                .acme_directory
                .as_ref()
                .map(|u| {
                    if u.value.starts_with("https://") {
                        Ok(u.value.clone())
                    } else {
                        Err(u.invalid(format!(
                            "`{}` is not an https:// URL: give the CA's directory, like \"https://acme-v02.api.letsencrypt.org/directory\"",
                            u.value
                        )))
                    }
                })
                .transpose()?,
            email: p
                .acme_email
                .as_ref()
                .map(|e| {
                    if e.value.contains('@') && !e.value.contains([' ', ',']) {
                        Ok(e.value.clone())
                    } else {
                        Err(e.invalid(format!("`{}` is not an email address", e.value)))
                    }
                })
                .transpose()?,
            ca: p
                .acme_ca
                .as_ref()
                .map(|c| non_empty(c, "a PEM root certificate"))
                .transpose()?,
        }),
        (None, None) => None,
    };
    let https = match (&p.https, tls) {
        (Some(a), Some(tls)) => Some(HostsHttps {
            listen: address(a)?,
            tls,
        }),
        (Some(a), None) => {
            return Err(a.invalid(
                "needs a certificate: `tls_cert` and `tls_key` (PEM files), or `domains` to get one from Let's Encrypt",
            ));
        }
        (None, Some(_)) => {
            let k = p
                .domains
                .as_ref()
                .map(|d| d.with(()))
                .or_else(|| p.tls_cert.as_ref().map(|c| c.with(())))
                .expect("a certificate came from one of them");
            return Err(k.invalid(
                "gives a certificate for HTTPS, which is not served: add `https = \":443\"`",
            ));
        }
        (None, None) => None,
    };
    Ok(HostsPublic { http, https })
}

/// `HOST:PORT` with an IP address, or `:PORT` for every address (`0.0.0.0:PORT`).
fn address(a: &crate::field::Field<String>) -> Result<String> {
    let full = match a.value.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => a.value.clone(),
    };
    match full.parse::<std::net::SocketAddr>() {
        Ok(addr) if addr.port() != 0 => Ok(full),
        _ => Err(a.invalid(format!(
            "`{}` is not an address to listen on: give `:PORT` (every address) or `IP:PORT`, like \":443\" or \"10.0.0.5:443\"",
            a.value
        ))),
    }
}

/// A DNS name the CA can validate over HTTP-01: labels of letters, digits and `-`, `{host}`
/// for the target's name; no wildcard (those need DNS-01).
fn domain(d: &crate::field::Field<String>) -> Result<()> {
    let name = d.value.replace("{host}", "host");
    if d.value.contains('*') {
        return Err(d.invalid(format!(
            "`{}` is a wildcard, which ACME gives only over DNS-01; list the names, or give `tls_cert`/`tls_key`",
            d.value
        )));
    }
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(d.invalid(format!(
            "`{}` is not a DNS name: labels of letters, digits and `-`, `{{host}}` for the host's own name",
            d.value
        )))
    }
}

fn non_empty(f: &crate::field::Field<String>, what: &str) -> Result<String> {
    if f.value.trim().is_empty() {
        Err(f.invalid(format!("cannot be empty: give the path of {what}")))
    } else {
        Ok(f.value.clone())
    }
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
    if let Some(engine) = &p.engine {
        h.engine = Some(engine_address(engine)?);
    }
    Ok(h)
}

/// `hosts.engine`: `unix:///ABSOLUTE/PATH` (or a path starting with `$HOME/` or
/// `$XDG_RUNTIME_DIR/`, expanded by each host's agent), or `tcp://HOST:PORT`.
fn engine_address(f: &crate::field::Field<String>) -> Result<String> {
    let v = f.value.as_str();
    let ok = match v.strip_prefix("unix://") {
        Some(path) => {
            path.starts_with('/')
                || path.starts_with("$HOME/")
                || path.starts_with("${HOME}/")
                || path.starts_with("$XDG_RUNTIME_DIR/")
                || path.starts_with("${XDG_RUNTIME_DIR}/")
        }
        None => v
            .strip_prefix("tcp://")
            .and_then(|a| a.rsplit_once(':'))
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0)),
    };
    if !ok {
        return Err(f.invalid(format!(
            "`{v}` is not an engine address: give `unix:///run/docker.sock`, a rootless engine's `unix://$XDG_RUNTIME_DIR/podman/podman.sock`, or `tcp://HOST:PORT`"
        )));
    }
    Ok(v.to_owned())
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

    #[test]
    fn the_public_side_takes_files_or_acme_and_says_what_is_missing() {
        let app = load(
            "[hosts]\nhttp = \":80\"\nhttps = \"10.0.0.5:443\"\ndomains = [\"{host}.example.com\"]\n",
            None,
        )
        .unwrap();
        let public = app.hosts.unwrap().public;
        assert_eq!(public.http.as_deref(), Some("0.0.0.0:80"));
        let https = public.https.unwrap();
        assert_eq!(https.listen, "10.0.0.5:443");
        assert!(
            matches!(https.tls, hoist_core::HostsTls::Acme { ref domains, .. } if domains == &["{host}.example.com"])
        );
        let files = load(
            "[hosts]\nhttps = \":443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n",
            None,
        )
        .unwrap();
        assert!(matches!(
            files.hosts.unwrap().public.https.unwrap().tls,
            hoist_core::HostsTls::Files { .. }
        ));

        let e = |toml: &str| load(toml, None).unwrap_err().to_string();
        assert_eq!(
            e("[hosts]\nhttps = \":443\"\n"),
            "hoist.toml:5:9: hosts.https: needs a certificate: `tls_cert` and `tls_key` (PEM files), or `domains` to get one from Let's Encrypt"
        );
        assert!(
            e("[hosts]\nhttp = \"80\"\n")
                .starts_with("hoist.toml:5:8: hosts.http: `80` is not an address")
        );
        assert!(e("[hosts]\nhttp = \"example.com:80\"\n").contains("is not an address"));
        assert!(e("[hosts]\nengine = \"/run/docker.sock\"\n").starts_with(
            "hoist.toml:5:10: hosts.engine: `/run/docker.sock` is not an engine address"
        ));
        assert!(
            e("[hosts]\nengine = \"unix://run/d.sock\"\n").contains("is not an engine address")
        );
        assert!(e("[hosts]\nengine = \"tcp://h\"\n").contains("is not an engine address"));
        assert!(
            e("[hosts]\nhttps = \":443\"\ntls_cert = \"c.pem\"\n")
                .starts_with("hoist.toml:6:12: hosts.tls_cert: needs `tls_key`")
        );
        assert!(
            e("[hosts]\nhttps = \":443\"\ntls_cert = \"c\"\ntls_key = \"k\"\ndomains = [\"a.example\"]\n")
                .contains("hosts.domains: asks ACME for the HTTPS certificate while `tls_cert`/`tls_key` give your own")
        );
        assert!(e("[hosts]\ndomains = [\"a.example\"]\n").starts_with(
            "hoist.toml:5:11: hosts.domains: gives a certificate for HTTPS, which is not served"
        ));
        assert!(
            e("[hosts]\nhttps = \":443\"\ndomains = [\"*.example.com\"]\n")
                .contains("hosts.domains[0]: `*.example.com` is a wildcard")
        );
        assert!(
            e("[hosts]\nhttps = \":443\"\ndomains = [\"a_b.example\"]\n")
                .contains("is not a DNS name")
        );
        assert!(
            e("[hosts]\nhttps = \":443\"\ndomains = []\n").contains("hosts.domains: lists no name")
        );
        assert!(
            e("[hosts]\nacme_email = \"ops@example.com\"\n")
                .starts_with("hoist.toml:5:14: hosts.acme_email: is for certificates from ACME")
        );
        assert!(
            e("[hosts]\nhttps = \":443\"\ndomains = [\"a.example\"]\nacme_directory = \"http://ca/dir\"\n")
                .contains("hosts.acme_directory: `http://ca/dir` is not an https:// URL")
        );
        assert!(
            e("[hosts]\nhttps = \":443\"\ndomains = [\"a.example\"]\nacme_email = \"ops\"\n")
                .contains("hosts.acme_email: `ops` is not an email address")
        );
    }
}
