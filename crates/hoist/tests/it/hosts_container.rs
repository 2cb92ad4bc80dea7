//! `run.driver = "container"` on hosts: the image hoist builds goes to each host as its
//! docker-archive parts (the config and each layer, by content address, only those the host
//! lacks, the app's layer as a delta against the last deploy's), the host's agent assembles
//! and loads it into that host's own engine (a dockerd in the host's namespace,
//! `hoist_test::host_engine`), and rolls it out behind its own proxy. No registry anywhere.
//! Root, openssh-server, docker.io and wrk are needed; without them the tests fail.

use hoist_test::hosts::TestHosts;

use crate::Hoist as _;

use crate::hosts_deploy::{
    answer, as_containers, deploy_json, drift, hello_on, load, no_request_failed, on_hosts, run,
};

/// The hello image's parts: its config, the static base layer and the app's layer.
const PARTS: usize = 3;

#[test]
fn an_image_reaches_each_host_as_the_layers_it_lacks_and_runs_in_that_hosts_engine() {
    let hosts = TestHosts::start(2);
    let p = hello_on(&hosts);
    as_containers(&p);
    let dir = p.dir_str().to_owned();

    // Host 2 has no engine yet: host 1 is deployed, host 2 fails with what to do, and host 1
    // keeps the revision (nothing served there before).
    let engine1 = hosts.start_engine(0);
    let (ends, stderr) = deploy_json(&p, &hosts, 1);
    assert_eq!(ends[0]["outcome"], "kept", "{ends:?}\n{stderr}");
    assert_eq!(ends[1]["outcome"], "refused", "{ends:?}\n{stderr}");
    assert!(
        stderr.contains("FAIL hoist-h2: its agent refused the revision; nothing serves"),
        "{stderr}"
    );
    let reason = ends[1]["reason"].as_str().unwrap();
    let socket2 = hosts.hosts[1].home.join("docker.sock");
    assert!(
        reason.contains(&socket2.display().to_string()),
        "the engine it tried, as the host sees it: {reason}"
    );
    assert!(stderr.contains("hosts.engine"), "{stderr}");
    assert!(answer(&hosts, 0).starts_with("hello from hoist"));
    let first_sent = ends[0]["sent_bytes"].as_u64().unwrap();
    assert!(
        first_sent > 1_000_000,
        "the image's layers went to host 1: {}",
        ends[0]
    );
    assert_eq!(
        ends[1]["sent_bytes"], first_sent,
        "every host is sent its parts before any wave: {}",
        ends[1]
    );
    assert_eq!(
        stderr
            .matches(&format!("{PARTS} of {PARTS} image parts"))
            .count(),
        2,
        "{stderr}"
    );
    let replicas = engine1.running();
    assert_eq!(replicas.len(), 2, "two replica containers: {replicas:?}");

    // With its engine, host 2 serves too; neither host is sent anything again.
    let engine2 = hosts.start_engine(1);
    let (ends, stderr) = deploy_json(&p, &hosts, 0);
    for h in &ends {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert_eq!(h["sent_bytes"], 0, "it had every part: {h}");
    }
    assert!(answer(&hosts, 1).starts_with("hello from hoist"));
    assert_eq!(engine2.running().len(), 2);

    // A one-line change under load: only the config and the app's layer go, the layer as a
    // delta, and no request fails while each host's containers are replaced.
    p.edit("main.go", "hello from hoist", "hello again from hoist");
    let loads: Vec<_> = (0..2).map(|i| load(&hosts, i, 25)).collect();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let (changed, stderr) = deploy_json(&p, &hosts, 0);
    let took = started.elapsed();
    eprintln!("the one-line change's deploy:\n{stderr}");
    for (i, h) in changed.iter().enumerate() {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        let sent = h["sent_bytes"].as_u64().unwrap();
        assert!(
            sent > 0 && sent < first_sent,
            "not the base layer again: {sent} of {first_sent}"
        );
        let wire = h["wire_bytes"].as_u64().unwrap();
        assert!(
            wire < 64 * 1024,
            "the app's layer as a delta against the last deploy's: {wire} bytes on the wire"
        );
        assert!(answer(&hosts, i).starts_with("hello again from hoist"));
    }
    assert_eq!(
        stderr
            .matches(&format!("2 of {PARTS} image parts, 1 as a delta"))
            .count(),
        2,
        "{stderr}"
    );
    assert!(
        took < std::time::Duration::from_secs(22),
        "the load must cover the whole deploy: it took {took:?}; lengthen the load"
    );
    no_request_failed(loads);
    // The engine of each host holds the new image under its tag, loaded there, not pulled.
    let images = engine1.docker(&["image", "ls", "--format", "{{.Repository}}"]);
    assert!(String::from_utf8_lossy(&images.stdout).contains("hello"));

    // Status: both serve the last deploy's image (its id is the config's digest).
    assert_eq!(drift(&p, &hosts, 0), [false, false]);

    // Host 2 back one revision: the first version again, and status says it drifted.
    let (_, stderr) = run(
        on_hosts(
            &p,
            &hosts,
            &["rollback", "-C", &dir],
            &["--host", "hoist-h2"],
        ),
        0,
    );
    assert!(stderr.contains("ok hoist-h2: rolled back"), "{stderr}");
    assert!(answer(&hosts, 1).starts_with("hello from hoist"));
    assert_eq!(drift(&p, &hosts, 1), [false, true]);

    // Stopped everywhere: no replica container is left in either engine.
    run(on_hosts(&p, &hosts, &["stop", "-C", &dir], &[]), 0);
    assert_eq!(engine1.running(), Vec::<String>::new());
    assert_eq!(engine2.running(), Vec::<String>::new());
}

/// go-httpbin, a public service nobody here wrote (through the Go module proxy, as the corpus
/// tier fetches it), with hoist.toml exactly as `hoist init` writes it plus the two `[hosts]`
/// lines: deployed as containers to a host with its own engine, it answers through that
/// host's proxy.
#[test]
fn a_public_service_as_hoist_init_writes_it_runs_in_a_hosts_engine() {
    let hosts = TestHosts::start(1);
    let engine = hosts.start_engine(0);
    let p = crate::corpus::corpus("httpbin");
    p.hoist(&["init", p.dir_str(), "--main", "./cmd/go-httpbin"])
        .assert()
        .success();
    p.write(
        "hoist.toml",
        &format!(
            "{}\n[hosts]\ntargets = [\"{}\"]\nengine = \"unix://$HOME/docker.sock\"\n",
            p.read("hoist.toml"),
            hosts.hosts[0].alias
        ),
    );
    let dir = p.dir_str().to_owned();
    let (stdout, stderr) = run(
        on_hosts(
            &p,
            &hosts,
            &["deploy", &dir],
            &["--driver", "container", "--json"],
        ),
        0,
    );
    let ends = hoist_test::cli::json(&stdout);
    assert_eq!(ends[0]["outcome"], "deployed", "{stderr}");
    let out = hosts.exec(
        0,
        "curl -sS --max-time 5 http://127.0.0.1:8080/get?from=host",
    );
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("\"from\"") && body.contains("\"headers\""),
        "httpbin's /get answered through the host's proxy: {body}"
    );
    let running = engine.running();
    assert_eq!(running.len(), 1, "one replica container: {running:?}");
}
