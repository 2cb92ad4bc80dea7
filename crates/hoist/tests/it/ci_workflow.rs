//! The workflow `hoist ci github` writes, run: its `run:` steps in order, with the workflow's
//! own environment (workflow, job and step `env:`, `${{ … }}` expressions, `GITHUB_OUTPUT`,
//! `GITHUB_ENV`, `GITHUB_PATH`, the working directory) and its jobs' `if:` conditions, in a
//! temporary git repository in each state CI meets, against a real docker-registry and the
//! local runtime.
//!
//! The `uses:` steps stand for what the test already did: `actions/checkout` for the checkout
//! (the repository itself), `actions/setup-go` for this machine's Go, `actions/cache` for an
//! empty cache. The install step finds the hoist under test on PATH with the version it pins,
//! as on a self-hosted runner.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hoist_test::agent::{Agent, Driver};
use hoist_test::cli::success;
use hoist_test::git::{commit_all, git};
use hoist_test::project::Project;
use serde_json::Value;

use crate::{HOIST, Hoist as _};

/// What GitHub would set for one run.
struct Event {
    /// `push` or `pull_request`.
    name: &'static str,
    /// `refs/heads/main`, `refs/tags/v1.2.3`.
    reference: String,
}

/// One job's result: the step that failed (name and exit code), else its outputs.
#[derive(Debug)]
enum JobResult {
    Passed(BTreeMap<String, String>),
    Failed {
        step: String,
        code: i32,
        stderr: String,
    },
}

/// A repository of the hello example with `[ci]` mapping `main` to staging and `v*` to prod,
/// pushing to `registry`, run by `agent`'s state directory and ports.
struct Repo {
    agent: Agent,
    workflow: Value,
}

impl Repo {
    fn new(registry: &str) -> Self {
        let p = Project::example("hello");
        p.edit(
            "hoist.toml",
            "[run]\n",
            &format!(
                "[image]\nrepository = \"{registry}/ci/hello\"\n\n[ci]\ndeploy = {{ main = \"staging\", \"v*\" = \"prod\" }}\nruns_on = [\"self-hosted\"]\n\n[run]\n"
            ),
        );
        // prod pushes to a repository of its own: here, the same test registry.
        p.edit(
            "hoist.toml",
            "registry.example.com/web/hello",
            &format!("{registry}/ci/hello"),
        );
        commit_all(&p.dir, "hello");
        success(p.hoist(&["ci", "github"]).current_dir(&p.dir));
        commit_all(&p.dir, "the workflow");
        let text = std::fs::read_to_string(p.dir.join(".github/workflows/hoist.yml")).unwrap();
        let workflow: Value = serde_saphyr::from_str(&text).expect("the workflow is YAML");
        Self {
            agent: Agent::new(HOIST, p, Driver::Process),
            workflow,
        }
    }

    fn dir(&self) -> &Path {
        &self.agent.project.dir
    }

