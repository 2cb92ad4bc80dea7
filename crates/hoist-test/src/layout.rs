//! OCI image layouts as `hoist build --output oci:DIR` writes them, read the way an engine
//! would: the index, each platform's manifest and config, and the files of its layers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::archive::{Entry, untar_gzip};

/// An OCI image layout directory.
pub struct Layout(pub PathBuf);

/// One image of a layout: its platform, manifest and config.
pub struct Image {
    /// `os/arch` from the image config.
    pub platform: String,
    /// The manifest's digest.
    pub digest: String,
    /// The manifest.
    pub manifest: Value,
    /// The image config.
    pub config: Value,
}

impl Layout {
    /// The bytes of a blob.
    pub fn blob(&self, digest: &str) -> Vec<u8> {
        let hex = digest
            .strip_prefix("sha256:")
            .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
        let path = self.0.join("blobs/sha256").join(hex);
        std::fs::read(&path)
            .unwrap_or_else(|e| panic!("blob {digest} is missing from the layout: {e}"))
    }

    /// A JSON blob.
    pub fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.blob(digest))
            .unwrap_or_else(|e| panic!("blob {digest} is not JSON: {e}"))
    }

    /// `index.json`.
    pub fn index(&self) -> Value {
        let text =
            std::fs::read_to_string(self.0.join("index.json")).expect("the layout has index.json");
        serde_json::from_str(&text).expect("index.json is JSON")
    }

    /// The one descriptor `index.json` names (hoist writes one image per layout).
    pub fn root(&self) -> Value {
        let index = self.index();
        let m = index["manifests"]
            .as_array()
            .expect("index.json lists manifests");
        assert_eq!(m.len(), 1, "index.json names one image: {index:#}");
        m[0].clone()
    }

    /// Every platform's image, following the root through an image index when there is one.
    pub fn images(&self) -> Vec<Image> {
        let root = self.root();
        let digest = root["digest"].as_str().expect("root digest");
        let descriptors = if root["mediaType"] == "application/vnd.oci.image.index.v1+json" {
            self.json(digest)["manifests"]
                .as_array()
                .expect("index manifests")
                .clone()
        } else {
            vec![root]
        };
        descriptors
            .iter()
            .map(|d| {
                let digest = d["digest"].as_str().expect("manifest digest").to_owned();
                let manifest = self.json(&digest);
                let config = self.json(
                    manifest["config"]["digest"]
                        .as_str()
                        .expect("config digest"),
                );
                let platform = format!(
                    "{}/{}",
                    config["os"].as_str().expect("config os"),
                    config["architecture"]
                        .as_str()
                        .expect("config architecture")
                );
                Image {
                    platform,
                    digest,
                    manifest,
                    config,
                }
            })
            .collect()
    }

    /// The image for `platform` (`linux/arm64`).
    pub fn image(&self, platform: &str) -> Image {
        self.images()
            .into_iter()
            .find(|i| i.platform == platform)
            .unwrap_or_else(|| panic!("the layout has no {platform} image"))
    }

    /// The files of one layer.
    pub fn layer(&self, digest: &str) -> BTreeMap<String, Entry> {
        untar_gzip(&self.blob(digest))
    }

    /// The layers of `image`, bottom first.
    pub fn layers(&self, image: &Image) -> Vec<BTreeMap<String, Entry>> {
        image.manifest["layers"]
            .as_array()
            .expect("manifest layers")
            .iter()
            .map(|l| self.layer(l["digest"].as_str().expect("layer digest")))
            .collect()
    }

    /// Every file of `image`, upper layers over lower ones.
    pub fn files(&self, image: &Image) -> BTreeMap<String, Entry> {
        self.layers(image).into_iter().flatten().collect()
    }
}
