//! The client against real `docker-registry` instances: plain, htpasswd + TLS, and token auth
//! with an issuer in this process; fault injection (a cut connection, 500s) through small
//! servers beside them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hoist_core::Platform;
use hoist_image::{BlobStore, Descriptor, ImageSpec};
use hoist_registry::{
    BlobDir, Client, ClientOptions, Credentials, MountHints, PushOutcome, PushRequest, Quiet,
    Reference, RegistryError, Repository, RetryPolicy,
};
use hoist_test::faults::{FaultProxy, StatusServer};
use hoist_test::registry::{Auth, Registry};
use hoist_test::token::TokenIssuer;

/// An image with a `size`-byte pseudo-random "binary" (incompressible, so the layer is big).
fn image(store_dir: &std::path::Path, size: usize, seed: u8) -> (BlobStore, Descriptor) {
    let store = BlobStore::open(store_dir.join("store")).unwrap();
    let bin = store_dir.join(format!("app-{seed}"));
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    let bytes: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&bin, bytes).unwrap();
    let spec = ImageSpec::new(Platform::host(), "app", &bin);
    let built = hoist_image::build_image(&spec, &store).unwrap();
    (store, built.manifest)
}

fn client(options: ClientOptions) -> Client {
    Client::new(ClientOptions {
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
        },
        ..options
    })
    .unwrap()
}

fn push(
    client: &Client,
    repo: &str,
    store: &BlobStore,
    root: &Descriptor,
    tags: &[&str],
    hints: Option<&MountHints>,
) -> Result<PushOutcome, RegistryError> {
    let repository = Repository::parse(repo).unwrap();
    let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
    client.push(&PushRequest {
        repository: &repository,
        root,
        blobs: &BlobDir::new(store.root()),
        tags: &tags,
        hints,
        observer: Arc::new(Quiet),
    })
}

#[test]
fn push_skip_pull_and_inspect_on_a_plain_registry() {
    let reg = Registry::plain();
    let tmp = tempfile::tempdir().unwrap();
    let (store, root) = image(tmp.path(), 300_000, 1);
    let repo = format!("{}/team/app", reg.addr);

    let c = client(ClientOptions::default());
    let out = push(&c, &repo, &store, &root, &["v1", "latest"], None).unwrap();
    assert_eq!(out.pinned, format!("{repo}@{}", root.digest));
    assert_eq!(out.stats.blobs_uploaded, 3, "{:?}", out.stats); // base, app, config
    assert_eq!(reg.tags("team/app"), ["latest", "v1"]);

    // A second push sends no blob: every HEAD finds it.
    let offset = reg.log_end();
    let c2 = client(ClientOptions::default());
    let again = push(&c2, &repo, &store, &root, &["v1"], None).unwrap();
    assert_eq!(
        (again.stats.blobs_uploaded, again.stats.bytes_uploaded),
        (0, 0)
    );
    assert_eq!(again.stats.blobs_skipped, 3);
    assert!(reg.requests_since(offset, "/blobs/uploads").is_empty());

    // Pull it back into another store: same digests, every blob verified.
    let store2 = BlobStore::open(tmp.path().join("pulled")).unwrap();
    let reference: Reference = format!("{repo}:v1").parse().unwrap();
    let pulled = c2
        .pull(&reference, &[], &store2, None, &(Arc::new(Quiet) as _))
        .unwrap();
    assert_eq!(pulled.root.digest, root.digest);
    for l in &pulled.images[0].layers {
        assert_eq!(
            store2.read(&l.digest).unwrap(),
            store.read(&l.digest).unwrap()
        );
    }

    let inspection = c2.inspect(&reference).unwrap();
    assert_eq!(inspection.digest, root.digest);
    assert_eq!(inspection.images.len(), 1);
    assert_eq!(inspection.images[0].platform, Platform::host().to_string());
    assert_eq!(inspection.images[0].config["User"], "65532:65532");

    let missing: Reference = format!("{repo}:nope").parse().unwrap();
    assert!(matches!(
        c2.inspect(&missing),
        Err(RegistryError::NotFound { .. })
    ));
}

