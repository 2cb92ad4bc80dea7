//! The agent's durable store: apps, their revisions and outcomes, the replicas it started, and
//! events — in SQLite (WAL mode), so the agent and the CLI can read it at once and a restarted
//! agent finds its apps and replicas again.
//!
//! Every change is one transaction; with WAL and `synchronous = NORMAL`, a SIGKILLed agent
//! loses nothing it had committed (a power cut may lose the last transaction, never corrupt).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use hoist_core::ReplicaReport;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Schema version, checked with SQLite's `user_version`. 2 added `revisions.replicas`, 3
/// `revisions.canary`.
const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS revisions (
    app         TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    spec        TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    reason      TEXT,
    replicas    TEXT,
    canary      TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (app, number)
);
CREATE TABLE IF NOT EXISTS serving (
    app      TEXT PRIMARY KEY,
    revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS replicas (
    app        TEXT    NOT NULL,
    revision   INTEGER NOT NULL,
    slot       INTEGER NOT NULL,
    pid        INTEGER,
    ticks      INTEGER,
    container  TEXT,
    port       INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    PRIMARY KEY (app, revision, slot)
);
CREATE TABLE IF NOT EXISTS events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    app      TEXT    NOT NULL,
    revision INTEGER,
    message  TEXT    NOT NULL
);
";

/// Where a revision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionState {
    /// Being rolled out.
    RollingOut,
    /// Serving traffic.
    Serving,
    /// Served, then replaced by a newer revision.
    Superseded,
    /// Failed its rollout and was rolled back.
    RolledBack,
    /// Failed its rollout with nothing to roll back to.
    Failed,
    /// Served until `hoist stop`.
    Stopped,
}

impl RevisionState {
    fn as_str(self) -> &'static str {
        match self {
            Self::RollingOut => "rolling_out",
            Self::Serving => "serving",
            Self::Superseded => "superseded",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "serving" => Self::Serving,
            "superseded" => Self::Superseded,
            "rolled_back" => Self::RolledBack,
            "failed" => Self::Failed,
            "stopped" => Self::Stopped,
            _ => Self::RollingOut,
        }
    }
}

/// One revision of an app, as `history` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The app.
    pub app: String,
    /// 1, 2, … per app.
    pub number: u64,
    /// What was deployed (the app spec and artifact, as JSON), opaque to the store.
    pub spec: String,
    /// Its state.
    pub state: RevisionState,
    /// Why it failed, if it did.
    pub reason: Option<String>,
    /// What each replica that kept it from getting ready showed, if it failed.
    pub replicas: Vec<ReplicaReport>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// When its rollout ended.
    pub finished_at: Option<i64>,
    /// Its canary analysis (JSON written by the agent), if it was rolled out as a canary.
    pub canary: Option<String>,
}

/// A replica the agent started, so a restarted agent can adopt or stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplicaRecord {
    /// The app.
    pub app: String,
    /// Its revision.
    pub revision: u64,
    /// Its slot (0..replicas).
    pub slot: u32,
    /// The process (group) id, for the process driver.
    pub pid: Option<u32>,
    /// The process's start time in clock ticks since boot, which tells it from a later
    /// process that reuses the pid.
    pub ticks: Option<u64>,
    /// The container id, for the container driver.
    pub container: Option<String>,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Seconds since the epoch.
    pub started_at: i64,
}

/// The store.
pub struct Store {
    db: Connection,
}

