//! Reading the parsed TOML document into [`Partial`]s: structure and types, not values.

use std::collections::BTreeMap;

use toml::de::DeTable;

use crate::error::ConfigError;
use crate::field::Field;
use crate::names;
use crate::partial::{
    AppPart, AutoscalePart, BuildPart, ChaosPart, CiPart, DaprPart, HealthPart, HostsPart,
    ImagePart, IngressPart, KubernetesPart, Partial, ProbePart, PrometheusPart, ResourcesPart,
    RolloutPart, RunPart, SloPart, StatePart, StickyPart, SyntheticPart, VerifyPart,
};
use crate::source::Source;
use crate::walk::{StringOrTable, Table};

type Result<T> = std::result::Result<T, ConfigError>;

const ROOT_KEYS: &[&str] = &[
    "app",
    "build",
    "image",
    "run",
    "config",
    "dapr",
    "kubernetes",
    "hosts",
    "ci",
    "verify",
    "environments",
];
const OVERLAY_KEYS: &[&str] = &[
    "app",
    "build",
    "image",
    "run",
    "config",
    "dapr",
    "kubernetes",
    "hosts",
    "verify",
];
const APP_KEYS: &[&str] = &["name", "main", "port", "args"];
const BUILD_KEYS: &[&str] = &[
    "platforms",
    "base",
    "tags",
    "ldflags",
    "version_var",
    "commit_var",
    "cgo",
    "env",
];
const IMAGE_KEYS: &[&str] = &["repository", "tags", "labels", "source"];
const RUN_KEYS: &[&str] = &[
    "replicas",
    "driver",
    "env",
    "health",
    "rollout",
    "resources",
    "autoscale",
    "ingress",
    "termination_grace",
    "state",
];
const STATE_KEYS: &[&str] = &["path", "writers", "update", "size"];
const PROBE_KEYS: &[&str] = &[
    "path",
    "port",
    "tcp",
    "exec",
    "initial_delay",
    "period",
    "timeout",
    "success_threshold",
    "failure_threshold",
];
const HEALTH_KEYS: &[&str] = &[
    "path",
    "port",
    "tcp",
    "exec",
    "initial_delay",
    "period",
    "timeout",
    "success_threshold",
    "failure_threshold",
    "readiness",
    "liveness",
    "startup",
];
const ROLLOUT_KEYS: &[&str] = &[
    "max_surge",
    "max_unavailable",
    "deadline",
    "strategy",
    "steps",
    "interval",
    "min_sample",
    "max_wait",
    "sticky",
    "slo",
    "synthetic",
];
const STICKY_KEYS: &[&str] = &["cookie", "header"];
const SYNTHETIC_KEYS: &[&str] = &["paths", "rate"];
const SLO_KEYS: &[&str] = &["error_rate", "p50", "p99"];
const RESOURCES_KEYS: &[&str] = &["cpu", "memory"];
const AUTOSCALE_KEYS: &[&str] = &["min", "max", "cpu_percent"];
const INGRESS_KEYS: &[&str] = &["host", "path", "tls_secret", "class"];
const DAPR_KEYS: &[&str] = &["enabled", "app_id"];
const KUBERNETES_KEYS: &[&str] = &["contexts", "namespace", "create_namespace", "history_limit"];
const HOSTS_KEYS: &[&str] = &[
    "targets",
    "user",
    "port",
    "identity",
    "parallel",
    "http",
    "https",
    "tls_cert",
    "tls_key",
    "domains",
    "acme_email",
    "acme_directory",
    "acme_ca",
    "engine",
];
const CI_KEYS: &[&str] = &["deploy", "runs_on", "test"];
const VERIFY_KEYS: &[&str] = &["chaos", "prometheus"];
const PROMETHEUS_KEYS: &[&str] = &["url", "requests", "errors", "latency"];
const CHAOS_KEYS: &[&str] = &["step", "kill", "latency", "abort", "reset", "cpu"];