#[test]
fn chunked_upload_and_cross_repository_mount() {
    let reg = Registry::plain();
    let tmp = tempfile::tempdir().unwrap();
    let (store, root) = image(tmp.path(), 400_000, 2);
    let hints = MountHints::new(tmp.path().join("hints"));
    let c = client(ClientOptions {
        chunk_threshold: 100_000,
        chunk_size: 128 * 1024,
        ..ClientOptions::default()
    });
    let out = push(
        &c,
        &format!("{}/one", reg.addr),
        &store,
        &root,
        &["t"],
        Some(&hints),
    )
    .unwrap();
    assert_eq!(out.stats.blobs_uploaded, 3);
    let patches = reg.requests_since(0, "\"PATCH ");
    assert!(patches.len() >= 3, "expected several chunks: {patches:?}");

    let offset = reg.log_end();
    let c2 = client(ClientOptions::default());
    let out = push(
        &c2,
        &format!("{}/two", reg.addr),
        &store,
        &root,
        &["t"],
        Some(&hints),
    )
    .unwrap();
    assert_eq!(out.stats.blobs_mounted, 3, "{:?}", out.stats);
    assert_eq!(out.stats.bytes_uploaded, 0);
    assert_eq!(reg.requests_since(offset, "mount=").len(), 3);
    assert_eq!(reg.tags("two"), ["t"]);
}

