//! The container driver against real engines: dockerd (`DOCKER_HOST`) and podman's Docker API
//! (`HOIST_TEST_PODMAN_SOCKET`), both started by `scripts/engines`. Every test runs on both and
//! fails, not skips, when an engine is missing.
//!
//! The images are built from the Go fixtures (examples/hello and tests/fixtures/webapp, the
//! service with the misbehaviours the tests need) by [`images`], never pulled. Every container a
//! test starts carries a label unique to the test, and a guard removes all of them when the test
//! ends, even when it panics.

mod images;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use hoist_runtime::driver::container::{
    ContainerError, ContainerReplica, ContainerSpec, Engine, MANAGED_LABEL,
};
use hoist_runtime::driver::{free_port, is_listening};
use hoist_runtime::logs::LogPolicy;
use hoist_test::http::get_ok_async;
use hoist_test::names::unique;
use hoist_test::registry::Registry;
use images::{ARCHIVES, push_webapp};

/// The label that ties a container to the test that started it.
const TEST_LABEL: &str = "dev.hoist.test.run";

/// The app's port inside every test container.
const APP_PORT: u16 = 8080;

// ---------------------------------------------------------------------------------------------
// engines

#[derive(Clone, Copy, Debug)]
enum Which {
    Docker,
    Podman,
}

impl Which {
    fn host(self) -> String {
        hoist_test::engines::required(match self {
            Which::Docker => "DOCKER_HOST",
            Which::Podman => "HOIST_TEST_PODMAN_SOCKET",
        })
    }
}

/// One test's view of one engine: a connection, a label value only this test uses, and a
/// scratch directory for logs. Dropping it removes every container with that label.
struct Test {
    which: Which,
    engine: Engine,
    run: String,
    dir: tempfile::TempDir,
}

impl Test {
    async fn new(which: Which) -> Self {
        let host = which.host();
        let engine = Engine::connect(Some(&host))
            .await
            .unwrap_or_else(|e| panic!("{which:?} at {host}: {}", report(&e)));
        Self {
            which,
            engine,
            run: unique("run"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A spec for `image` named and labelled for this test, with its log in the scratch dir.
    fn spec(&self, image: &str, replica: &str) -> ContainerSpec {
        ContainerSpec {
            image: image.to_owned(),
            name: unique(&format!("hoist-test-{replica}")),
            env: BTreeMap::from([("LOG_LEVEL".to_owned(), "debug".to_owned())]),
            container_port: APP_PORT,
            args: vec![],
            volume: None,
            host_port: free_port().expect("a free port"),
            labels: BTreeMap::from([
                (TEST_LABEL.to_owned(), self.run.clone()),
                ("dev.hoist.replica".to_owned(), replica.to_owned()),
            ]),
            log: LogPolicy {
                path: self.dir.path().join(format!("logs/{replica}.log")),
                max_bytes: 1 << 20,
                keep: 2,
            },
        }
    }

    async fn load(&self, archive: &Path) -> String {
        self.engine
            .load_archive(archive)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {}", self.which, report(&e)))
    }

    async fn start(&self, spec: &ContainerSpec) -> ContainerReplica {
        self.engine
            .start(spec)
            .await
            .unwrap_or_else(|e| panic!("{:?}: {}", self.which, report(&e)))
    }

    /// This test's containers, as the engine lists them.
    async fn containers(&self) -> Vec<hoist_runtime::driver::container::ContainerInfo> {
        self.engine
            .list_labelled(TEST_LABEL, &self.run)
            .await
            .expect("list")
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        let engine = self.engine.clone();
        let run = self.run.clone();
        // Drop cannot await, and the test's runtime may be gone (a panic): use one of our own.
        let cleaned = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                for c in engine.list_labelled(TEST_LABEL, &run).await? {
                    engine.remove(&c.id).await?;
                }
                Ok::<_, ContainerError>(())
            })
        })
        .join();
        if let Ok(Err(e)) = cleaned {
            eprintln!(
                "cleaning up the containers labelled {TEST_LABEL}={}: {e}",
                self.run
            );
        }
    }
}

/// `127.0.0.1:PORT`: where the engine publishes a replica's port.
fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The error and its causes, one per line.
fn report(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}\n  caused by: {c}");
        cause = c.source();
    }
    s
}

/// The replica's log, once the driver has written it.
fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Waits until the replica's log contains `needle`.
async fn wait_for_log(path: &Path, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(path).is_ok_and(|log| log.contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "`{needle}` is not in {} after 10 s",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs an async test body once per engine, as `NAME::docker` and `NAME::podman`.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn docker() {
                super::$name(super::Which::Docker).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn podman() {
                super::$name(super::Which::Podman).await;
            }
        }
    )*};
}