/// Every key the parser accepts, as `(table, key)`: what the reference must document (a test
/// holds them to each other). The probe keys are listed once, under `run.health`.
#[cfg(test)]
pub(crate) fn accepted_keys() -> Vec<(&'static str, &'static str)> {
    let tables: [(&str, &[&str]); 19] = [
        ("app", APP_KEYS),
        ("build", BUILD_KEYS),
        ("image", IMAGE_KEYS),
        ("run", RUN_KEYS),
        ("run.state", STATE_KEYS),
        ("run.health", HEALTH_KEYS),
        ("run.rollout", ROLLOUT_KEYS),
        ("run.rollout.sticky", STICKY_KEYS),
        ("run.rollout.slo", SLO_KEYS),
        ("run.rollout.synthetic", SYNTHETIC_KEYS),
        ("run.resources", RESOURCES_KEYS),
        ("run.autoscale", AUTOSCALE_KEYS),
        ("run.ingress", INGRESS_KEYS),
        ("dapr", DAPR_KEYS),
        ("kubernetes", KUBERNETES_KEYS),
        ("hosts", HOSTS_KEYS),
        ("ci", CI_KEYS),
        ("verify.chaos", CHAOS_KEYS),
        ("verify.prometheus", PROMETHEUS_KEYS),
    ];
    debug_assert!(PROBE_KEYS.iter().all(|k| HEALTH_KEYS.contains(k)));
    tables
        .iter()
        .flat_map(|(t, keys)| keys.iter().map(move |k| (*t, *k)))
        .collect()
}

/// The file: the base spec and every overlay, by environment name.
pub(crate) struct Document {
    pub(crate) base: Partial,
    pub(crate) environments: BTreeMap<String, Overlay>,
}

/// One `[environments.NAME]` table: its name (where it is written) and its overlay.
pub(crate) struct Overlay {
    pub(crate) name: Field<()>,
    pub(crate) partial: Partial,
}

/// Parses TOML and reads the base and all overlays, refusing unknown keys and wrong types.
pub(crate) fn document(src: &Source<'_>) -> Result<Document> {
    let parsed = DeTable::parse(src.text()).map_err(|e| ConfigError::Syntax {
        location: Box::new(src.locate(&e.span().unwrap_or(0..0))),
        message: e.message().trim_end().to_owned(),
    })?;
    let root = Table::root(src, &parsed);
    root.check_keys(ROOT_KEYS)?;
    Ok(Document {
        base: partial(&root)?,
        environments: environments(&root)?,
    })
}

/// One `--set` overlay: the same keys as an `[environments.NAME]` table.
pub(crate) fn overlay(src: &Source<'_>) -> Result<Partial> {
    let parsed = DeTable::parse(src.text()).map_err(|e| ConfigError::Syntax {
        location: Box::new(src.locate(&e.span().unwrap_or(0..0))),
        message: e.message().trim_end().to_owned(),
    })?;
    let root = Table::root(src, &parsed);
    root.check_keys(OVERLAY_KEYS)?;
    partial(&root)
}

fn environments(root: &Table<'_, '_>) -> Result<BTreeMap<String, Overlay>> {
    let mut out = BTreeMap::new();
    let Some(table) = root.table("environments")? else {
        return Ok(out);
    };
    for (name, at) in table.names() {
        let key = Field {
            value: (),
            key: table.key(name),
            at,
        };
        names::dns_label(name).map_err(|e| key.invalid(format!("bad environment name: {e}")))?;
        let overlay = table.table(name)?.expect("listed key exists");
        overlay.check_keys(OVERLAY_KEYS)?;
        let partial = partial(&overlay)?;
        out.insert(name.to_owned(), Overlay { name: key, partial });
    }
    Ok(out)
}

/// The sections of the file, or of one overlay.
fn partial(t: &Table<'_, '_>) -> Result<Partial> {
    let mut p = Partial::default();
    if let Some(app) = t.table("app")? {
        p.app = app_part(&app)?;
    }
    if let Some(build) = t.table("build")? {
        p.build = build_part(&build)?;
    }
    if let Some(image) = t.table("image")? {
        p.image = image_part(&image)?;
    }
    if let Some(run) = t.table("run")? {
        p.run = run_part(&run)?;
    }
    p.config = t.string_map("config")?;
    p.dapr = t.table("dapr")?.map(|d| dapr_part(&d)).transpose()?;
    p.kubernetes = t
        .table("kubernetes")?
        .map(|k| kubernetes_part(&k))
        .transpose()?;
    p.hosts = t.table("hosts")?.map(|h| hosts_part(&h)).transpose()?;
    p.ci = t.table("ci")?.map(|c| ci_part(&c)).transpose()?;
    p.verify = t.table("verify")?.map(|v| verify_part(&v)).transpose()?;
    Ok(p)
}

fn verify_part(t: &Table<'_, '_>) -> Result<VerifyPart> {
    t.check_keys(VERIFY_KEYS)?;
    Ok(VerifyPart {
        chaos: t.table("chaos")?.map(|c| chaos_part(&c)).transpose()?,
        prometheus: t
            .table("prometheus")?
            .map(|p| prometheus_part(&p))
            .transpose()?,
    })
}