    /// The jobs whose `if:` holds for `event`, in file order.
    fn jobs_for(&self, event: &Event) -> Vec<String> {
        self.workflow["jobs"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, job)| {
                job["if"]
                    .as_str()
                    .is_none_or(|c| Condition::new(c, event).eval())
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Runs `job`'s `run:` steps as a runner would, stopping at the first failure.
    fn run_job(&self, job: &str, event: &Event) -> JobResult {
        let wf = &self.workflow;
        let spec = &wf["jobs"][job];
        let scratch = tempfile::tempdir().unwrap();
        let files = |name: &str| {
            let p = scratch.path().join(name);
            std::fs::write(&p, "").unwrap();
            p
        };
        let (output, env_file, path_file, summary) = (
            files("output"),
            files("env"),
            files("path"),
            files("summary"),
        );
        let hoist_dir = assert_cmd::cargo::cargo_bin("hoist")
            .parent()
            .unwrap()
            .to_path_buf();
        let mut path_prefix: Vec<PathBuf> = vec![hoist_dir];
        let mut job_env: BTreeMap<String, String> = BTreeMap::new();
        let mut steps: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let workdir = wf["defaults"]["run"]["working-directory"]
            .as_str()
            .map_or_else(|| self.dir().to_path_buf(), |d| self.dir().join(d));
        for step in spec["steps"].as_array().unwrap() {
            let Some(script) = step["run"].as_str() else {
                assert!(step["uses"].is_string(), "a step runs or uses: {step}");
                continue;
            };
            let name = step["name"].as_str().unwrap_or(script).to_owned();
            let mut env: BTreeMap<String, String> = BTreeMap::new();
            // Workflow, then job, then what earlier steps put in GITHUB_ENV, then the step's own.
            for (i, scope) in [&wf["env"], &spec["env"], &step["env"]]
                .into_iter()
                .enumerate()
            {
                for (k, v) in scope.as_object().into_iter().flatten() {
                    let raw = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    env.insert(k.clone(), expand(&raw, &steps, &env));
                }
                if i == 1 {
                    env.extend(job_env.clone());
                }
            }
            std::fs::write(&output, "").unwrap();
            let mut cmd = std::process::Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
                .current_dir(&workdir)
                .envs(&env)
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_ENV", &env_file)
                .env("GITHUB_PATH", &path_file)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_EVENT_NAME", event.name)
                .env("GITHUB_REF", &event.reference)
                .env("RUNNER_TEMP", scratch.path())
                .env("HOIST_CACHE_DIR", &self.agent.project.cache)
                .env("HOIST_STATE_DIR", self.agent.state_dir())
                .env("HOIST_PROXY_ADDR", self.agent.proxy.to_string())
                .env("HOIST_ADMIN_ADDR", self.agent.admin.to_string())
                .env_remove("SOURCE_DATE_EPOCH")
                .env_remove("HOIST_LOG");
            let mut path = path_prefix.clone();
            path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap()));
            cmd.env("PATH", std::env::join_paths(path).unwrap());
            let out = cmd.output().expect("bash runs");
            if !out.status.success() {
                return JobResult::Failed {
                    step: name,
                    code: out.status.code().unwrap_or(-1),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                };
            }
            if let Some(id) = step["id"].as_str() {
                steps.insert(id.to_owned(), key_values(&output));
            }
            job_env.extend(key_values(&env_file));
            for line in std::fs::read_to_string(&path_file).unwrap().lines() {
                path_prefix.insert(0, PathBuf::from(line));
            }
        }
        let mut outputs = BTreeMap::new();
        for (k, v) in spec["outputs"].as_object().into_iter().flatten() {
            outputs.insert(k.clone(), expand(v.as_str().unwrap(), &steps, &job_env));
        }
        outputs.insert(
            "summary".to_owned(),
            std::fs::read_to_string(&summary).unwrap(),
        );
        JobResult::Passed(outputs)
    }

    /// Every job `event` triggers, `check` first; the deploy job's outputs.
    fn run(&self, event: &Event) -> (Vec<String>, JobResult) {
        let jobs = self.jobs_for(event);
        assert_eq!(jobs.first().map(String::as_str), Some("check"), "{jobs:?}");
        let mut last = JobResult::Passed(BTreeMap::new());
        for job in &jobs {
            last = self.run_job(job, event);
            if let JobResult::Failed { .. } = last {
                break;
            }
        }
        (jobs, last)
    }
}