on_both_engines!(
    two_hello_replicas_answer_side_by_side_and_log,
    exec_probes_run_inside_the_container,
    stop_is_sigterm_then_sigkill_after_the_grace,
    a_crash_is_seen_with_its_exit_code,
    a_running_replica_is_adopted_and_listed,
    an_image_for_another_architecture_is_told_apart,
    a_start_that_fails_leaves_no_container,
    an_image_is_pulled_by_digest_from_a_local_registry,
);

// ---------------------------------------------------------------------------------------------
// the tests

async fn two_hello_replicas_answer_side_by_side_and_log(which: Which) {
    let t = Test::new(which).await;
    let expected = match which {
        Which::Docker => "docker ",
        Which::Podman => "podman ",
    };
    assert!(
        t.engine.describe().starts_with(expected),
        "{}",
        t.engine.describe()
    );
    let image = t.load(ARCHIVES.hello()).await;
    assert!(image.contains("hoist-runtime-hello:"), "loaded `{image}`");
    let platform = t.engine.platform().await.unwrap();
    assert_eq!(platform, "linux/amd64");
    assert_eq!(t.engine.image_platform(&image).await.unwrap(), platform);

    // One port chosen by the caller, one by the engine; the app listens on 8080 in both.
    let a = t.spec(&image, "a");
    let mut b = t.spec(&image, "b");
    b.host_port = 0;
    let (ra, rb) = (t.start(&a).await, t.start(&b).await);
    assert_eq!(ra.host_port(), a.host_port);
    assert_ne!(rb.host_port(), 0, "the engine's pick is reported");
    assert_ne!(ra.host_port(), rb.host_port());
    for r in [&ra, &rb] {
        let body = get_ok_async(local(r.host_port()), "/", Duration::from_secs(30)).await;
        assert!(body.starts_with("hello from hoist (version dev"), "{body}");
        assert_eq!(
            get_ok_async(local(r.host_port()), "/healthz", Duration::from_secs(5)).await,
            "ok\n"
        );
        assert_eq!(r.try_exited().await.unwrap(), None);
        assert!(r.uptime() > Duration::ZERO);
    }
    let listed = t.containers().await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed
            .iter()
            .all(|c| c.running && c.labels[MANAGED_LABEL] == "true")
    );

    for (spec, r) in [(&a, &ra), (&b, &rb)] {
        let port = r.host_port();
        let (code, killed) = r.stop(Duration::from_secs(10)).await.unwrap();
        assert!(!killed, "Go exits on SIGTERM; no SIGKILL needed");
        // hello does not handle SIGTERM, and as the container's init it cannot die of it: Go
        // then exits 2.
        assert_eq!(code, 2);
        assert!(!is_listening(port, Duration::from_millis(200)).await);
        let log = read_log(&spec.log.path);
        assert!(log.contains("listening on :8080"), "{log}");
    }
    assert!(
        t.containers().await.is_empty(),
        "stop removes the containers"
    );
}

async fn exec_probes_run_inside_the_container(which: Which) {
    let t = Test::new(which).await;
    let image = t.load(ARCHIVES.webapp()).await;
    let spec = t.spec(&image, "probed");
    let r = t.start(&spec).await;
    get_ok_async(local(r.host_port()), "/healthz", Duration::from_secs(30)).await;
    let app = |args: &[&str]| -> Vec<String> {
        std::iter::once("/app/hoist-runtime-webapp")
            .chain(args.iter().copied())
            .map(str::to_owned)
            .collect()
    };
    let probe = Duration::from_secs(10);

    // The probe reaches the app on $PORT inside the container's own network namespace.
    assert_eq!(r.exec(&app(&["-check"]), probe).await.unwrap(), 0);
    assert_eq!(r.exec(&app(&["-exit", "7"]), probe).await.unwrap(), 7);
    let missing = r.exec(&["/app/no-such-probe".to_owned()], probe).await;
    // Like a shell's: 126 from dockerd ("cannot execute"), 127 from podman ("not found").
    assert!(
        matches!(missing, Ok(126 | 127)),
        "a probe that cannot run must fail: {missing:?}"
    );

    let began = Instant::now();
    let hung = r
        .exec(&app(&["-sleep", "30s"]), Duration::from_millis(500))
        .await;
    assert!(
        matches!(hung, Err(ContainerError::ExecTimeout { .. })),
        "{hung:?}"
    );
    assert!(began.elapsed() < Duration::from_secs(5));
    r.stop(Duration::from_secs(5)).await.unwrap();

    let stopped = r.exec(&app(&["-check"]), probe).await;
    assert!(
        matches!(stopped, Err(ContainerError::Exec { .. })),
        "{stopped:?}"
    );
}