#[test]
fn basic_auth_behind_tls_with_a_ca_file() {
    let reg = Registry::start(&Auth::Basic {
        user: "alice".into(),
        password: "s3cret-pw".into(),
    });
    let tmp = tempfile::tempdir().unwrap();
    let (store, root) = image(tmp.path(), 10_000, 3);
    let repo = format!("{}/secure/app", reg.addr);
    let ca = reg.ca.clone().unwrap();
    let with = |password: &str, ca: bool| ClientOptions {
        ca_files: if ca {
            vec![reg.ca.clone().unwrap()]
        } else {
            Vec::new()
        },
        credentials: [(reg.addr.clone(), Credentials::basic("alice", password))].into(),
        ..ClientOptions::default()
    };
    push(
        &client(with("s3cret-pw", true)),
        &repo,
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap();
    assert_eq!(reg.tags("secure/app"), ["v1"]);

    let err = push(
        &client(with("wrong", true)),
        &repo,
        &store,
        &root,
        &["v2"],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(
        shown.contains("alice") && !shown.contains("wrong"),
        "{shown}"
    );

    let err = push(
        &client(with("s3cret-pw", false)),
        &repo,
        &store,
        &root,
        &["v3"],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    assert_eq!(reg.tags("secure/app"), ["v1"]);
    drop(ca);
}

#[test]
fn bearer_tokens_are_scoped_cached_and_renewed() {
    let issuer = TokenIssuer::start("bob", "tok-pass");
    let reg = Registry::start(&Auth::Token(issuer.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let (store, root) = image(tmp.path(), 50_000, 4);
    let hints = MountHints::new(tmp.path().join("hints"));
    let options = || ClientOptions {
        credentials: [(reg.addr.clone(), Credentials::basic("bob", "tok-pass"))].into(),
        ..ClientOptions::default()
    };
    let c = client(options());
    push(
        &c,
        &format!("{}/base", reg.addr),
        &store,
        &root,
        &["v1"],
        Some(&hints),
    )
    .unwrap();
    // One token for the push scope, reused for every request of the push.
    assert_eq!(issuer.requests.load(Ordering::Relaxed), 1);

    // A mount asks for the source's pull scope too.
    let out = push(
        &client(options()),
        &format!("{}/derived", reg.addr),
        &store,
        &root,
        &["v1"],
        Some(&hints),
    )
    .unwrap();
    assert_eq!(out.stats.blobs_mounted, 3, "{:?}", out.stats);
    assert!(
        issuer
            .scopes
            .lock()
            .unwrap()
            .iter()
            .any(|s| s == "repository:base:pull"),
        "{:?}",
        issuer.scopes.lock().unwrap()
    );

    // Tokens that the registry considers expired (its leeway is 60 s) while hoist still
    // caches them: the 401 makes the client fetch a new one and carry on.
    issuer.exp_offset.store(-58, Ordering::Relaxed);
    let c = client(options());
    push(
        &c,
        &format!("{}/renew", reg.addr),
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap();
    let before = issuer.requests.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(3));
    push(
        &c,
        &format!("{}/renew", reg.addr),
        &store,
        &root,
        &["v2"],
        None,
    )
    .unwrap();
    assert!(issuer.requests.load(Ordering::Relaxed) > before);
    assert_eq!(reg.tags("renew"), ["v1", "v2"]);

    // Always expired: a clear refusal, not a loop.
    issuer.exp_offset.store(-300, Ordering::Relaxed);
    let err = push(
        &client(options()),
        &format!("{}/late", reg.addr),
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");

    issuer.exp_offset.store(300, Ordering::Relaxed);
    let wrong = ClientOptions {
        credentials: [(reg.addr.clone(), Credentials::basic("bob", "nope"))].into(),
        ..ClientOptions::default()
    };
    let err = push(
        &client(wrong),
        &format!("{}/x", reg.addr),
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
}

#[test]
fn a_cut_upload_leaves_no_tag_and_the_next_push_reuses_what_arrived() {
    let reg = Registry::plain();
    let tmp = tempfile::tempdir().unwrap();
    // The app layer is ~1 MB; the proxy cuts every connection after 600 KB, so the small base
    // layer arrives and the app layer never does.
    let (store, root) = image(tmp.path(), 1_000_000, 5);
    let proxy = FaultProxy::start(&reg.addr, 600_000);
    let c = Client::new(ClientOptions {
        jobs: 1,
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(50),
        },
        ..ClientOptions::default()
    })
    .unwrap();
    let err = push(
        &c,
        &format!("{}/cut", proxy.addr),
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(c.stats().retries >= 2, "{:?}", c.stats());
    assert!(
        reg.tags("cut").is_empty(),
        "a tag was created: {:?}",
        reg.tags("cut")
    );

    let out = push(
        &client(ClientOptions::default()),
        &format!("{}/cut", reg.addr),
        &store,
        &root,
        &["v1"],
        None,
    )
    .unwrap();
    assert!(out.stats.blobs_skipped >= 1, "{:?}", out.stats);
    assert_eq!(reg.tags("cut"), ["v1"]);
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = StatusServer::start(500);
    let c = client(ClientOptions::default());
    let reference: Reference = format!("{}/app:v1", server.addr).parse().unwrap();
    let err = c.inspect(&reference).unwrap_err();
    assert!(
        matches!(err, RegistryError::Server { status: 500, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("storage backend unavailable"),
        "{err}"
    );
    assert_eq!(c.stats().retries, 2);
}

/// A platform the host is not (so a host-platform image never matches it).
fn other_platform() -> Platform {
    let host = Platform::host();
    let arch = if host.arch == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    format!("linux/{arch}").parse().unwrap()
}

#[test]
fn a_lone_manifest_is_checked_against_the_platforms_before_its_layers() {
    let reg = Registry::plain();
    let tmp = tempfile::tempdir().unwrap();
    let (store, root) = image(tmp.path(), 50_000, 7);
    let repo = format!("{}/base", reg.addr);
    let c = client(ClientOptions::default());
    push(&c, &repo, &store, &root, &["1"], None).unwrap();

    let fresh = BlobStore::open(tmp.path().join("fresh")).unwrap();
    let reference: Reference = format!("{repo}:1").parse().unwrap();
    let quiet = Arc::new(Quiet) as _;
    let c = client(ClientOptions::default());
    let e = c
        .pull(&reference, &[other_platform()], &fresh, None, &quiet)
        .unwrap_err();
    let host = Platform::host().to_string();
    assert!(
        matches!(&e, RegistryError::PlatformNotFound { available, .. } if *available == host),
        "{e:?}"
    );
    assert_eq!(c.stats().blobs_downloaded, 1, "only the config was fetched");

    let pulled = c
        .pull(&reference, &[Platform::host()], &fresh, None, &quiet)
        .unwrap();
    assert_eq!(pulled.root.digest, root.digest);
    let s = c.stats();
    assert_eq!((s.blobs_downloaded, s.blobs_cached), (3, 1), "{s:?}");
}

#[test]
fn an_index_pulled_again_costs_one_manifest_request_and_no_blob() {
    let reg = Registry::plain();
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let bin = tmp.path().join("app");
    std::fs::write(&bin, b"not really a binary").unwrap();
    let platforms = [Platform::host(), other_platform()];
    let images: Vec<_> = platforms
        .iter()
        .map(|p| hoist_image::build_image(&ImageSpec::new(p.clone(), "app", &bin), &store).unwrap())
        .collect();
    let root = hoist_image::build_index(&images, &store).unwrap();
    let repo = format!("{}/multi-base", reg.addr);
    let c = client(ClientOptions::default());
    push(&c, &repo, &store, &root, &["1"], None).unwrap();

    let fresh = BlobStore::open(tmp.path().join("fresh")).unwrap();
    let reference: Reference = format!("{repo}:1").parse().unwrap();
    let quiet = Arc::new(Quiet) as _;
    let first = client(ClientOptions::default())
        .pull(&reference, &platforms, &fresh, None, &quiet)
        .unwrap();
    assert_eq!(first.images.len(), 2);
    assert_eq!(first.images[1].platform.as_ref(), Some(&platforms[1]));

    let offset = reg.log_end();
    let again = client(ClientOptions::default())
        .pull(&reference, &platforms, &fresh, None, &quiet)
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(reg.requests_since(offset, "/manifests/").len(), 1);
    assert!(reg.requests_since(offset, "/blobs/").is_empty());
}
