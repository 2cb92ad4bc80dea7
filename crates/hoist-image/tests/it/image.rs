//! Builds images into a temporary store and checks what a user would: digests are stable,
//! contents are as documented, caches hit, and exports are atomic.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime};

use crate::{MTIME, build, fake_binary, gunzip, spec, write_binary};
use hoist_image::{
    BlobStore, Descriptor, ImageBase, ImageError, LayerKind, LayoutRoot, build_image, build_index,
    export_archive_parts, write_docker_archive, write_docker_archive_from_parts, write_oci_layout,
};

/// The `static` base layer's digest. Changes only when the layer's content or format changes,
/// or Cargo.lock moves `webpki-root-certs` or `zlib-rs`: review such a change, then update it.
const STATIC_BASE_DIGEST: &str =
    "sha256:b1e98e28b13c20c34294f13d710bc870a3fdf28892c2f2bc6a8a02d2486f86c4";
/// The app layer of [`fake_binary`] at `/app/hello`, mtime [`MTIME`], level 6 (the default),
/// `/app` owned by nonroot.
const APP_LAYER_DIGEST: &str =
    "sha256:019d2bde0fd2a7e8d2176e55d7bf0bb953dcea1dca06dfecccf9d9bc605c1a62";

#[test]
fn golden_layer_digests() {
    let (_tmp, _store, image) = crate::fake_image();
    assert_eq!(image.layers[0].kind, LayerKind::Base);
    assert_eq!(image.layers[0].digest.to_string(), STATIC_BASE_DIGEST);
    assert_eq!(image.layers[1].kind, LayerKind::App);
    assert_eq!(image.layers[1].digest.to_string(), APP_LAYER_DIGEST);
}

#[test]
fn same_inputs_same_manifest_whatever_the_file_mtime_or_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let binary = write_binary(tmp.path(), &fake_binary());
    let a = build(
        &BlobStore::open(tmp.path().join("a")).unwrap(),
        &binary,
        "linux/amd64",
    );

    let file = fs::File::options().write(true).open(&binary).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_234_567))
        .unwrap();
    drop(file);
    let mut one_thread = spec(&binary, "linux/amd64");
    one_thread.compression.threads = std::num::NonZeroUsize::new(1);
    let store_b = BlobStore::open(tmp.path().join("b")).unwrap();
    let b = build_image(&one_thread, &store_b).unwrap();
    assert_eq!(a.manifest, b.manifest);
    assert_eq!(a.config, b.config);
    assert!(!b.layers.iter().any(|l| l.cached));

    let mut later = spec(&binary, "linux/amd64");
    later.created = MTIME + 1;
    let c = build_image(&later, &store_b).unwrap();
    assert_ne!(c.manifest.digest, a.manifest.digest);
    assert_eq!(
        c.layers[0].digest, a.layers[0].digest,
        "the base layer carries no app time"
    );
}

#[test]
fn app_layer_has_fixed_owner_mode_and_mtime() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let bytes = fake_binary();
    let image = build(&store, &write_binary(tmp.path(), &bytes), "linux/amd64");
    let app = &image.layers[1];
    let tar = gunzip(&fs::read(store.path(&app.digest)).unwrap());
    assert_eq!(hoist_core::Digest::of(&tar), app.diff_id);
    assert_eq!(tar.len() as u64, app.uncompressed_size);
    let mut archive = tar::Archive::new(&tar[..]);
    let entries: Vec<_> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
            (
                path,
                h.mode().unwrap(),
                h.uid().unwrap(),
                h.gid().unwrap(),
                h.mtime().unwrap(),
                h.size().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        vec![
            // The working directory is the app's user's; the binary stays root's.
            ("app/".to_owned(), 0o755, 65532, 65532, MTIME, 0),
            (
                "app/hello".to_owned(),
                0o755,
                0,
                0,
                MTIME,
                bytes.len() as u64
            ),
        ]
    );
}

#[test]
fn config_says_how_to_run() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let mut s = spec(&write_binary(tmp.path(), b"bin"), "linux/arm/v7");
    s.args = vec!["--serve".to_owned()];
    s.env = BTreeMap::from([("LOG_LEVEL".to_owned(), "info".to_owned())]);
    s.labels = BTreeMap::from([("team".to_owned(), "core".to_owned())]);
    s.base = ImageBase::Scratch;
    let image = build_image(&s, &store).unwrap();
    assert_eq!(image.layers.len(), 1);
    let config: serde_json::Value =
        serde_json::from_slice(&store.read(&image.config).unwrap()).unwrap();
    let expected = serde_json::json!({
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Entrypoint": ["/app/hello"],
            "Cmd": ["--serve"],
            "Env": ["PATH=/app:/usr/local/bin:/usr/bin:/bin", "LOG_LEVEL=info"],
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {
                "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
                "org.opencontainers.image.revision": "0123456789abcdef0123456789abcdef01234567",
                "team": "core"
            },
            "User": "65532:65532",
            "WorkingDir": "/app"
        },
        "rootfs": {"type": "layers", "diff_ids": [image.layers[0].diff_id.to_string()]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "hoist", "comment": "app"}]
    });
    assert_eq!(config, expected);
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.read(&image.manifest.digest).unwrap()).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
}