impl Store {
    /// Opens (creating) the store at `path`.
    ///
    /// # Errors
    /// SQLite's error when the file cannot be opened or is not a hoist store of this version.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(rusqlite::Error::InvalidParameterName(format!(
                "the store was written by a newer hoist (schema {version}, this one knows {SCHEMA_VERSION})"
            )));
        }
        db.execute_batch(SCHEMA)?;
        // `CREATE TABLE IF NOT EXISTS` left an older table as it was (0: a new store).
        if version == 1 {
            db.execute_batch("ALTER TABLE revisions ADD COLUMN replicas TEXT")?;
        }
        if (1..3).contains(&version) {
            db.execute_batch("ALTER TABLE revisions ADD COLUMN canary TEXT")?;
        }
        db.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Self { db })
    }

    /// Creates the next revision of `app` in state rolling-out and returns its number.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn create_revision(&mut self, app: &str, spec: &str) -> rusqlite::Result<u64> {
        let tx = self.db.transaction()?;
        let next: i64 = tx.query_row(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM revisions WHERE app = ?1",
            [app],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO revisions (app, number, spec, state, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![app, next, spec, RevisionState::RollingOut.as_str(), now()],
        )?;
        tx.commit()?;
        Ok(u64::try_from(next).unwrap_or_default())
    }

    /// Ends a rollout: `number` serves (and the one before is superseded), or it was rolled
    /// back with `reason` (and the serving one stays).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn finish_revision(
        &mut self,
        app: &str,
        number: u64,
        outcome: RevisionState,
        reason: Option<&str>,
    ) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        if outcome == RevisionState::Serving {
            tx.execute(
                "UPDATE revisions SET state = ?3 WHERE app = ?1 AND number = (SELECT revision FROM serving WHERE app = ?1) AND number != ?2",
                params![app, number, RevisionState::Superseded.as_str()],
            )?;
            tx.execute(
                "INSERT INTO serving (app, revision) VALUES (?1, ?2) ON CONFLICT (app) DO UPDATE SET revision = ?2",
                params![app, number],
            )?;
        }
        tx.execute(
            "UPDATE revisions SET state = ?3, reason = ?4, finished_at = ?5 WHERE app = ?1 AND number = ?2",
            params![app, number, outcome.as_str(), reason, now()],
        )?;
        tx.commit()
    }

    /// Keeps what the replicas of failed revision `number` showed, for `history`.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn set_replica_reports(
        &mut self,
        app: &str,
        number: u64,
        reports: &[ReplicaReport],
    ) -> rusqlite::Result<()> {
        let json = serde_json::to_string(reports)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        self.db.execute(
            "UPDATE revisions SET replicas = ?3 WHERE app = ?1 AND number = ?2",
            params![app, number, json],
        )?;
        Ok(())
    }

    /// Keeps the canary analysis of revision `number` (its steps and verdicts, as JSON opaque
    /// to the store), for `history`.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn set_canary(&mut self, app: &str, number: u64, json: &str) -> rusqlite::Result<()> {
        self.db.execute(
            "UPDATE revisions SET canary = ?3 WHERE app = ?1 AND number = ?2",
            params![app, number, json],
        )?;
        Ok(())
    }

    /// The revision serving `app`, if any.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn serving(&self, app: &str) -> rusqlite::Result<Option<Revision>> {
        let n: Option<i64> = self
            .db
            .query_row("SELECT revision FROM serving WHERE app = ?1", [app], |r| {
                r.get(0)
            })
            .optional()?;
        match n {
            Some(n) => self.revision(app, u64::try_from(n).unwrap_or_default()),
            None => Ok(None),
        }
    }

    /// One revision.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn revision(&self, app: &str, number: u64) -> rusqlite::Result<Option<Revision>> {
        self.db
            .query_row(
                "SELECT app, number, spec, state, reason, created_at, finished_at, replicas, canary FROM revisions WHERE app = ?1 AND number = ?2",
                params![app, number],
                revision_row,
            )
            .optional()
    }

    /// Every revision of `app`, newest first.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn history(&self, app: &str) -> rusqlite::Result<Vec<Revision>> {
        let mut q = self.db.prepare(
            "SELECT app, number, spec, state, reason, created_at, finished_at, replicas, canary FROM revisions WHERE app = ?1 ORDER BY number DESC",
        )?;
        q.query_map([app], revision_row)?.collect()
    }

    /// The revision of `app` being rolled out, if a rollout was in progress.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn rolling_out(&self, app: &str) -> rusqlite::Result<Option<Revision>> {
        self.db
            .query_row(
                "SELECT app, number, spec, state, reason, created_at, finished_at, replicas, canary FROM revisions WHERE app = ?1 AND state = 'rolling_out' ORDER BY number DESC LIMIT 1",
                [app],
                revision_row,
            )
            .optional()
    }

    /// Apps the agent must run: with a serving revision or a rollout in progress.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn active_apps(&self) -> rusqlite::Result<Vec<String>> {
        let mut q = self.db.prepare(
            "SELECT app FROM serving UNION SELECT app FROM revisions WHERE state = 'rolling_out' ORDER BY 1",
        )?;
        q.query_map([], |r| r.get(0))?.collect()
    }

    /// `hoist stop`: the app no longer serves; its serving revision is marked stopped.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn stop_app(&mut self, app: &str) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        tx.execute(
            "UPDATE revisions SET state = 'stopped', finished_at = COALESCE(finished_at, ?2) WHERE app = ?1 AND (number = (SELECT revision FROM serving WHERE app = ?1) OR state = 'rolling_out')",
            params![app, now()],
        )?;
        tx.execute("DELETE FROM serving WHERE app = ?1", [app])?;
        tx.commit()
    }

    /// Every app with a revision, running or not, by name.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn known_apps(&self) -> rusqlite::Result<Vec<String>> {
        let mut q = self
            .db
            .prepare("SELECT DISTINCT app FROM revisions ORDER BY app")?;
        q.query_map([], |r| r.get(0))?.collect()
    }

    /// `hoist forget`: every record of `app` (revisions, events, replicas) is deleted.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn forget(&mut self, app: &str) -> rusqlite::Result<()> {
        let tx = self.db.transaction()?;
        for table in ["revisions", "serving", "replicas", "events"] {
            tx.execute(&format!("DELETE FROM {table} WHERE app = ?1"), [app])?;
        }
        tx.commit()
    }

    /// The apps with a serving revision.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn apps(&self) -> rusqlite::Result<Vec<String>> {
        let mut q = self.db.prepare("SELECT app FROM serving ORDER BY app")?;
        q.query_map([], |r| r.get(0))?.collect()
    }

    /// Records a started replica (replacing a record in the same slot).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn put_replica(&mut self, r: &ReplicaRecord) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO replicas (app, revision, slot, pid, ticks, container, port, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![r.app, r.revision, r.slot, r.pid, r.ticks.map(|t| i64::try_from(t).unwrap_or(i64::MAX)), r.container, r.port, r.started_at],
        )?;
        Ok(())
    }

    /// Forgets a replica that was stopped.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn remove_replica(&mut self, app: &str, revision: u64, slot: u32) -> rusqlite::Result<()> {
        self.db.execute(
            "DELETE FROM replicas WHERE app = ?1 AND revision = ?2 AND slot = ?3",
            params![app, revision, slot],
        )?;
        Ok(())
    }

    /// Every replica record, for adoption after a restart.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn replicas(&self) -> rusqlite::Result<Vec<ReplicaRecord>> {
        let mut q = self.db.prepare(
            "SELECT app, revision, slot, pid, ticks, container, port, started_at FROM replicas ORDER BY app, revision, slot",
        )?;
        q.query_map([], |r| {
            Ok(ReplicaRecord {
                app: r.get(0)?,
                revision: r.get(1)?,
                slot: r.get(2)?,
                pid: r.get(3)?,
                ticks: r
                    .get::<_, Option<i64>>(4)?
                    .map(|t| u64::try_from(t).unwrap_or_default()),
                container: r.get(5)?,
                port: r.get(6)?,
                started_at: r.get(7)?,
            })
        })?
        .collect()
    }

    /// Appends an event (shown by `status` and `history`).
    ///
    /// # Errors
    /// SQLite's error.
    pub fn event(
        &mut self,
        app: &str,
        revision: Option<u64>,
        message: &str,
    ) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT INTO events (at, app, revision, message) VALUES (?1, ?2, ?3, ?4)",
            params![now(), app, revision, message],
        )?;
        Ok(())
    }

    /// The last `limit` events of `app`, oldest first.
    ///
    /// # Errors
    /// SQLite's error.
    pub fn events(
        &self,
        app: &str,
        limit: u32,
    ) -> rusqlite::Result<Vec<(i64, Option<u64>, String)>> {
        let mut q = self.db.prepare(
            "SELECT at, revision, message FROM (SELECT id, at, revision, message FROM events WHERE app = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
        )?;
        q.query_map(params![app, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect()
    }
}

fn revision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        app: r.get(0)?,
        number: r.get(1)?,
        spec: r.get(2)?,
        state: RevisionState::parse(&r.get::<_, String>(3)?),
        reason: r.get(4)?,
        created_at: r.get(5)?,
        finished_at: r.get(6)?,
        // Written by this store only; a row it cannot read shows no replicas.
        replicas: r
            .get::<_, Option<String>>(7)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default(),
        canary: r.get(8)?,
    })
}

