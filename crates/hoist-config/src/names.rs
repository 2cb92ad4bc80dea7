//! Checks for the names `hoist.toml` holds (DNS labels, env var names, repositories, …).
//!
//! Each check returns `Err(problem)` with a message that says what is allowed; the caller adds
//! the key and location.

/// An app name: a DNS-1123 label that starts with a letter, because it also names the
/// Kubernetes Service, whose names are DNS-1035 labels.
pub(crate) fn app_name(s: &str) -> Result<(), String> {
    dns_label(s)?;
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "`{s}` must start with a letter, because it names the Kubernetes Service"
        ));
    }
    Ok(())
}

/// A DNS-1123 label: 1–63 of `a-z`, `0-9`, `-`, starting and ending with a letter or digit.
pub(crate) fn dns_label(s: &str) -> Result<(), String> {
    let allowed =
        "use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit";
    if s.is_empty() || s.len() > 63 {
        return Err(format!(
            "`{s}` must be 1 to 63 characters long, found {}; {allowed}",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
    {
        return Err(format!("`{s}` contains `{c}`; {allowed}"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(format!("`{s}` starts or ends with `-`; {allowed}"));
    }
    Ok(())
}

/// A DNS-1123 subdomain (Kubernetes object names such as Secrets and IngressClasses):
/// dot-separated labels, at most 253 characters.
pub(crate) fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err(format!("`{s}` is longer than 253 characters"));
    }
    s.split('.')
        .try_for_each(dns_label)
        .map_err(|e| format!("`{s}` is not a valid Kubernetes name: {e}"))
}

/// An ingress host: a lowercase DNS name, optionally a wildcard `*.example.com`.
pub(crate) fn host(s: &str) -> Result<(), String> {
    let name = s.strip_prefix("*.").unwrap_or(s);
    if name.contains('*') {
        return Err(format!(
            "`{s}`: a wildcard is allowed only as the first label, like `*.example.com`"
        ));
    }
    if name.len() > 253 {
        return Err(format!("`{s}` is longer than 253 characters"));
    }
    name.split('.')
        .try_for_each(dns_label)
        .map_err(|e| format!("`{s}` is not a DNS name like `example.com` or `*.example.com`: {e}"))
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn env_var(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an environment variable name; use letters, digits and `_`, not starting with a digit"
        ))
    }
}

/// A ConfigMap key: 1–253 of `-`, `.`, `_`, letters and digits.
pub(crate) fn config_key(s: &str) -> Result<(), String> {
    let chars_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !s.is_empty() && s.len() <= 253 && chars_ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a ConfigMap key; use 1 to 253 letters, digits, `-`, `.` and `_`"
        ))
    }
}

/// A Go build tag: letters, digits, `_` and `.`, not starting with a digit or `.`.
pub(crate) fn build_tag(s: &str) -> Result<(), String> {
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
    {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a Go build tag; use letters, digits, `_` and `.`, starting with a letter"
        ))
    }
}

/// A Go variable for `-X`: `importpath.Name`, like `main.version` or
/// `example.com/hello/internal/build.Version`.
pub(crate) fn go_var(s: &str) -> Result<(), String> {
    let problem = || {
        format!(
            "`{s}` is not a Go variable; write `importpath.Name`, like `main.version` or `example.com/app/internal/build.Version`"
        )
    };
    let (package, name) = s.rsplit_once('.').ok_or_else(problem)?;
    let name_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    let package_ok = !package.is_empty()
        && !package.ends_with('/')
        && !package.chars().any(|c| c.is_whitespace() || c == '"');
    if name_ok && package_ok {
        Ok(())
    } else {
        Err(problem())
    }
}

