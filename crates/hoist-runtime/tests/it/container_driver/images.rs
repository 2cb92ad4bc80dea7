//! The container driver tests' images, built once per test run from the Go fixtures with
//! hoist-image (the library `hoist build` assembles images with) and written as docker archives,
//! or pushed to a registry with hoist-registry: never pulled from elsewhere, and never built by
//! the `hoist` binary, which a lower crate's tests do not build. Their names are fixed (not unique
//! per run), so each run replaces the last one's images in the engines instead of adding to them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hoist_image::{BlobStore, BuiltImage, ImageSpec};
use hoist_registry::{BlobDir, Client, ClientOptions, PushRequest, Quiet, Repository};
use hoist_test::elf::host_goarch;
use hoist_test::fixtures;

/// The port the images' apps listen on (`PORT` in their environment, as hoist sets it).
const PORT: u16 = 8080;

/// The test images as docker archives, each built on first use.
pub struct Archives {
    hello: OnceLock<PathBuf>,
    webapp: OnceLock<PathBuf>,
    webapp_arm64: OnceLock<PathBuf>,
}

/// The archives of this test run.
pub static ARCHIVES: Archives = Archives {
    hello: OnceLock::new(),
    webapp: OnceLock::new(),
    webapp_arm64: OnceLock::new(),
};

impl Archives {
    /// examples/hello, for this machine.
    pub fn hello(&self) -> &Path {
        self.hello.get_or_init(|| {
            archive(
                "hoist-runtime-hello",
                &fixtures::hello("dev"),
                host_goarch(),
            )
        })
    }

    /// tests/fixtures/webapp, for this machine.
    pub fn webapp(&self) -> &Path {
        self.webapp
            .get_or_init(|| archive("hoist-runtime-webapp", &fixtures::webapp(), host_goarch()))
    }

    /// tests/fixtures/webapp for linux/arm64 (cross-compiled).
    pub fn webapp_arm64(&self) -> &Path {
        self.webapp_arm64.get_or_init(|| {
            archive(
                "hoist-runtime-webapp-arm64",
                &fixtures::webapp_for("arm64"),
                "arm64",
            )
        })
    }
}

/// Where the images' stores and archives go.
fn work() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("container-driver")
}

/// The image of `binary` named `name` for linux/`goarch` on the `static` base, as `hoist build`
/// makes it (the binary at `/app/NAME`, `PORT` set and exposed), in a store of its own.
fn image(name: &str, binary: &Path, goarch: &str) -> (BlobStore, BuiltImage) {
    let store = BlobStore::open(work().join("store").join(name)).expect("open the store");
    let platform = format!("linux/{goarch}").parse().expect("a platform");
    let mut spec = ImageSpec::new(platform, name, binary);
    spec.port = Some(PORT);
    spec.env.insert("PORT".to_owned(), PORT.to_string());
    spec.version = Some("dev".to_owned());
    let built = hoist_image::build_image(&spec, &store)
        .unwrap_or_else(|e| panic!("building the image {name}: {e}"));
    (store, built)
}

/// [`image`] as a docker archive tagged `NAME:latest`.
fn archive(name: &str, binary: &Path, goarch: &str) -> PathBuf {
    let (store, built) = image(name, binary, goarch);
    let archive = work().join(format!("{name}.tar"));
    hoist_image::write_docker_archive(&archive, &built, &[format!("{name}:latest")], &store)
        .unwrap_or_else(|e| panic!("writing {}: {e}", archive.display()));
    archive
}

/// Pushes the webapp image to `registry` (`127.0.0.1:PORT`, plain http); the reference pinned
/// by digest.
pub fn push_webapp(registry: &str) -> String {
    let name = "hoist-runtime-webapp";
    let (store, built) = image(name, &fixtures::webapp(), host_goarch());
    let repository = Repository::parse(&format!("{registry}/{name}")).expect("a repository");
    // The registry client blocks: on a thread of its own, never on the test's runtime.
    std::thread::scope(|s| {
        s.spawn(|| {
            let client = Client::new(ClientOptions::default()).expect("a registry client");
            client
                .push(&PushRequest {
                    repository: &repository,
                    root: &built.manifest,
                    blobs: &BlobDir::new(store.root()),
                    tags: &["latest".to_owned()],
                    hints: None,
                    observer: Arc::new(Quiet),
                })
                .unwrap_or_else(|e| panic!("pushing {name} to {registry}: {e}"))
                .pinned
        })
        .join()
        .expect("the push thread")
    })
}