/// Seconds since the epoch, as the store records times.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisions_serve_supersede_and_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hoist.db");
        let mut s = Store::open(&path).unwrap();
        let r1 = s.create_revision("hello", "{\"v\":1}").unwrap();
        s.finish_revision("hello", r1, RevisionState::Serving, None)
            .unwrap();
        let r2 = s.create_revision("hello", "{\"v\":2}").unwrap();
        s.finish_revision("hello", r2, RevisionState::Serving, None)
            .unwrap();
        let r3 = s.create_revision("hello", "{\"v\":3}").unwrap();
        s.finish_revision(
            "hello",
            r3,
            RevisionState::RolledBack,
            Some("not ready in 60s"),
        )
        .unwrap();
        assert_eq!((r1, r2, r3), (1, 2, 3));
        assert_eq!(s.serving("hello").unwrap().unwrap().number, 2);
        let h = s.history("hello").unwrap();
        let states: Vec<_> = h.iter().map(|r| (r.number, r.state)).collect();
        assert_eq!(
            states,
            [
                (3, RevisionState::RolledBack),
                (2, RevisionState::Serving),
                (1, RevisionState::Superseded)
            ]
        );
        assert_eq!(h[0].reason.as_deref(), Some("not ready in 60s"));
        assert_eq!(s.apps().unwrap(), ["hello"]);
    }

    #[test]
    fn a_reopened_store_finds_replicas_and_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hoist.db");
        {
            let mut s = Store::open(&path).unwrap();
            let rec = ReplicaRecord {
                app: "hello".into(),
                revision: 1,
                slot: 0,
                pid: Some(4242),
                ticks: Some(77),
                container: None,
                port: 41000,
                started_at: 1,
            };
            s.put_replica(&rec).unwrap();
            s.put_replica(&ReplicaRecord {
                slot: 1,
                ..rec.clone()
            })
            .unwrap();
            s.remove_replica("hello", 1, 0).unwrap();
            s.event("hello", Some(1), "replica 1 ready").unwrap();
        }
        let s = Store::open(&path).unwrap();
        let reps = s.replicas().unwrap();
        assert_eq!(reps.len(), 1);
        assert_eq!(
            (reps[0].slot, reps[0].pid, reps[0].ticks, reps[0].port),
            (1, Some(4242), Some(77), 41000)
        );
        let ev = s.events("hello", 10).unwrap();
        assert_eq!(ev[0].2, "replica 1 ready");
    }

    #[test]
    fn rollouts_in_progress_and_stopped_apps() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("hoist.db")).unwrap();
        let r1 = s.create_revision("a", "{}").unwrap();
        assert_eq!(s.active_apps().unwrap(), ["a"], "a first rollout counts");
        assert_eq!(s.rolling_out("a").unwrap().unwrap().number, r1);
        s.finish_revision("a", r1, RevisionState::Serving, None)
            .unwrap();
        assert!(s.rolling_out("a").unwrap().is_none());
        s.stop_app("a").unwrap();
        assert!(s.active_apps().unwrap().is_empty());
        assert_eq!(s.history("a").unwrap()[0].state, RevisionState::Stopped);
    }

    #[test]
    fn the_cli_can_read_while_the_agent_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hoist.db");
        let mut agent = Store::open(&path).unwrap();
        let cli = Store::open(&path).unwrap();
        let n = agent.create_revision("a", "{}").unwrap();
        assert_eq!(cli.history("a").unwrap()[0].number, n);
    }

    #[test]
    fn a_version_1_store_gains_replica_reports() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hoist.db");
        {
            let db = Connection::open(&path).unwrap();
            db.execute_batch(
                &SCHEMA
                    .replace("    replicas    TEXT,\n", "")
                    .replace("    canary      TEXT,\n", ""),
            )
            .unwrap();
            db.execute(
                "INSERT INTO revisions (app, number, spec, state, created_at) VALUES ('a', 1, '{}', 'failed', 0)",
                [],
            )
            .unwrap();
            db.pragma_update(None, "user_version", 1).unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        assert!(s.revision("a", 1).unwrap().unwrap().replicas.is_empty());
        let report = ReplicaReport {
            replica: "1".to_owned(),
            state: "unready".to_owned(),
            probe: Some("readiness GET /healthz → 404 Not Found".to_owned()),
            ..ReplicaReport::default()
        };
        s.set_replica_reports("a", 1, std::slice::from_ref(&report))
            .unwrap();
        drop(s);
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.history("a").unwrap()[0].replicas, [report]);
        s.set_canary("a", 1, r#"{"steps":[]}"#).unwrap();
        assert_eq!(
            s.revision("a", 1).unwrap().unwrap().canary.as_deref(),
            Some(r#"{"steps":[]}"#)
        );
    }
}
