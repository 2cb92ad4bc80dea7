//! Hosts of another architecture: the host's `uname -m` decides what is built and installed.
//! An arm64 test host is a namespace host whose login shell is an arm64 busybox run by
//! qemu-user (`TestHosts::make_arm64`, set up by `scripts/arm64-host`, which also builds this
//! hoist for aarch64): it says `aarch64`, and runs the arm64 hoist and the arm64 app hoist sends
//! it. Root, openssh-server, qemu-user-static with binfmt_misc and the cross build are needed;
//! without them the tests fail.

use std::path::Path;

use hoist_test::cli::json;
use hoist_test::elf::elf_machine;
use hoist_test::hosts::TestHosts;
use hoist_test::project::Project;

use crate::Hoist as _;

use crate::hosts_deploy::{answer, as_containers, drift, hello_on, on_hosts, run};

/// ELF's machine number of aarch64.
const AARCH64: u16 = 183;
/// ELF's machine number of x86-64.
const X86_64: u16 = 62;

/// `hoist deploy --target hosts --json` with HOIST_BINARIES = `bins`: one object per host.
fn deploy(
    p: &Project,
    hosts: &TestHosts,
    bins: &Path,
    code: i32,
) -> (Vec<serde_json::Value>, String) {
    let dir = p.dir_str().to_owned();
    let mut cmd = on_hosts(p, hosts, &["deploy", &dir], &["--json"]);
    cmd.env("HOIST_BINARIES", bins);
    let (stdout, stderr) = run(cmd, code);
    (json(&stdout).as_array().unwrap().clone(), stderr)
}

/// This hoist built for aarch64 (`scripts/arm64-host` builds it).
fn arm64_hoist() -> String {
    std::env::var("HOIST_TEST_ARM64_HOIST").expect(
        "HOIST_TEST_ARM64_HOIST names hoist built for aarch64: `eval \"$(scripts/arm64-host)\"` (scripts/test does)",
    )
}

/// The ELF machine of a file on a host (its home is on this filesystem).
fn machine_of(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    elf_machine(&bytes)
}