async fn stop_is_sigterm_then_sigkill_after_the_grace(which: Which) {
    let t = Test::new(which).await;
    let image = t.load(ARCHIVES.webapp()).await;

    let polite = t.spec(&image, "polite");
    let r = t.start(&polite).await;
    get_ok_async(local(r.host_port()), "/healthz", Duration::from_secs(30)).await;
    let began = Instant::now();
    assert_eq!(r.stop(Duration::from_secs(10)).await.unwrap(), (0, false));
    assert!(
        began.elapsed() < Duration::from_secs(8),
        "it exits on SIGTERM, not after the grace"
    );
    assert!(read_log(&polite.log.path).contains("webapp got SIGTERM"));
    assert_eq!(
        r.stop(Duration::from_secs(10)).await.unwrap(),
        (0, false),
        "a second stop reports the first"
    );

    let mut stubborn = t.spec(&image, "stubborn");
    stubborn
        .env
        .insert("IGNORE_TERM".to_owned(), "1".to_owned());
    let r = t.start(&stubborn).await;
    get_ok_async(local(r.host_port()), "/healthz", Duration::from_secs(30)).await;
    let began = Instant::now();
    let (code, killed) = r.stop(Duration::from_millis(300)).await.unwrap();
    assert!(
        killed,
        "SIGTERM is ignored, so the grace period must end in SIGKILL"
    );
    assert_eq!(code, 137);
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "300 ms of grace is one whole second of the engine's stop timeout; took {took:?}"
    );
    assert!(
        t.containers().await.is_empty(),
        "stop removes the containers"
    );
    assert_eq!(r.try_exited().await.unwrap(), Some(137));
}

async fn a_crash_is_seen_with_its_exit_code(which: Which) {
    let t = Test::new(which).await;
    let image = t.load(ARCHIVES.webapp()).await;
    let mut spec = t.spec(&image, "crashing");
    spec.env.insert("EXIT_CODE".to_owned(), "3".to_owned());
    let r = t.start(&spec).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(code) = r.try_exited().await.unwrap() {
            break code;
        }
        assert!(Instant::now() < deadline, "the replica did not exit");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(code, 3);
    let listed = t.containers().await;
    assert!(
        listed.len() == 1 && !listed[0].running,
        "an exited replica stays until stopped, for its exit code: {listed:?}"
    );
    assert_eq!(r.stop(Duration::from_secs(1)).await.unwrap(), (3, false));
    assert!(read_log(&spec.log.path).contains("webapp exiting with 3"));
    assert!(t.containers().await.is_empty());
}

async fn a_running_replica_is_adopted_and_listed(which: Which) {
    let t = Test::new(which).await;
    let image = t.load(ARCHIVES.webapp()).await;
    let spec = t.spec(&image, "adopted");
    let first = t.start(&spec).await;
    get_ok_async(
        local(first.host_port()),
        "/healthz",
        Duration::from_secs(30),
    )
    .await;
    let (id, port) = (first.id().to_owned(), first.host_port());
    // The engine's log stream may lag behind the app (podman's does): the first line is in.
    wait_for_log(&spec.log.path, "listening on :").await;
    // The agent "crashes": its handle (and the copying of the output) goes away.
    drop(first);
    // Past the second of the replica's first lines: `since` counts whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let listed = t.containers().await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].name, spec.name);
    assert!(listed[0].running);
    assert_eq!(listed[0].labels["dev.hoist.replica"], "adopted");
    assert!(
        t.engine
            .list_labelled(TEST_LABEL, "another-run")
            .await
            .unwrap()
            .is_empty()
    );

    let r = t
        .engine
        .adopt(&id)
        .await
        .unwrap()
        .expect("the container exists");
    assert_eq!(r.id(), id);
    assert_eq!(r.host_port(), port);
    assert_eq!(r.try_exited().await.unwrap(), None);
    assert!(
        r.uptime() >= Duration::from_secs(1),
        "uptime counts from the engine's start"
    );
    assert!(
        get_ok_async(local(port), "/", Duration::from_secs(5))
            .await
            .starts_with("webapp ")
    );

    assert_eq!(r.stop(Duration::from_secs(10)).await.unwrap(), (0, false));
    let log = read_log(&spec.log.path);
    assert_eq!(
        log.matches("listening on :").count(),
        1,
        "no line twice:\n{log}"
    );
    assert_eq!(
        log.matches("webapp got SIGTERM").count(),
        1,
        "the adopted replica's output is followed again:\n{log}"
    );
    assert!(
        t.engine.adopt(&id).await.unwrap().is_none(),
        "removed: nothing to adopt"
    );
}