#[test]
fn second_build_hits_the_layer_cache_without_rewriting() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let binary = write_binary(tmp.path(), &fake_binary());
    let first = build(&store, &binary, "linux/amd64");
    assert!(first.layers.iter().all(|l| !l.cached));
    let blob = store.path(&first.layers[1].digest);
    let before = fs::metadata(&blob).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let second = build(&store, &binary, "linux/amd64");
    assert!(
        second.layers.iter().all(|l| l.cached),
        "{:?}",
        second.layers
    );
    assert_eq!(second.manifest, first.manifest);
    let after = fs::metadata(&blob).unwrap();
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec())
    );

    // A record whose blob was removed is a miss, not a broken image.
    fs::remove_file(&blob).unwrap();
    let third = build(&store, &binary, "linux/amd64");
    assert!(!third.layers[1].cached);
    assert!(store.contains(&third.layers[1].digest));
}

#[test]
fn layout_write_is_atomic_and_names_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let image = build(&store, &write_binary(tmp.path(), b"bin"), "linux/amd64");
    let root = LayoutRoot {
        descriptor: image.manifest.clone(),
        tag: None,
    };

    // The parent is a file: nothing can be created under it.
    let blocker = tmp.path().join("file");
    fs::write(&blocker, b"").unwrap();
    let target = blocker.join("layout");
    let e = write_oci_layout(&target, std::slice::from_ref(&root), &store).unwrap_err();
    assert!(
        matches!(&e, ImageError::Layout { path, .. } if *path == target),
        "{e:?}"
    );
    assert!(e.to_string().contains(&target.display().to_string()));

    // A blob missing mid-way: the target never appears, no temporary directory remains.
    let out = tmp.path().join("out");
    fs::create_dir(&out).unwrap();
    let dangling = LayoutRoot {
        descriptor: Descriptor::new(
            hoist_image::MEDIA_TYPE_MANIFEST,
            hoist_core::Digest::of(b"no"),
            2,
        ),
        tag: None,
    };
    let e = write_oci_layout(&out.join("img"), &[root.clone(), dangling], &store).unwrap_err();
    assert!(matches!(e, ImageError::MissingBlob { .. }), "{e:?}");
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);

    // A good write, then a rewrite over it; a directory that is not a layout is left alone.
    let dir = out.join("img");
    write_oci_layout(&dir, std::slice::from_ref(&root), &store).unwrap();
    write_oci_layout(&dir, std::slice::from_ref(&root), &store).unwrap();
    assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    let blobs = fs::read_dir(dir.join("blobs/sha256")).unwrap().count();
    assert_eq!(blobs, 4, "manifest, config, two layers");
    let precious = out.join("precious");
    fs::create_dir(&precious).unwrap();
    fs::write(precious.join("notes.txt"), b"keep").unwrap();
    let e = write_oci_layout(&precious, &[root], &store).unwrap_err();
    assert!(matches!(e, ImageError::NotALayout { .. }));
    assert!(precious.join("notes.txt").exists());
}

#[test]
fn docker_archive_holds_uncompressed_layers_matching_diff_ids() {
    let (tmp, store, image) = crate::fake_image();
    let file = tmp.path().join("image.tar");
    write_docker_archive(&file, &image, &["hello:latest".to_owned()], &store).unwrap();

    let bytes = fs::read(&file).unwrap();
    let mut archive = tar::Archive::new(&bytes[..]);
    let mut files = BTreeMap::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).unwrap();
        files.insert(path, body);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest[0]["RepoTags"], serde_json::json!(["hello:latest"]));
    assert_eq!(
        manifest[0]["Config"],
        format!("{}.json", image.config.hex())
    );
    for (i, layer) in image.layers.iter().enumerate() {
        let name = format!("{}/layer.tar", layer.diff_id.hex());
        assert_eq!(manifest[0]["Layers"][i], name);
        assert_eq!(hoist_core::Digest::of(&files[&name]), layer.diff_id);
    }

    // An unwritable target errors with its path and leaves nothing.
    let bad = tmp.path().join("missing-dir").join("image.tar");
    let e = write_docker_archive(&bad, &image, &[], &store).unwrap_err();
    assert!(
        matches!(&e, ImageError::Archive { path, .. } if *path == bad),
        "{e:?}"
    );
    assert!(!tmp.path().join("missing-dir").exists());
}