fn prometheus_part(t: &Table<'_, '_>) -> Result<PrometheusPart> {
    t.check_keys(PROMETHEUS_KEYS)?;
    Ok(PrometheusPart {
        at: t.as_field(),
        url: t.string("url")?,
        requests: t.string("requests")?,
        errors: t.string("errors")?,
        latency: t.string("latency")?,
    })
}

fn chaos_part(t: &Table<'_, '_>) -> Result<ChaosPart> {
    t.check_keys(CHAOS_KEYS)?;
    Ok(ChaosPart {
        at: t.as_field(),
        step: t.integer("step")?,
        kill: t.boolean("kill")?,
        latency: t.duration("latency")?,
        abort: t.string("abort")?,
        reset: t.string("reset")?,
        cpu: t.string("cpu")?,
    })
}

fn hosts_part(t: &Table<'_, '_>) -> Result<HostsPart> {
    t.check_keys(HOSTS_KEYS)?;
    Ok(HostsPart {
        targets: t.strings("targets")?,
        user: t.string("user")?,
        port: t.integer("port")?,
        identity: t.string("identity")?,
        parallel: t.int_or_percent("parallel")?,
        http: t.string("http")?,
        https: t.string("https")?,
        tls_cert: t.string("tls_cert")?,
        tls_key: t.string("tls_key")?,
        domains: t.strings("domains")?,
        acme_email: t.string("acme_email")?,
        acme_directory: t.string("acme_directory")?,
        acme_ca: t.string("acme_ca")?,
        engine: t.string("engine")?,
    })
}

fn ci_part(t: &Table<'_, '_>) -> Result<CiPart> {
    t.check_keys(CI_KEYS)?;
    Ok(CiPart {
        deploy: t.string_map("deploy")?,
        runs_on: t.strings("runs_on")?,
        test: t.strings("test")?,
    })
}

fn kubernetes_part(t: &Table<'_, '_>) -> Result<KubernetesPart> {
    t.check_keys(KUBERNETES_KEYS)?;
    Ok(KubernetesPart {
        contexts: t.strings("contexts")?,
        namespace: t.string("namespace")?,
        create_namespace: t.boolean("create_namespace")?,
        history_limit: t.integer("history_limit")?,
    })
}

fn dapr_part(t: &Table<'_, '_>) -> Result<DaprPart> {
    t.check_keys(DAPR_KEYS)?;
    Ok(DaprPart {
        enabled: t.boolean("enabled")?,
        app_id: t.string("app_id")?,
    })
}

fn app_part(t: &Table<'_, '_>) -> Result<AppPart> {
    t.check_keys(APP_KEYS)?;
    Ok(AppPart {
        at: Some(t.at().clone()),
        name: t.string("name")?,
        main: t.string("main")?,
        port: t.integer("port")?,
        args: t.strings("args")?,
    })
}

fn build_part(t: &Table<'_, '_>) -> Result<BuildPart> {
    t.check_keys(BUILD_KEYS)?;
    Ok(BuildPart {
        platforms: t.strings("platforms")?,
        base: t.string("base")?,
        tags: t.strings("tags")?,
        ldflags: t.strings("ldflags")?,
        version_var: t.string("version_var")?,
        commit_var: t.string("commit_var")?,
        cgo: t.boolean("cgo")?,
        env: t.string_map("env")?,
    })
}

fn image_part(t: &Table<'_, '_>) -> Result<ImagePart> {
    t.check_keys(IMAGE_KEYS)?;
    Ok(ImagePart {
        repository: t.string("repository")?,
        tags: t.strings("tags")?,
        labels: t.string_map("labels")?,
        source: t.string("source")?,
    })
}

fn run_part(t: &Table<'_, '_>) -> Result<RunPart> {
    t.check_keys(RUN_KEYS)?;
    Ok(RunPart {
        replicas: t.integer("replicas")?,
        driver: t.string("driver")?,
        env: t.string_map("env")?,
        health: t.table("health")?.map(|h| health_part(&h)).transpose()?,
        rollout: t
            .table("rollout")?
            .map(|r| rollout_part(&r))
            .transpose()?
            .unwrap_or_default(),
        resources: t
            .table("resources")?
            .map(|r| resources_part(&r))
            .transpose()?
            .unwrap_or_default(),
        autoscale: t
            .table("autoscale")?
            .map(|a| autoscale_part(&a))
            .transpose()?,
        ingress: t.table("ingress")?.map(|i| ingress_part(&i)).transpose()?,
        termination_grace: t.duration("termination_grace")?,
        state: state_part(t)?,
    })
}

