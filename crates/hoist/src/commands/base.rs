//! `build.base` made ready for `hoist-image`: hoist's own bases as they are, a registry base
//! pulled into the blob store (an index resolved to each built platform's manifest, every
//! digest checked, blobs already in the store not fetched again) and described per platform.

use std::sync::Arc;

use anyhow::Context as _;
use hoist_core::{Base, Platform};
use hoist_image::{BaseImage, BlobStore, ImageBase};
use hoist_registry::{Observer, Quiet, Reference};

use super::registry;
use crate::cli::RegistryArgs;
use crate::progress::Progress;

/// One [`ImageBase`] per platform of `platforms`, in their order.
///
/// A registry base is resolved again on every build (one manifest request for a tag; a
/// digest-pinned index's platform manifests come from the store), while its config and layers
/// are fetched only when the store lacks them.
pub fn resolve(
    base: &Base,
    platforms: &[Platform],
    args: &RegistryArgs,
    store: &BlobStore,
    progress: &Progress,
) -> anyhow::Result<Vec<ImageBase>> {
    let reference = match base {
        Base::Static => return Ok(vec![ImageBase::Static; platforms.len()]),
        Base::Scratch => return Ok(vec![ImageBase::Scratch; platforms.len()]),
        Base::Image(r) => r,
    };
    let stage = progress.stage(format!("base {reference}"));
    let r = pull(reference, platforms, args, store);
    match r {
        Ok((bases, note)) => {
            stage.finish(&note);
            Ok(bases)
        }
        Err(e) => {
            stage.fail();
            Err(e)
        }
    }
}

fn pull(
    configured: &str,
    platforms: &[Platform],
    args: &RegistryArgs,
    store: &BlobStore,
) -> anyhow::Result<(Vec<ImageBase>, String)> {
    let reference: Reference = configured
        .parse()
        .with_context(|| format!("invalid `build.base` `{configured}`"))?;
    let client = registry::client(args, &reference.repository.registry)?;
    // Per-blob lines would repeat for every cached blob of every build: the stage line sums up.
    let observer: Arc<dyn Observer> = Arc::new(Quiet);
    let pulled = client
        .pull(
            &reference,
            platforms,
            store,
            Some(&registry::mount_hints(store)),
            &observer,
        )
        .with_context(|| format!("cannot pull the base image `{reference}`"))?;
    let describe = |i: &hoist_registry::PulledImage| {
        ImageBase::Image(BaseImage {
            reference: configured.to_owned(),
            manifest: i.manifest.digest.clone(),
            config: i.config.digest.clone(),
            layers: i.layers.clone(),
        })
    };
    // An index gives one image per platform, in the order asked; a lone manifest (already
    // checked against every platform by the pull) serves them all.
    let bases = match pulled.images.as_slice() {
        [one] => vec![describe(one); platforms.len()],
        many if many.len() == platforms.len() => many.iter().map(describe).collect(),
        many => anyhow::bail!(
            "the base `{reference}` resolved to {} images for {} platforms",
            many.len(),
            platforms.len()
        ),
    };
    let s = client.stats();
    let note = format!(
        "{} ({} downloaded, {}; {} from the cache)",
        pulled.root.digest,
        s.blobs_downloaded,
        registry::mb(s.bytes_downloaded),
        s.blobs_cached
    );
    Ok((bases, note))
}