/// `app.main`: `.` or a relative package path such as `./cmd/server`.
pub(crate) fn main_package(s: &str) -> Result<(), String> {
    let problem = |why: &str| {
        format!(
            "`{s}` {why}; write `.` or a package directory relative to hoist.toml, like `./cmd/server`"
        )
    };
    if s == "." {
        return Ok(());
    }
    let Some(rest) = s.strip_prefix("./") else {
        return Err(problem("does not start with `./`"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('\\') || rest.chars().any(char::is_whitespace) {
        return Err(problem("contains a backslash or whitespace"));
    }
    if rest
        .split('/')
        .any(|part| part.is_empty() || part == "." || part == ".." || part == "...")
    {
        return Err(problem("has an empty, `.`, `..` or `...` path element"));
    }
    Ok(())
}

/// `image.repository`: `[registry[:port]/]path`, lowercase, without a tag or digest.
pub(crate) fn repository(s: &str) -> Result<(), String> {
    let allowed = "write a lowercase repository like `registry.example.com/group/hello` or `localhost:5000/hello`";
    if s.contains('@') {
        return Err(format!(
            "`{s}` has a digest; {allowed}, without `@sha256:…`"
        ));
    }
    let mut parts: Vec<&str> = s.split('/').collect();
    let registry = (parts.len() > 1 && is_registry(parts[0])).then(|| parts.remove(0));
    if let Some(registry) = registry {
        registry_host(registry).map_err(|why| format!("`{s}`: {why}; {allowed}"))?;
    }
    if parts.last().is_some_and(|p| p.contains(':')) {
        return Err(format!(
            "`{s}` has a tag; {allowed}, and choose tags with `image.tags`"
        ));
    }
    if s.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("`{s}` has uppercase letters; {allowed}"));
    }
    match parts.iter().find(|p| !is_path_component(p)) {
        Some(bad) => Err(format!(
            "`{s}`: `{bad}` is not a valid path component (lowercase letters and digits, separated by `.`, `_`, `__` or `-`); {allowed}"
        )),
        None => Ok(()),
    }
}

/// A base image reference: anything with `/` or `:`, no whitespace.
pub(crate) fn image_reference(s: &str) -> Result<(), String> {
    if s.chars().any(char::is_whitespace) || s.starts_with(['/', ':']) || s.ends_with(['/', ':']) {
        Err(format!(
            "`{s}` is not an image reference like `gcr.io/distroless/static:nonroot`"
        ))
    } else {
        Ok(())
    }
}

/// Whether the first path element names a registry, as Docker decides it.
fn is_registry(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

fn registry_host(s: &str) -> Result<(), String> {
    let (host, port) = s.split_once(':').unwrap_or((s, ""));
    let host_ok = !host.is_empty()
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    let port_ok = !s.contains(':') || (!port.is_empty() && port.parse::<u16>().is_ok());
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not a registry host like `registry.example.com` or `localhost:5000`"
        ))
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the OCI distribution spec's path component.
fn is_path_component(p: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !p.starts_with(alnum) || !p.ends_with(alnum) {
        return false;
    }
    let mut separator = String::new();
    for c in p.chars() {
        if alnum(c) {
            let ok = separator.is_empty()
                || matches!(separator.as_str(), "." | "_" | "__")
                || separator.chars().all(|c| c == '-');
            if !ok {
                return false;
            }
            separator.clear();
        } else {
            separator.push(c);
        }
    }
    true
}

/// Turns a Go import path or directory name into an app name: the last path element (skipping
/// a major-version suffix like `/v2`), lowercased, other characters replaced by `-`, runs of
/// `-` collapsed, trimmed to 63 characters, and prefixed with `app-` if it would not start
/// with a letter. An input with nothing usable gives `app`.
pub fn app_name_from(s: &str) -> String {
    let elements: Vec<&str> = s
        .trim_end_matches(['/', '\\'])
        .split(['/', '\\'])
        .filter(|e| !e.is_empty())
        .collect();
    let is_major = |e: &str| {
        e.strip_prefix('v')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let last = match elements.as_slice() {
        [.., previous, last] if is_major(last) => previous,
        [.., last] => last,
        [] => "",
    };
    let mut name = String::new();
    for c in last.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(c);
        }
    }
    let mut name = name.trim_matches('-').to_owned();
    if name.is_empty() {
        return "app".to_owned();
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "app-");
    }
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_are_dns_labels_starting_with_a_letter() {
        assert!(app_name("hello").is_ok());
        assert!(app_name("hello-world-2").is_ok());
        let long = "a".repeat(64);
        for bad in [
            "",
            "Hello",
            "hello_world",
            "-hello",
            "hello-",
            "3d",
            long.as_str(),
        ] {
            assert!(app_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            app_name("hello_world").unwrap_err(),
            "`hello_world` contains `_`; use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
        );
    }

    #[test]
    fn hosts_allow_a_leading_wildcard() {
        for ok in [
            "example.com",
            "*.example.com",
            "a-b.example.com",
            "localhost",
        ] {
            assert_eq!(host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "Example.com",
            "a.*.com",
            "*",
            "ex ample.com",
            "-a.com",
            "a..com",
            "http://a.com",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_vars_and_config_keys() {
        for ok in ["LOG_LEVEL", "_x", "a1"] {
            assert!(env_var(ok).is_ok(), "{ok}");
        }
        for bad in ["1A", "A-B", "", "A B"] {
            assert!(env_var(bad).is_err(), "{bad}");
        }
        for ok in ["app.properties", "a-b_c", "X"] {
            assert!(config_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a b"] {
            assert!(config_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_names() {
        for ok in [
            "main.version",
            "example.com/app/internal/build.Version",
            "github.com/a/b.v2/pkg.Commit",
        ] {
            assert!(go_var(ok).is_ok(), "{ok}");
        }
        for bad in [
            "version",
            "main.",
            ".version",
            "main.1x",
            "main.ver-sion",
            "a/.Name",
        ] {
            assert!(go_var(bad).is_err(), "{bad}");
        }
        for ok in ["netgo", "osusergo", "go1.21", "_x"] {
            assert!(build_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1x", "a-b", "a b"] {
            assert!(build_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn main_packages_are_relative() {
        for ok in [".", "./cmd/server", "./cmd/server/", "./server"] {
            assert!(main_package(ok).is_ok(), "{ok}");
        }
        for bad in [
            "cmd/server",
            "./",
            "./../x",
            "./cmd//x",
            "./...",
            "/abs",
            "./a b",
        ] {
            assert!(main_package(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repositories_are_lowercase_without_tags() {
        for ok in [
            "registry.example.com/group/hello",
            "localhost:5000/hello",
            "hello",
            "library/hello",
            "ghcr.io/a/b-c__d.e",
        ] {
            assert_eq!(repository(ok), Ok(()), "{ok}");
        }
        for bad in [
            "Registry.example.com/Hello",
            "registry.example.com/hello:latest",
            "localhost:5000/hello@sha256:abc",
            "localhost:x/hello",
            "a//b",
            "a/-b",
            "hello/",
        ] {
            assert!(repository(bad).is_err(), "{bad}");
        }
        assert!(
            repository("r.io/hello:v1")
                .unwrap_err()
                .contains("has a tag")
        );
    }

    #[test]
    fn app_name_from_import_paths_and_dirs() {
        assert_eq!(app_name_from("github.com/acme/hello-world"), "hello-world");
        assert_eq!(
            app_name_from("github.com/acme/Hello_World/v2"),
            "hello-world"
        );
        assert_eq!(app_name_from("/home/me/src/My Service/"), "my-service");
        assert_eq!(app_name_from("example.com/x/go.app"), "go-app");
        assert_eq!(app_name_from("3d"), "app-3d");
        assert_eq!(app_name_from("__"), "app");
        assert_eq!(app_name_from(""), "app");
        let long = app_name_from(&"ab-".repeat(40));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
        assert!(app_name(&long).is_ok());
        assert!(app_name(&app_name_from("Ünïcode")).is_ok());
    }
}
