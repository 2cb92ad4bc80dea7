//! Every environment variable hoist itself reads, in one place. Libraries never read the
//! environment: values flow from here through their config structs.
//!
//! Variables read by the tools hoist runs (GOFLAGS, GOCACHE, GOMODCACHE, GOPROXY, DOCKER_HOST,
//! CONTAINERS_CONF, NO_COLOR, …) pass through to them untouched and are documented in the README.

/// Overrides the cache directory (default: the platform cache dir + `/hoist`, e.g.
/// `~/.cache/hoist`). Holds built layers and blobs, content-addressed.
pub const HOIST_CACHE_DIR: &str = "HOIST_CACHE_DIR";

/// Log filter for hoist's own diagnostics on stderr (`debug`, `hoist_gobuild=debug`, …).
pub const HOIST_LOG: &str = "HOIST_LOG";

/// The reproducible-builds convention: seconds since the epoch used as every file's mtime in the
/// app layer and as the image's `created` time. Without it, the commit time of HEAD; outside git, 0.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// Reads a variable, treating empty as unset.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