/// `KEY=value` lines (what steps append to GITHUB_OUTPUT and GITHUB_ENV).
fn key_values(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `${{ steps.ID.outputs.KEY }}`, `${{ secrets.NAME }}` (none are set: the test registry
/// needs no credentials) and `${{ env.NAME }}` in `text`.
fn expand(
    text: &str,
    steps: &BTreeMap<String, BTreeMap<String, String>>,
    env: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("a closed expression") + start;
        let expr = rest[start + 3..end].trim();
        let parts: Vec<&str> = expr.split('.').collect();
        let value = match parts.as_slice() {
            ["steps", id, "outputs", key] => steps
                .get(*id)
                .and_then(|o| o.get(*key))
                .cloned()
                .unwrap_or_default(),
            ["secrets", _] => String::new(),
            ["env", name] => env.get(*name).cloned().unwrap_or_default(),
            _ => panic!("an expression the test does not know: {expr}"),
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The expressions the generated `if:`s use: `==` of `github.event_name`/`github.ref` and a
/// string, `startsWith(github.ref, '…')`, `!`, `&&`, `||` and parentheses.
struct Condition<'a> {
    tokens: Vec<String>,
    at: usize,
    event: &'a Event,
}

impl<'a> Condition<'a> {
    fn new(text: &str, event: &'a Event) -> Self {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || c == ',' {
                chars.next();
            } else if c == '\'' {
                chars.next();
                let s: String = chars.by_ref().take_while(|&c| c != '\'').collect();
                tokens.push(format!("'{s}"));
            } else if "()!".contains(c) {
                tokens.push(c.to_string());
                chars.next();
            } else if c == '&' || c == '|' || c == '=' {
                let op: String = [chars.next().unwrap(), chars.next().unwrap()]
                    .iter()
                    .collect();
                tokens.push(op);
            } else {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || c == '.' || c == '_' {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                assert!(!word.is_empty(), "cannot read `{text}`");
                tokens.push(word);
            }
        }
        Self {
            tokens,
            at: 0,
            event,
        }
    }

    fn eval(mut self) -> bool {
        let v = self.or();
        assert_eq!(
            self.at,
            self.tokens.len(),
            "trailing tokens: {:?}",
            self.tokens
        );
        v
    }

    fn next(&mut self) -> String {
        self.at += 1;
        self.tokens[self.at - 1].clone()
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn or(&mut self) -> bool {
        let mut v = self.and();
        while self.peek() == Some("||") {
            self.next();
            v |= self.and();
        }
        v
    }

    fn and(&mut self) -> bool {
        let mut v = self.unary();
        while self.peek() == Some("&&") {
            self.next();
            v &= self.unary();
        }
        v
    }

    fn unary(&mut self) -> bool {
        match self.next().as_str() {
            "!" => !self.unary(),
            "(" => {
                let v = self.or();
                assert_eq!(self.next(), ")");
                v
            }
            "startsWith" => {
                assert_eq!(self.next(), "(");
                let subject = self.value();
                let prefix = self.value();
                assert_eq!(self.next(), ")");
                subject.starts_with(&prefix)
            }
            other => {
                self.at -= 1;
                let left = self.value();
                assert_eq!(self.next(), "==", "after {other}");
                left == self.value()
            }
        }
    }

    fn value(&mut self) -> String {
        let t = self.next();
        match t.as_str() {
            "github.event_name" => self.event.name.to_owned(),
            "github.ref" => self.event.reference.clone(),
            s if s.starts_with('\'') => s[1..].to_owned(),
            other => panic!("a value the test does not know: {other}"),
        }
    }
}

fn push(reference: &str) -> Event {
    Event {
        name: "push",
        reference: reference.to_owned(),
    }
}

#[track_caller]
fn passed(result: JobResult) -> BTreeMap<String, String> {
    match result {
        JobResult::Passed(outputs) => outputs,
        JobResult::Failed { step, code, stderr } => {
            panic!("step `{step}` failed with {code}:\n{stderr}")
        }
    }
}

/// The tags of `repo`'s image in the registry that point at `digest`.
fn tags_at(registry: &hoist_test::registry::Registry, digest: &str) -> Vec<String> {
    let mut tags: Vec<String> = registry
        .tags("ci/hello")
        .into_iter()
        .filter(|t| {
            let head = std::process::Command::new("curl")
                .args(["-sfI", "-H"])
                .arg("Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json")
                .arg(format!("http://{}/v2/ci/hello/manifests/{t}", registry.addr))
                .output()
                .unwrap();
            String::from_utf8_lossy(&head.stdout)
                .to_ascii_lowercase()
                .contains(&format!("docker-content-digest: {digest}"))
        })
        .collect();
    tags.sort();
    tags
}

#[test]
fn the_generated_workflow_runs_for_every_kind_of_push() {
    let registry = hoist_test::registry::Registry::plain();
    let repo = Repo::new(&registry.addr);
    let head = |dir: &Path| git(dir, &["rev-parse", "HEAD"]);
    let sha = |commit: &str| format!("sha-{}", &commit[..12]);

    // A pull request: the checks only, nothing pushed or deployed.
    let pr = Event {
        name: "pull_request",
        reference: "refs/pull/1/merge".to_owned(),
    };
    let (jobs, result) = repo.run(&pr);
    assert_eq!(jobs, ["check"]);
    passed(result);
    assert!(registry.tags("ci/hello").is_empty());

    // The default branch: staging, with `latest` and the sha.
    let (jobs, result) = repo.run(&push("refs/heads/main"));
    assert_eq!(jobs, ["check", "deploy-staging"]);
    let out = passed(result);
    let main_commit = head(repo.dir());
    assert_eq!(out["tags"], format!("latest,{}", sha(&main_commit)));
    assert_eq!(
        tags_at(&registry, &out["digest"]),
        ["latest".to_owned(), sha(&main_commit)]
    );
    assert!(out["image"].ends_with(&out["digest"]));
    assert!(
        out["summary"].contains("### hoist: staging"),
        "{}",
        out["summary"]
    );
    // staging's overlay (two replicas) is what runs.
    let status = repo.agent.status("hello");
    assert_eq!(status["serving"]["number"], 1, "{status:#}");
    assert_eq!(status["desired"], 2, "{status:#}");

    // A feature branch: checks only.
    git(repo.dir(), &["checkout", "-q", "-b", "feature"]);
    let (jobs, result) = repo.run(&push("refs/heads/feature"));
    assert_eq!(jobs, ["check"]);
    passed(result);

    // A version tag, checked out detached as CI does: prod, with the version tags.
    git(repo.dir(), &["checkout", "-q", "main"]);
    git(repo.dir(), &["tag", "v1.2.3"]);
    git(repo.dir(), &["checkout", "-q", "--detach", "v1.2.3"]);
    let (jobs, result) = repo.run(&push("refs/tags/v1.2.3"));
    assert_eq!(jobs, ["check", "deploy-prod"]);
    let out = passed(result);
    let want = [
        sha(&main_commit),
        "v1".into(),
        "v1.2".into(),
        "v1.2.3".into(),
    ];
    assert_eq!(out["tags"], format!("{},v1.2.3,v1.2,v1", sha(&main_commit)));
    let mut at = tags_at(&registry, &out["digest"]);
    at.retain(|t| t != "latest");
    assert_eq!(at, want);
    // prod's overlay (four replicas) is what runs now.
    assert_eq!(repo.agent.status("hello")["desired"], 4);

    // A dirty tree on main: nothing but the sha, marked.
    git(repo.dir(), &["checkout", "-q", "main"]);
    let main_go = repo.dir().join("main.go");
    let text = std::fs::read_to_string(&main_go).unwrap();
    std::fs::write(
        &main_go,
        text.replace("hello from hoist", "hello, dirty, from hoist"),
    )
    .unwrap();
    let (_, result) = repo.run(&push("refs/heads/main"));
    let out = passed(result);
    assert_eq!(out["tags"], format!("{}-dirty", sha(&main_commit)));
    assert_eq!(
        tags_at(&registry, &out["digest"]),
        [format!("{}-dirty", sha(&main_commit))]
    );

    // A revision that never gets ready: the deploy step fails the job with the rollback exit
    // code, and the previous revision still serves.
    let serving = repo.agent.status("hello")["serving"]["number"].clone();
    // It listens on another port than the one it is given: never ready.
    let broken = text.replace(
        "port := os.Getenv(\"PORT\")",
        "port := \"1\" + os.Getenv(\"PORT\")",
    );
    assert_ne!(broken, text);
    std::fs::write(&main_go, broken).unwrap();
    commit_all(repo.dir(), "break the health check");
    match repo.run(&push("refs/heads/main")).1 {
        JobResult::Failed { step, code, stderr } => {
            assert_eq!(step, "hoist deploy --env staging", "{stderr}");
            assert_eq!(code, 3, "rolled back: {stderr}");
        }
        JobResult::Passed(out) => panic!("a broken revision passed: {out:?}"),
    }
    assert_eq!(repo.agent.status("hello")["serving"]["number"], serving);
}
