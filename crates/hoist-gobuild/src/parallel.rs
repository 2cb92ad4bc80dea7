//! Several platforms at once, bounded by the core count.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{Binary, BuildRequest, GoBuildError, build};

/// Builds every request with at most `jobs` `go build` processes at a time (each of which is
/// itself parallel, so more than the core count only adds contention). Results keep the order of
/// `requests`. `on_done` is called as each binary finishes, for progress output.
///
/// # Errors
/// The first failure, in request order; the other builds still run to completion so their
/// binaries are cached by Go for the next attempt.
pub fn build_all(
    requests: &[BuildRequest],
    jobs: usize,
    on_done: &(dyn Fn(&Binary) + Sync),
) -> Result<Vec<Binary>, GoBuildError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Binary, GoBuildError>>>> =
        Mutex::new((0..requests.len()).map(|_| None).collect());
    let workers = jobs.clamp(1, requests.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(req) = requests.get(i) else { break };
                    let r = build(req);
                    if let Ok(b) = &r {
                        on_done(b);
                    }
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.unwrap_or(Err(GoBuildError::WorkerPanicked)))
        .collect()
}
