//! The one retry of the driver: answers the client cannot read yet.
//!
//! podman reports a container whose process has just exited as `stopped` until its clean-up
//! has run (about half a second), a state the Docker Engine API does not have; bollard's typed
//! answers reject it, for inspect and for list alike. Such an answer is asked again, a little
//! later, until podman says `exited`.

use std::future::Future;
use std::time::Duration;

use super::error::EngineCause;

/// How many times an unreadable answer is asked again, and how long apart: 10 s in all, far
/// beyond podman's clean-up even on a loaded machine.
const ATTEMPTS: u32 = 50;
const PAUSE: Duration = Duration::from_millis(200);

/// Runs `request` until it gives an answer the client can read (or fails otherwise).
pub(super) async fn readable<T, F, Fut>(what: &str, mut request: F) -> Result<T, EngineCause>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, EngineCause>>,
{
    let mut attempt = 1;
    loop {
        match request().await {
            Err(e @ EngineCause::JsonDataError { .. }) if attempt < ATTEMPTS => {
                tracing::debug!(%what, attempt, error = %e, "unreadable answer (a transient state?); asking again");
                attempt += 1;
                tokio::time::sleep(PAUSE).await;
            }
            other => return other,
        }
    }
}