async fn an_image_for_another_architecture_is_told_apart(which: Which) {
    let t = Test::new(which).await;
    // Both engines load an image for another architecture (they only refuse to run it).
    let arm = t.load(ARCHIVES.webapp_arm64()).await;
    assert_eq!(t.engine.image_platform(&arm).await.unwrap(), "linux/arm64");
    let err = t.engine.check_platform(&arm).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, ContainerError::WrongPlatform { .. })
            && msg.contains("linux/arm64")
            && msg.contains("linux/amd64"),
        "{msg}"
    );
    let amd = t.load(ARCHIVES.webapp()).await;
    t.engine.check_platform(&amd).await.unwrap();
    let missing = t
        .engine
        .image_platform("hoist-runtime-no-such-image:v0")
        .await;
    assert!(
        matches!(missing, Err(ContainerError::ImageNotFound { .. })),
        "{missing:?}"
    );
}

async fn a_start_that_fails_leaves_no_container(which: Which) {
    let t = Test::new(which).await;
    let image = t.load(ARCHIVES.webapp()).await;
    // The host port is taken: the engine cannot publish it.
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let mut spec = t.spec(&image, "blocked");
    spec.host_port = taken.local_addr().unwrap().port();
    let err = t.engine.start(&spec).await.expect_err("the port is taken");
    assert!(
        matches!(
            err,
            ContainerError::Container {
                action: "start",
                ..
            }
        ),
        "{}",
        report(&err)
    );
    assert!(err.to_string().contains(&spec.name), "{err}");
    assert!(
        t.containers().await.is_empty(),
        "the failed container is removed"
    );

    let missing = t.spec("hoist-runtime-no-such-image:v0", "imageless");
    let err = t.engine.start(&missing).await.expect_err("no such image");
    assert!(
        matches!(
            err,
            ContainerError::Container {
                action: "create",
                ..
            }
        ),
        "{}",
        report(&err)
    );
}

async fn an_image_is_pulled_by_digest_from_a_local_registry(which: Which) {
    let t = Test::new(which).await;
    let registry = Registry::plain();
    let pinned = push_webapp(&registry.addr);
    let pulled = t.engine.pull(&pinned).await;
    match which {
        Which::Docker => {
            // dockerd treats 127.0.0.0/8 registries as insecure: plain http is fine.
            pulled.unwrap_or_else(|e| panic!("{}", report(&e)));
            let docker = hoist_test::engines::Engine::docker();
            docker.remove_image_later(&pinned);
            assert_eq!(
                t.engine.image_platform(&pinned).await.unwrap(),
                "linux/amd64"
            );
            let r = t.start(&t.spec(&pinned, "pulled")).await;
            assert!(
                get_ok_async(local(r.host_port()), "/", Duration::from_secs(30))
                    .await
                    .starts_with("webapp ")
            );
            r.stop(Duration::from_secs(5)).await.unwrap();
        }
        Which::Podman => {
            // podman's API pulls over TLS unless registries.conf marks the registry insecure,
            // and it takes no flag for it: the driver reports the engine's refusal.
            let err = pulled.expect_err("podman's API pulls only over TLS here");
            assert!(
                matches!(&err, ContainerError::Pull { reference, .. } if *reference == pinned),
                "{}",
                report(&err)
            );
            assert!(report(&err).contains("HTTPS"), "{}", report(&err));
        }
    }
}

/// The agent drives replicas from spawned tasks: handles are `Send + Sync`, and so are the
/// futures of every call (checked by the compiler; never run).
#[allow(dead_code)]
async fn the_driver_can_be_used_from_spawned_tasks(
    e: Engine,
    r: ContainerReplica,
    s: ContainerSpec,
) {
    fn send<T: Send>(t: T) -> T {
        t
    }
    fn send_sync<T: Send + Sync>(_: &T) {}
    send_sync(&e);
    send_sync(&r);
    let _ = send(Engine::connect(None)).await;
    let _ = send(e.platform()).await;
    let _ = send(e.load_archive(Path::new("x"))).await;
    let _ = send(e.pull("x")).await;
    let _ = send(e.image_platform("x")).await;
    let _ = send(e.start(&s)).await;
    let _ = send(e.adopt("x")).await;
    let _ = send(e.list_labelled("k", "v")).await;
    let _ = send(e.remove("x")).await;
    let _ = send(r.try_exited()).await;
    let _ = send(r.stop(Duration::ZERO)).await;
    let _ = send(r.exec(&[], Duration::ZERO)).await;
}

#[tokio::test]
async fn a_missing_engine_is_named_with_what_to_start() {
    let err = Engine::connect(Some("unix:///nonexistent/podman.sock"))
        .await
        .expect_err("nothing listens there");
    let msg = err.to_string();
    for needle in [
        "unix:///nonexistent/podman.sock",
        "dockerd",
        "podman system service",
    ] {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    let err = Engine::connect(Some("ftp://example"))
        .await
        .expect_err("not an engine address");
    assert!(
        matches!(err, ContainerError::UnsupportedHost { .. }),
        "{err}"
    );
}
