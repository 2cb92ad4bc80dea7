//! Builds an image from a Go binary and writes it as an OCI layout and a docker archive, printing
//! the JSON summary: a manual check against engines.
//!
//! `cargo run --release -p hoist-image --example build -- BINARY OUT_DIR [PLATFORM]`

use std::path::PathBuf;

use hoist_image::{
    BlobStore, ImageSpec, LayoutRoot, build_image, write_docker_archive, write_oci_layout,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let binary = PathBuf::from(
        args.next()
            .ok_or("usage: build BINARY OUT_DIR [PLATFORM]")?,
    );
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: build BINARY OUT_DIR [PLATFORM]")?,
    );
    let platform = args
        .next()
        .unwrap_or_else(|| "linux/amd64".to_owned())
        .parse()?;
    let store = BlobStore::open(out.join("store"))?;
    let mut spec = ImageSpec::new(platform, "hello", binary);
    spec.created = 1_700_000_000;
    spec.port = Some(8080);
    let image = build_image(&spec, &store)?;
    println!("{}", serde_json::to_string_pretty(&image)?);
    let root = LayoutRoot {
        descriptor: image.manifest.clone(),
        tag: Some("latest".to_owned()),
    };
    write_oci_layout(&out.join("layout"), &[root], &store)?;
    write_docker_archive(
        &out.join("image.tar"),
        &image,
        &["hoist-hello:latest".to_owned()],
        &store,
    )?;
    Ok(())
}