/// The app's binaries in host `i`'s agent store.
fn app_binaries(hosts: &TestHosts, i: usize) -> Vec<std::path::PathBuf> {
    let store = hosts.hosts[i].home.join(".local/state/hoist/artifacts");
    std::fs::read_dir(&store)
        .unwrap_or_else(|e| panic!("{}: {e}", store.display()))
        .flatten()
        .map(|d| d.path().join("hello"))
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn an_arm64_host_gets_the_arm64_hoist_and_app_beside_an_amd64_host() {
    let arm64_hoist = arm64_hoist();
    let hosts = TestHosts::start(2);
    hosts.make_arm64(1);
    let p = hello_on(&hosts);
    let dir = p.dir_str().to_owned();
    let bins = tempfile::tempdir().unwrap();

    // `hosts check` says what each host is.
    let ssh_config = hosts.ssh_config();
    let (stdout, _) = run(
        p.hoist(&[
            "hosts",
            "check",
            &dir,
            "--ssh-config",
            ssh_config.to_str().unwrap(),
            "--json",
        ]),
        0,
    );
    let checked = json(&stdout);
    assert_eq!(checked[0]["arch"], "amd64", "{checked}");
    assert_eq!(checked[1]["arch"], "arm64", "uname -m of host 2: {checked}");

    // No hoist for arm64 here: host 2 is skipped saying what it is, the file hoist looked for
    // and where, and how to build it; host 1 deploys; nothing is installed on host 2.
    let (ends, stderr) = deploy(&p, &hosts, bins.path(), 1);
    assert_eq!(ends[0]["outcome"], "deployed", "{ends:?}\n{stderr}");
    assert_eq!(ends[1]["outcome"], "skipped", "{ends:?}\n{stderr}");
    assert_eq!(ends[1]["error_kind"], "platform", "{ends:?}");
    let reason = ends[1]["reason"].as_str().unwrap();
    for said in [
        "is linux/arm64",
        "`hoist-linux-arm64`",
        bins.path().to_str().unwrap(),
    ] {
        assert!(reason.contains(said), "{said:?} in: {reason}");
    }
    let hint = ends[1]["hint"].as_str().unwrap();
    assert!(
        hint.contains("cargo build --release --target aarch64-unknown-linux-gnu"),
        "{hint}"
    );
    assert!(
        !hosts.hosts[1].home.join(".local/share/hoist").exists(),
        "nothing installed on the arm64 host"
    );

    // A build that is not this version is refused on the host, and removed there.
    let other = bins.path().join("hoist-linux-arm64");
    std::fs::write(&other, "#!/bin/sh\necho hoist 0.0.1-other\n").unwrap();
    let (ends, stderr) = deploy(&p, &hosts, bins.path(), 1);
    assert_eq!(ends[1]["outcome"], "skipped", "{ends:?}\n{stderr}");
    assert_eq!(ends[1]["error_kind"], "foreign_version", "{ends:?}");
    assert!(
        ends[1]["reason"]
            .as_str()
            .unwrap()
            .contains("it says `hoist 0.0.1-other`"),
        "{ends:?}"
    );
    let left: Vec<_> = std::fs::read_dir(hosts.hosts[1].home.join(".local/share/hoist/bin"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no copy left on the host: {left:?}");

    // With this hoist's aarch64 build beside: both deploy, each its own platform's build.
    std::fs::remove_file(&other).unwrap();
    std::os::unix::fs::symlink(&arm64_hoist, &other).unwrap();
    let (ends, stderr) = deploy(&p, &hosts, bins.path(), 0);
    for (i, h) in ends.iter().enumerate() {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert!(
            answer(&hosts, i).starts_with("hello from hoist"),
            "host {i} serves hello through its own proxy"
        );
    }
    assert!(
        stderr.contains("go build linux/arm64"),
        "the app was built for arm64 too:\n{stderr}"
    );
    let installed = |i: usize| {
        machine_of(
            &hosts.hosts[i]
                .home
                .join(".local/share/hoist/bin/hoist")
                .canonicalize()
                .unwrap(),
        )
    };
    assert_eq!(installed(0), X86_64);
    assert_eq!(installed(1), AARCH64, "the arm64 host runs hoist for arm64");
    let apps = app_binaries(&hosts, 1);
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(machine_of(&apps[0]), AARCH64, "and the app built for arm64");
    assert_eq!(machine_of(&app_binaries(&hosts, 0)[0]), X86_64);
    assert_eq!(drift(&p, &hosts, 0), vec![false, false]);

    // A one-line change: host 2 gets the new arm64 binary as a delta against the one it runs.
    p.edit("main.go", "hello from hoist", "hello again from hoist");
    let (ends, stderr) = deploy(&p, &hosts, bins.path(), 0);
    for (i, h) in ends.iter().enumerate() {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert!(answer(&hosts, i).starts_with("hello again from hoist"));
        let wire = h["wire_bytes"].as_u64().unwrap();
        assert!(
            wire < 64 * 1024,
            "a delta: {wire} bytes on the wire\n{stderr}"
        );
    }
    assert_eq!(drift(&p, &hosts, 0), vec![false, false]);
    let (_, stderr) = run(on_hosts(&p, &hosts, &["stop", "-C", &dir], &[]), 0);
    for i in 0..2 {
        let out = hosts.exec(
            i,
            "curl -sS --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/",
        );
        assert_ne!(
            String::from_utf8_lossy(&out.stdout),
            "200",
            "host {i} stopped serving: {stderr}"
        );
    }
}

/// The container driver on an arm64 host: hoist builds the image for linux/arm64 and sends
/// its parts, which the host's agent (hoist for arm64) assembles for its engine. The test
/// host's engine is this machine's amd64 dockerd (no arm64 engine runs here), so the agent
/// refuses to load an image of another platform than its engine's, before anything changes:
/// what a real arm64 host's own engine would run is checked in its store.
#[test]
fn an_arm64_host_gets_the_image_built_for_arm64_and_its_agent_checks_its_engine() {
    let arm64_hoist = arm64_hoist();
    let hosts = TestHosts::start(1);
    hosts.make_arm64(0);
    let p = hello_on(&hosts);
    as_containers(&p);
    let bins = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&arm64_hoist, bins.path().join("hoist-linux-arm64")).unwrap();
    let engine = hosts.start_engine(0);

    let (ends, stderr) = deploy(&p, &hosts, bins.path(), 1);
    assert!(stderr.contains("go build linux/arm64"), "{stderr}");
    assert_eq!(ends[0]["outcome"], "refused", "{ends:?}\n{stderr}");
    let reason = ends[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("is for `linux/arm64`, but the engine runs `linux/amd64`"),
        "{reason}"
    );
    assert_eq!(engine.running(), Vec::<String>::new(), "nothing started");
    // The image config the host was sent: arm64, the app's layer built for it.
    let store = hosts.hosts[0].home.join(".local/state/hoist/artifacts");
    let configs: Vec<serde_json::Value> = std::fs::read_dir(&store)
        .unwrap()
        .flatten()
        .map(|d| d.path().join("config.json"))
        .filter(|p| p.is_file())
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(configs.len(), 1, "one image config: {configs:?}");
    assert_eq!(configs[0]["architecture"], "arm64", "{}", configs[0]);
    assert_eq!(configs[0]["os"], "linux");
}