/// A host is sent an image as parts (config, uncompressed layers) and assembles the archive
/// itself: byte for byte the archive this machine would have written; a damaged part is
/// refused, naming its layer.
#[test]
fn an_archive_from_its_parts_is_the_same_archive() {
    let (tmp, store, image) = crate::fake_image();
    let tags = ["hello:1".to_owned()];
    let whole = tmp.path().join("whole.tar");
    write_docker_archive(&whole, &image, &tags, &store).unwrap();

    let parts_dir = tmp.path().join("parts");
    fs::create_dir(&parts_dir).unwrap();
    let parts = export_archive_parts(&parts_dir, &image, &store).unwrap();
    assert_eq!(parts.config.0, image.config);
    assert_eq!(parts.layers.len(), image.layers.len());
    for ((diff_id, path), layer) in parts.layers.iter().zip(&image.layers) {
        assert_eq!(*diff_id, layer.diff_id);
        assert_eq!(
            hoist_core::Digest::of(&fs::read(path).unwrap()),
            layer.diff_id
        );
    }
    // Exported again: the parts there are kept, nothing else appears.
    export_archive_parts(&parts_dir, &image, &store).unwrap();
    assert_eq!(
        fs::read_dir(&parts_dir).unwrap().count(),
        1 + image.layers.len()
    );

    let layers: Vec<_> = parts.layers.iter().map(|(_, p)| p.clone()).collect();
    let assembled = tmp.path().join("assembled.tar");
    write_docker_archive_from_parts(&assembled, &parts.config.1, &layers, &tags).unwrap();
    assert_eq!(fs::read(&assembled).unwrap(), fs::read(&whole).unwrap());

    // One layer too few, and a layer with other bytes: refused, no archive written.
    let bad = tmp.path().join("bad.tar");
    let e =
        write_docker_archive_from_parts(&bad, &parts.config.1, &layers[1..], &tags).unwrap_err();
    let cause = std::error::Error::source(&e).unwrap().to_string();
    assert!(cause.contains("lists 2 layers, 1 were given"), "{cause}");
    let mut tampered = fs::read(&layers[1]).unwrap();
    tampered[600] ^= 1;
    fs::write(&layers[1], tampered).unwrap();
    let e = write_docker_archive_from_parts(&bad, &parts.config.1, &layers, &tags).unwrap_err();
    assert!(
        matches!(&e, ImageError::DiffIdMismatch { expected, .. } if *expected == image.layers[1].diff_id),
        "{e:?}"
    );
    assert!(!bad.exists());
}

#[test]
fn index_lists_every_platform_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let binary = write_binary(tmp.path(), b"bin");
    let images = [
        build(&store, &binary, "linux/amd64"),
        build(&store, &binary, "linux/arm64"),
    ];
    let index = build_index(&images, &store).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&store.read(&index.digest).unwrap()).unwrap();
    assert_eq!(json["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_eq!(
        json["manifests"][0]["platform"],
        serde_json::json!({"architecture": "amd64", "os": "linux"})
    );
    assert_eq!(json["manifests"][1]["platform"]["architecture"], "arm64");
    assert!(matches!(
        build_index(&[], &store),
        Err(ImageError::EmptyIndex)
    ));
}

#[test]
fn docker_archive_refuses_a_layer_that_does_not_match_its_diff_id() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let image = build(&store, &write_binary(tmp.path(), b"bin"), "linux/amd64");
    // Damage the app layer in the store: valid gzip, other content.
    let mut other = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut other, b"something else").unwrap();
    fs::write(store.path(&image.layers[1].digest), other.finish().unwrap()).unwrap();

    let file = tmp.path().join("image.tar");
    let e = write_docker_archive(&file, &image, &[], &store).unwrap_err();
    assert!(matches!(e, ImageError::DiffIdMismatch { .. }), "{e:?}");
    assert!(!file.exists());
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "store" && n != "hello")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A one-line change alters the tail of a Go binary; the blocks before it are copied from the
/// previous layer, and the result is byte-for-byte what a fresh store compresses.
#[test]
fn changed_binary_reuses_unchanged_blocks_and_gives_the_fresh_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let warm = BlobStore::open(tmp.path().join("warm")).unwrap();
    let mut bytes: Vec<u8> = fake_binary().repeat(4);
    let path = write_binary(tmp.path(), &bytes);
    build(&warm, &path, "linux/amd64");
    let n = bytes.len();
    bytes[n - 1000] ^= 0xff;
    let path = write_binary(tmp.path(), &bytes);
    let changed = build(&warm, &path, "linux/amd64");
    let app = &changed.layers[1];
    assert!(!app.cached);
    assert!(app.blocks_reused >= 5, "{app:?}");

    let fresh = BlobStore::open(tmp.path().join("fresh")).unwrap();
    let clean = build(&fresh, &path, "linux/amd64");
    assert_eq!(clean.layers[1].blocks_reused, 0);
    assert_eq!(clean.layers[1].digest, app.digest);
    assert_eq!(clean.manifest, changed.manifest);
    let tar = gunzip(&warm.read(&app.digest).unwrap());
    assert_eq!(hoist_core::Digest::of(&tar), app.diff_id);
}
