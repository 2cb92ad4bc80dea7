//! What `hoist stop` and `hoist agent --stop` say while replicas take their grace period: which
//! replica is still stopping, and when SIGKILL comes. A stop is never a silent wait.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hoist_runtime::api::AppStatus;
use hoist_runtime::client::AgentClient;

/// How often the agent is asked.
const POLL: Duration = Duration::from_secs(1);
/// A replica is named once it has been stopping this long, then again every [`REPEAT`].
const FIRST: Duration = Duration::from_secs(2);
/// See [`FIRST`].
const REPEAT: Duration = Duration::from_secs(5);

/// What a stop does to `n` replicas, in words that agree with `n`.
pub fn draining(n: usize) -> String {
    if n == 1 {
        "1 replica leaves the rotation, finishes its requests, then gets SIGTERM (SIGKILL after its grace period)".to_owned()
    } else {
        format!(
            "{n} replicas leave the rotation, finish their requests, then get SIGTERM (SIGKILL after their grace period)"
        )
    }
}

/// Prints, until dropped, a line for every replica of `app` (all apps with `None`) that is
/// still stopping.
pub async fn watch(client: &AgentClient, app: Option<&str>) {
    let mut said: BTreeMap<(String, u32), Instant> = BTreeMap::new();
    let started = Instant::now();
    loop {
        tokio::time::sleep(POLL).await;
        let statuses: Vec<AppStatus> = match app {
            Some(a) => match client.get::<AppStatus>(&format!("/v1/apps/{a}")).await {
                Ok(s) => vec![s],
                Err(_) => continue,
            },
            None => client.get("/v1/apps").await.unwrap_or_default(),
        };
        for s in &statuses {
            for r in s.replicas.iter().filter(|r| r.state == "terminating") {
                let key = (s.name.clone(), r.id);
                let due = said
                    .get(&key)
                    .map_or(started.elapsed() >= FIRST, |t| t.elapsed() >= REPEAT);
                if !due {
                    continue;
                }
                said.insert(key, Instant::now());
                let who = r
                    .pid
                    .map(|p| format!("pid {p}"))
                    .or_else(|| {
                        r.container
                            .as_ref()
                            .map(|c| format!("container {}", short(c)))
                    })
                    .unwrap_or_else(|| "starting".to_owned());
                eprintln!(
                    "  waiting for replica {} of `{}` ({who}): {}",
                    r.id,
                    s.name,
                    r.last_error.as_deref().unwrap_or("stopping")
                );
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::draining;

    #[test]
    fn words_agree_with_the_count() {
        assert!(draining(1).starts_with("1 replica leaves the rotation, finishes its requests"));
        assert!(draining(3).starts_with("3 replicas leave the rotation, finish their requests"));
    }
}
