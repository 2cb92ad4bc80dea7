//! Which app a request is for: Host, then the longest path prefix.

use std::sync::Arc;

use super::BackendSet;

/// One app's place in the proxy.
#[derive(Clone)]
pub struct Route {
    /// The app's name (a metrics label).
    pub app: String,
    /// The Host it answers (lowercase, no port); `None`: any host, while it is the only such app.
    pub host: Option<String>,
    /// The path prefix, starting with `/`.
    pub path: String,
    /// Its live replicas (during a canary, the stable revision's).
    pub backends: Arc<BackendSet>,
    /// During a canary, the new revision's replicas and their share of the requests.
    pub split: Option<Arc<super::Split>>,
}

/// Every route; replaced whole when apps are deployed or removed.
#[derive(Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes`.
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    /// Every route.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The route for a request to `host` (a Host header, maybe with a port) and `path`.
    pub fn pick(&self, host: &str, path: &str) -> Option<&Route> {
        let host = host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
            .to_ascii_lowercase();
        let by_host = best_prefix(
            self.routes
                .iter()
                .filter(|r| r.host.as_deref() == Some(&host)),
            path,
        );
        if by_host.is_some() {
            return by_host;
        }
        // Routes without a host answer any other Host by longest prefix. Two with the same
        // prefix never meet here: the agent refuses the second (see [`same_place`]).
        best_prefix(self.routes.iter().filter(|r| r.host.is_none()), path)
    }

    /// The app other than `app` that holds the same host and path prefix as `host`/`path`.
    pub fn holder(&self, app: &str, host: Option<&str>, path: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.app != app && same_place(r.host.as_deref(), &r.path, host, path))
            .map(|r| r.app.as_str())
    }
}

/// Whether two routes would answer the same requests: the same host (or both none) and the
/// same path prefix (`/api` and `/api/` are one).
pub fn same_place(host_a: Option<&str>, path_a: &str, host_b: Option<&str>, path_b: &str) -> bool {
    let host = |h: Option<&str>| h.map(str::to_ascii_lowercase);
    host(host_a) == host(host_b) && path_a.trim_end_matches('/') == path_b.trim_end_matches('/')
}

fn best_prefix<'a>(routes: impl Iterator<Item = &'a Route>, path: &str) -> Option<&'a Route> {
    routes
        .filter(|r| prefix_matches(&r.path, path))
        .max_by_key(|r| r.path.len())
}

/// `/api` matches `/api`, `/api/` and `/api/x`, not `/apix` (Kubernetes' `Prefix` path type).
fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::Balance;

    fn route(app: &str, host: Option<&str>, path: &str) -> Route {
        Route {
            app: app.into(),
            host: host.map(Into::into),
            path: path.into(),
            backends: Arc::new(BackendSet::new(Balance::RoundRobin)),
            split: None,
        }
    }

    #[test]
    fn host_then_longest_prefix() {
        let t = RouteTable::new(vec![
            route("web", Some("example.com"), "/"),
            route("api", Some("example.com"), "/api"),
            route("other", Some("other.com"), "/"),
        ]);
        let app = |h, p| t.pick(h, p).map(|r| r.app.clone());
        assert_eq!(app("example.com", "/api/v1").as_deref(), Some("api"));
        assert_eq!(app("EXAMPLE.com:8080", "/apix").as_deref(), Some("web"));
        assert_eq!(app("other.com", "/").as_deref(), Some("other"));
        assert_eq!(app("unknown.com", "/"), None);
    }

    #[test]
    fn hostless_apps_answer_other_hosts_by_longest_prefix() {
        let t = RouteTable::new(vec![route("hello", None, "/")]);
        assert_eq!(
            t.pick("127.0.0.1:8080", "/x").map(|r| r.app.as_str()),
            Some("hello")
        );
        let t = RouteTable::new(vec![
            route("hello", None, "/"),
            route("ids", None, "/ids"),
            route("web", Some("web.localhost"), "/"),
        ]);
        let app = |h, p| t.pick(h, p).map(|r| r.app.clone());
        assert_eq!(app("127.0.0.1", "/ids/7").as_deref(), Some("ids"));
        assert_eq!(app("127.0.0.1", "/").as_deref(), Some("hello"));
        assert_eq!(app("web.localhost", "/ids").as_deref(), Some("web"));
    }

    #[test]
    fn the_holder_of_a_route_is_named() {
        let t = RouteTable::new(vec![
            route("a", Some("a.localhost"), "/"),
            route("hello", None, "/api/"),
        ]);
        assert_eq!(t.holder("b", Some("A.localhost"), ""), Some("a"));
        assert_eq!(t.holder("a", Some("a.localhost"), "/"), None, "its own");
        assert_eq!(t.holder("b", None, "/api"), Some("hello"));
        assert_eq!(t.holder("b", None, "/"), None);
        assert_eq!(t.holder("b", Some("b.localhost"), "/api"), None);
    }
}
