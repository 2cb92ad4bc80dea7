//! skopeo (containers/image, what podman and CRI-O use) reads what hoist writes: an OCI layout
//! for one platform and for several, and a docker archive. skopeo must be on PATH: the test
//! scripts install it, and a missing tool fails these tests rather than skipping them.

use std::path::Path;

use hoist_image::{BlobStore, LayoutRoot, build_index, write_docker_archive, write_oci_layout};
use hoist_test::skopeo::skopeo;

use crate::{build, write_binary};

fn arg(prefix: &str, path: &Path, suffix: &str) -> String {
    format!("{prefix}{}{suffix}", path.display())
}

#[test]
fn skopeo_reads_a_single_platform_layout() {
    let (tmp, store, image) = crate::fake_image();
    let dir = tmp.path().join("layout");
    let root = LayoutRoot {
        descriptor: image.manifest.clone(),
        tag: Some("latest".to_owned()),
    };
    write_oci_layout(&dir, &[root], &store).unwrap();

    let info = skopeo(&["inspect", &arg("oci:", &dir, ":latest")]);
    assert_eq!(info["Digest"], image.manifest.digest.to_string());
    assert_eq!(info["Architecture"], "amd64");
    assert_eq!(info["Os"], "linux");
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        info["Labels"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
    let config = skopeo(&["inspect", "--config", &arg("oci:", &dir, "")]);
    assert_eq!(config["config"]["User"], "65532:65532");
}

#[test]
fn skopeo_reads_a_multi_platform_layout_as_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let binary = write_binary(tmp.path(), b"not really a binary");
    let images = [
        build(&store, &binary, "linux/amd64"),
        build(&store, &binary, "linux/arm64"),
    ];
    let index = build_index(&images, &store).unwrap();
    let dir = tmp.path().join("layout");
    let root = LayoutRoot {
        descriptor: index.clone(),
        tag: Some("v1".to_owned()),
    };
    write_oci_layout(&dir, &[root], &store).unwrap();

    let raw = skopeo(&["inspect", "--raw", &arg("oci:", &dir, ":v1")]);
    assert_eq!(raw["mediaType"], "application/vnd.oci.image.index.v1+json");
    let manifests = raw["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[1]["platform"]["architecture"], "arm64");
    let arm = skopeo(&[
        "inspect",
        "--override-arch",
        "arm64",
        &arg("oci:", &dir, ":v1"),
    ]);
    assert_eq!(arm["Architecture"], "arm64");
    // skopeo reports the digest of what the reference names: the index.
    assert_eq!(arm["Digest"], index.digest.to_string());
}

#[test]
fn skopeo_reads_the_docker_archive() {
    let (tmp, store, image) = crate::fake_image();
    let file = tmp.path().join("image.tar");
    write_docker_archive(&file, &image, &["hello:latest".to_owned()], &store).unwrap();

    let info = skopeo(&["inspect", &arg("docker-archive:", &file, "")]);
    assert_eq!(info["Architecture"], "amd64");
    assert_eq!(info["RepoTags"], serde_json::json!([]), "{info}");
    let config = skopeo(&["inspect", "--config", &arg("docker-archive:", &file, "")]);
    let diff_ids: Vec<String> = image.layers.iter().map(|l| l.diff_id.to_string()).collect();
    assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!(diff_ids));
}
