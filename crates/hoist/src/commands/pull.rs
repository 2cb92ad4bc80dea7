//! `hoist pull REF --output oci:DIR`: an image from a registry into an OCI image layout.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use hoist_core::Platform;
use hoist_image::LayoutRoot;
use hoist_registry::{Observer, Reference};

use super::outputs::Output;
use super::registry;
use crate::cli::PullArgs;

/// Pulls (every digest checked) and writes the layout; prints the digest.
pub fn run(args: &PullArgs) -> anyhow::Result<ExitCode> {
    let reference: Reference = args.reference.parse()?;
    let dir = match Output::parse(&args.output)? {
        Output::OciLayout(dir) => dir,
        Output::DockerArchive(_) => anyhow::bail!("`hoist pull` writes `oci:DIR` only"),
    };
    Output::OciLayout(dir.clone()).check_writable()?;
    let platforms = args
        .platforms
        .iter()
        .map(|p| {
            p.parse::<Platform>()
                .with_context(|| format!("invalid --platform `{p}`"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = super::build::open_store()?;
    let client = registry::client(&args.registry, &reference.repository.registry)?;
    let progress = Arc::new(registry::BlobProgress::new("pull"));
    let observer: Arc<dyn Observer> = progress.clone();
    let pulled = client.pull(
        &reference,
        &platforms,
        &store,
        Some(&registry::mount_hints(&store)),
        &observer,
    );
    progress.clear();
    let pulled = pulled.with_context(|| format!("cannot pull `{reference}`"))?;
    // A subset of an index's platforms is written as those manifests, not the whole index.
    let roots: Vec<LayoutRoot> = if platforms.is_empty()
        || pulled.images.len() == 1
            && platforms.len() == 1
            && pulled.root.digest == pulled.images[0].manifest.digest
    {
        vec![LayoutRoot {
            descriptor: pulled.root.clone(),
            tag: reference.tag.clone(),
        }]
    } else if let [one] = pulled.images.as_slice() {
        vec![LayoutRoot {
            descriptor: one.manifest.clone(),
            tag: reference.tag.clone(),
        }]
    } else {
        anyhow::bail!("pull one `--platform`, or all of them (no `--platform`), into a layout");
    };
    hoist_image::write_oci_layout(&dir, &roots, &store)?;
    let s = client.stats();
    eprintln!(
        "pulled {} into {} ({} downloaded, {}; {} from the cache)",
        reference,
        dir.display(),
        s.blobs_downloaded,
        registry::mb(s.bytes_downloaded),
        s.blobs_cached
    );
    if args.json {
        let v = serde_json::json!({
            "digest": roots[0].descriptor.digest.to_string(),
            "media_type": roots[0].descriptor.media_type,
            "output": format!("oci:{}", dir.display()),
            "stats": s,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{}", roots[0].descriptor.digest);
    }
    Ok(ExitCode::SUCCESS)
}
