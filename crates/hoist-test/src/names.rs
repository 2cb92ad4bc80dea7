//! Names no other test, and no other run, uses: tests run in parallel against shared engines, a
//! shared cluster and shared caches, and a run may leave things behind when it is killed.

use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos()
}

/// `PREFIX-PID-N-NANOS`: for images, containers, apps and test labels.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos()
    )
}

/// A shorter unique name that is still a DNS label (at most 63 characters with a short prefix):
/// for Kubernetes namespaces and users.
pub fn unique_dns(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed),
        nanos() % 10_000
    )
}
