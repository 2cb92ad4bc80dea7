//! `GET /v1/apps/{app}/logs`: the last lines of each replica's log, then (with `follow`) what
//! they write next, each line prefixed with its replica when there are several.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::Response;

use serde::Deserialize;

use super::Agent;
use super::controller::Refused;
use crate::logs::{LogPolicy, files_oldest_first};

/// The handler.
pub(crate) async fn logs(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
    params: LogsParams,
) -> Result<Response, Refused> {
    let q = params.0;
    let dir = agent.ctx.log_dir(&app);
    let mut replicas: BTreeMap<u32, LogPolicy> =
        replica_logs(&agent, &app).await.into_iter().collect();
    if replicas.is_empty() {
        replicas = on_disk(&dir, agent.ctx.logs);
    }
    if let Some(n) = q.replica {
        let policy = super::revision::log_policy(&dir, n, agent.ctx.logs);
        if !policy.path.exists() {
            return Err(Refused::new(
                404,
                format!("`{app}` has no replica {n} (or it never wrote anything)"),
                Some("`hoist status` lists the replicas"),
            ));
        }
        replicas = BTreeMap::from([(n, policy)]);
    }
    if replicas.is_empty() {
        return Err(Refused::new(
            404,
            format!("`{app}` has no replica logs"),
            Some("`hoist status` shows whether it runs"),
        ));
    }
    let prefix = replicas.len() > 1 || q.replica.is_none();
    let tail = q.tail.unwrap_or(100);
    let mut out = Vec::new();
    let mut followers = BTreeMap::new();
    for (id, policy) in &replicas {
        for line in last_lines(policy, tail) {
            push_line(&mut out, prefix.then_some(*id), &line);
        }
        let offset = std::fs::metadata(&policy.path).map_or(0, |m| m.len());
        followers.insert(*id, Follower::new(policy.path.clone(), offset));
    }
    if !q.follow.unwrap_or(false) {
        return Ok(Response::new(Body::from(out)));
    }
    let state = FollowState {
        agent,
        app,
        single: q.replica,
        prefix,
        followers,
        first: Some(out),
        relisted: Instant::now(),
    };
    let body = futures_util::stream::unfold(state, |mut st| async move {
        if let Some(first) = st.first.take() {
            return Some((Ok::<_, Infallible>(first), st));
        }
        loop {
            tokio::time::sleep(FOLLOW_POLL).await;
            st.relist().await;
            let chunk = st.poll();
            if !chunk.is_empty() {
                return Some((Ok(chunk), st));
            }
        }
    });
    Ok(Response::new(Body::from_stream(body)))
}

/// Replica logs found in the app's log directory (for an app that runs no replica now).
pub(crate) fn on_disk(dir: &std::path::Path, limits: super::LogLimits) -> BTreeMap<u32, LogPolicy> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(id) = name
            .to_str()
            .and_then(|n| n.strip_prefix("replica-"))
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        found.insert(id, super::revision::log_policy(dir, id, limits));
    }
    found
}

fn push_line(out: &mut Vec<u8>, replica: Option<u32>, line: &[u8]) {
    if let Some(id) = replica {
        out.extend_from_slice(format!("[replica {id}] ").as_bytes());
    }
    out.extend_from_slice(line);
    if !line.ends_with(b"\n") {
        out.push(b'\n');
    }
}

/// The last `n` lines over the rotated files and the current one.
fn last_lines(policy: &LogPolicy, n: usize) -> Vec<Vec<u8>> {
    let mut lines: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
    for file in files_oldest_first(policy) {
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            lines.push_back(line.to_vec());
            if lines.len() > n {
                lines.pop_front();
            }
        }
    }
    lines.into()
}

/// Reads what one log file gained since the last look.
struct Follower {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Follower {
    fn new(path: PathBuf, offset: u64) -> Self {
        Self {
            path,
            offset,
            partial: Vec::new(),
        }
    }

    /// Complete new lines; a file that shrank was rotated (copied and truncated): read it again
    /// from its start.
    fn poll(&mut self) -> Vec<Vec<u8>> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let mut lines = Vec::new();
        while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
            lines.push(self.partial.drain(..=i).collect());
        }
        lines
    }
}

struct FollowState {
    agent: Arc<Agent>,
    app: String,
    single: Option<u32>,
    prefix: bool,
    followers: BTreeMap<u32, Follower>,
    first: Option<Vec<u8>>,
    relisted: Instant,
}

impl FollowState {
    /// Picks up replicas started since (a rollout), once a second.
    async fn relist(&mut self) {
        if self.single.is_some() || self.relisted.elapsed() < std::time::Duration::from_secs(1) {
            return;
        }
        self.relisted = Instant::now();
        for (id, policy) in replica_logs(&self.agent, &self.app).await {
            self.followers
                .entry(id)
                .or_insert_with(|| Follower::new(policy.path, 0));
        }
    }

    fn poll(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, f) in &mut self.followers {
            for line in f.poll() {
                push_line(&mut out, self.prefix.then_some(*id), &line);
            }
        }
        out
    }
}

/// `?replica=N&tail=N&follow=true`.
#[derive(Debug, Deserialize)]
pub(crate) struct LogsQuery {
    replica: Option<u32>,
    tail: Option<usize>,
    follow: Option<bool>,
}

/// The replicas of `app` (id, log file) now.
async fn replica_logs(agent: &Agent, app: &str) -> Vec<(u32, crate::logs::LogPolicy)> {
    let dir = agent.ctx.log_dir(app);
    match agent.status_of(app).await {
        Some(s) => s
            .replicas
            .iter()
            .map(|r| {
                (
                    r.id,
                    super::revision::log_policy(&dir, r.id, agent.ctx.logs),
                )
            })
            .collect(),
        None => Vec::new(),
    }
}

/// For the logs handler: `Query` re-exported with the right type.
pub(crate) type LogsParams = Query<LogsQuery>;

/// How often `--follow` looks for new output.
const FOLLOW_POLL: Duration = Duration::from_millis(200);