fn state_part(t: &Table<'_, '_>) -> Result<Option<StatePart>> {
    Ok(match t.string_or_table("state")? {
        None => None,
        Some(StringOrTable::String(path)) => Some(StatePart {
            at: path.with(()),
            path: Some(path),
            writers: None,
            update: None,
            size: None,
        }),
        Some(StringOrTable::Table(s)) => {
            s.check_keys(STATE_KEYS)?;
            Some(StatePart {
                at: s.as_field(),
                path: s.string("path")?,
                writers: s.string("writers")?,
                update: s.string("update")?,
                size: s.quantity("size")?,
            })
        }
    })
}

fn health_part(t: &Table<'_, '_>) -> Result<HealthPart> {
    t.check_keys(HEALTH_KEYS)?;
    let probe = |name| -> Result<Option<ProbePart>> {
        let Some(table) = t.table(name)? else {
            return Ok(None);
        };
        table.check_keys(PROBE_KEYS)?;
        probe_part(&table).map(Some)
    };
    Ok(HealthPart {
        common: probe_part(t)?,
        readiness: probe("readiness")?,
        liveness: probe("liveness")?,
        startup: probe("startup")?,
    })
}

fn probe_part(t: &Table<'_, '_>) -> Result<ProbePart> {
    Ok(ProbePart {
        at: t.as_field(),
        path: t.string("path")?,
        port: t.integer("port")?,
        tcp: t.boolean("tcp")?,
        exec: t.strings("exec")?,
        initial_delay: t.duration("initial_delay")?,
        period: t.duration("period")?,
        timeout: t.duration("timeout")?,
        success_threshold: t.integer("success_threshold")?,
        failure_threshold: t.integer("failure_threshold")?,
    })
}

fn rollout_part(t: &Table<'_, '_>) -> Result<RolloutPart> {
    t.check_keys(ROLLOUT_KEYS)?;
    Ok(RolloutPart {
        max_surge: t.int_or_percent("max_surge")?,
        max_unavailable: t.int_or_percent("max_unavailable")?,
        deadline: t.duration("deadline")?,
        strategy: t.string("strategy")?,
        steps: t.integers("steps")?,
        interval: t.duration("interval")?,
        min_sample: t.integer("min_sample")?,
        max_wait: t.duration("max_wait")?,
        sticky: t.table("sticky")?.map(|s| sticky_part(&s)).transpose()?,
        slo: t.table("slo")?.map(|s| slo_part(&s)).transpose()?,
        synthetic: t
            .table("synthetic")?
            .map(|s| synthetic_part(&s))
            .transpose()?,
    })
}

fn synthetic_part(t: &Table<'_, '_>) -> Result<SyntheticPart> {
    t.check_keys(SYNTHETIC_KEYS)?;
    Ok(SyntheticPart {
        at: t.as_field(),
        paths: t.strings("paths")?,
        rate: t.rate("rate")?,
    })
}

fn sticky_part(t: &Table<'_, '_>) -> Result<StickyPart> {
    t.check_keys(STICKY_KEYS)?;
    Ok(StickyPart {
        at: t.as_field(),
        cookie: t.string("cookie")?,
        header: t.string("header")?,
    })
}

fn slo_part(t: &Table<'_, '_>) -> Result<SloPart> {
    t.check_keys(SLO_KEYS)?;
    Ok(SloPart {
        at: t.as_field(),
        error_rate: t.bounds("error_rate")?,
        p50: t.bounds("p50")?,
        p99: t.bounds("p99")?,
    })
}

fn resources_part(t: &Table<'_, '_>) -> Result<ResourcesPart> {
    t.check_keys(RESOURCES_KEYS)?;
    Ok(ResourcesPart {
        cpu: t.quantity("cpu")?,
        memory: t.quantity("memory")?,
    })
}

fn autoscale_part(t: &Table<'_, '_>) -> Result<AutoscalePart> {
    t.check_keys(AUTOSCALE_KEYS)?;
    Ok(AutoscalePart {
        at: t.as_field(),
        min: t.integer("min")?,
        max: t.integer("max")?,
        cpu_percent: t.integer("cpu_percent")?,
    })
}

fn ingress_part(t: &Table<'_, '_>) -> Result<IngressPart> {
    t.check_keys(INGRESS_KEYS)?;
    Ok(IngressPart {
        host: t.string("host")?,
        path: t.string("path")?,
        tls_secret: t.string("tls_secret")?,
        class: t.string("class")?,
    })
}
