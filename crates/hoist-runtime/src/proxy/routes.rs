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
    /// Its live replicas.
    pub backends: Arc<BackendSet>,
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
        let mut hostless = self.routes.iter().filter(|r| r.host.is_none()).peekable();
        let first_app = hostless.peek().map(|r| r.app.clone());
        let alone = self
            .routes
            .iter()
            .filter(|r| r.host.is_none())
            .all(|r| Some(&r.app) == first_app.as_ref());
        if alone {
            best_prefix(hostless, path)
        } else {
            None
        }
    }
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
    fn hostless_app_answers_any_host_only_while_alone() {
        let t = RouteTable::new(vec![route("hello", None, "/")]);
        assert_eq!(
            t.pick("127.0.0.1:8080", "/x").map(|r| r.app.as_str()),
            Some("hello")
        );
        let t = RouteTable::new(vec![route("hello", None, "/"), route("ids", None, "/")]);
        assert!(t.pick("127.0.0.1", "/").is_none());
    }
}
