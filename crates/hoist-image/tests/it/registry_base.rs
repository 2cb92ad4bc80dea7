//! Images on a registry base already in the store (as `hoist-registry` leaves it after a pull):
//! the base's compressed layers are reused byte for byte, its config merged as documented.

use crate::{build, fake_binary, spec, write_binary};
use hoist_core::Digest;
use hoist_image::{
    BaseImage, BlobStore, BuiltImage, Descriptor, ImageBase, ImageError, LayerKind,
    MEDIA_TYPE_LAYER_GZIP, build_image,
};
use serde_json::{Value, json};

/// A base in `store`: the `static` layer of a throwaway image (stored as a Docker-typed layer,
/// as many registries serve them) under a config written here.
fn make_base(store: &BlobStore, dir: &std::path::Path, config: &Value) -> (BaseImage, Descriptor) {
    let donor = build(store, &write_binary(dir, b"donor"), "linux/amd64");
    let layer = &donor.layers[0];
    let mut config = config.clone();
    config["rootfs"] = json!({"type": "layers", "diff_ids": [layer.diff_id.to_string()]});
    let config = store
        .put_bytes(&serde_json::to_vec(&config).unwrap())
        .unwrap();
    let desc = Descriptor::new(
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        layer.digest.clone(),
        layer.size,
    );
    let image = BaseImage {
        reference: "127.0.0.1:5000/base:1".to_owned(),
        manifest: Digest::of(b"the base manifest"),
        config,
        layers: vec![desc.clone()],
    };
    (image, desc)
}

fn config_of(store: &BlobStore, image: &BuiltImage) -> Value {
    serde_json::from_slice(&store.read(&image.config).unwrap()).unwrap()
}

fn on_base(store: &BlobStore, dir: &std::path::Path, base: &BaseImage) -> BuiltImage {
    let mut s = spec(&write_binary(dir, &fake_binary()), "linux/amd64");
    s.base = ImageBase::Image(base.clone());
    s.env = [("LOG_LEVEL".to_owned(), "info".to_owned())].into();
    build_image(&s, store).unwrap()
}

#[test]
fn base_layers_are_reused_and_config_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let (base, layer) = make_base(
        &store,
        tmp.path(),
        &json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["PATH=/usr/bin:/bin", "LOG_LEVEL=debug", "LANG=C.UTF-8"],
                       "User": "1000", "Entrypoint": ["/bin/sh"], "WorkingDir": "/",
                       "Labels": {"base": "yes"}},
            "history": [{"created": "2020-01-01T00:00:00Z", "created_by": "ADD rootfs"},
                        {"created_by": "ENV LANG", "empty_layer": true}]
        }),
    );
    let image = on_base(&store, tmp.path(), &base);
    assert_eq!(image.layers.len(), 2);
    assert_eq!(image.layers[0].kind, LayerKind::Base);
    assert_eq!(image.layers[0].digest, layer.digest);
    assert_eq!(image.layers[1].kind, LayerKind::App);
    let manifest: Value =
        serde_json::from_slice(&store.read(&image.manifest.digest).unwrap()).unwrap();
    assert_eq!(manifest["layers"][0]["digest"], layer.digest.to_string());
    assert_eq!(manifest["layers"][0]["mediaType"], MEDIA_TYPE_LAYER_GZIP);
    let c = config_of(&store, &image);
    assert_eq!(
        c["config"]["Env"],
        json!(["PATH=/usr/bin:/bin", "LOG_LEVEL=info", "LANG=C.UTF-8"])
    );
    assert_eq!(c["config"]["User"], "1000", "the base's user is kept");
    assert_eq!(c["config"]["Entrypoint"], json!(["/app/hello"]));
    assert_eq!(c["config"]["WorkingDir"], "/app");
    assert!(c["config"]["Labels"].get("base").is_none());
    assert_eq!(
        c["rootfs"]["diff_ids"],
        json!([
            image.layers[0].diff_id.to_string(),
            image.layers[1].diff_id.to_string()
        ])
    );
    let history = c["history"].as_array().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[1]["empty_layer"], true);
    assert_eq!(history[2]["comment"], "app");

    // Same base digest, same binary: same image, from a fresh store too.
    let again = on_base(&store, tmp.path(), &base);
    assert_eq!(again.manifest, image.manifest);
    let other = BlobStore::open(tmp.path().join("other")).unwrap();
    let (base2, _) = make_base(
        &other,
        tmp.path(),
        &serde_json::from_slice(&store.read(&base.config).unwrap()).unwrap(),
    );
    assert_eq!(on_base(&other, tmp.path(), &base2).manifest, image.manifest);
}

#[test]
fn a_base_without_user_or_path_gets_hoists() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let (base, _) = make_base(
        &store,
        tmp.path(),
        &json!({"architecture": "amd64", "os": "linux", "config": {"Env": null}}),
    );
    let c = config_of(&store, &on_base(&store, tmp.path(), &base));
    assert_eq!(
        c["config"]["Env"],
        json!([hoist_image::DEFAULT_PATH, "LOG_LEVEL=info"])
    );
    assert_eq!(c["config"]["User"], hoist_image::USER);
}

#[test]
fn a_base_for_another_platform_or_inconsistent_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let (base, _) = make_base(
        &store,
        tmp.path(),
        &json!({"architecture": "arm64", "os": "linux"}),
    );
    let mut s = spec(&write_binary(tmp.path(), b"bin"), "linux/amd64");
    s.base = ImageBase::Image(base.clone());
    let e = build_image(&s, &store).unwrap_err();
    assert!(matches!(e, ImageError::BasePlatform { .. }), "{e:?}");
    assert!(e.to_string().contains("`linux/arm64`"), "{e}");

    let mut two = base.clone();
    two.layers.push(two.layers[0].clone());
    s.platform = "linux/arm64".parse().unwrap();
    s.base = ImageBase::Image(two);
    let e = build_image(&s, &store).unwrap_err();
    assert!(
        matches!(
            e,
            ImageError::BaseLayerCount {
                layers: 2,
                diff_ids: 1,
                ..
            }
        ),
        "{e:?}"
    );

    let mut zstd = base.clone();
    zstd.layers[0].media_type = "application/vnd.oci.image.layer.v1.tar+zstd".to_owned();
    s.base = ImageBase::Image(zstd);
    let e = build_image(&s, &store).unwrap_err();
    assert!(matches!(e, ImageError::BaseLayerMediaType { .. }), "{e:?}");

    let mut missing = base;
    missing.config = Digest::of(b"never pulled");
    s.base = ImageBase::Image(missing);
    let e = build_image(&s, &store).unwrap_err();
    assert!(matches!(e, ImageError::MissingBlob { .. }), "{e:?}");
}

#[test]
fn a_layer_that_is_not_its_diff_id_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let (mut base, _) = make_base(
        &store,
        tmp.path(),
        &json!({"architecture": "amd64", "os": "linux"}),
    );
    let mut config: Value = serde_json::from_slice(&store.read(&base.config).unwrap()).unwrap();
    config["rootfs"]["diff_ids"] = json!([Digest::of(b"other").to_string()]);
    base.config = store
        .put_bytes(&serde_json::to_vec(&config).unwrap())
        .unwrap();
    let mut s = spec(&write_binary(tmp.path(), b"bin"), "linux/amd64");
    s.base = ImageBase::Image(base);
    let e = build_image(&s, &store).unwrap_err();
    assert!(matches!(e, ImageError::DiffIdMismatch { .. }), "{e:?}");
}
