//! `hoist push DIR`: an OCI image layout to `image.repository`, with the tag policy's tags.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_image::Descriptor;
use hoist_registry::BlobDir;

use super::registry;
use crate::cli::PushArgs;

/// Pushes the layout's image; prints `repository@digest` (or `--json`).
pub fn run(args: &PushArgs) -> anyhow::Result<ExitCode> {
    let has_config = hoist_pipeline::project::find_config(&args.project).is_some();
    let app = if has_config || args.environment.is_some() {
        Some(super::load_app(&args.project, args.environment.as_deref())?)
    } else {
        None
    };
    let repository = registry::target_repository(&args.target, app.as_ref())?;
    let tags = registry::tags(app.as_ref(), &args.project, &args.target.tags)?;
    let root = layout_root(&args.layout)?;
    let client = registry::client(&args.registry, &repository.registry)?;
    let store = super::build::open_store()?;
    let hints = registry::mount_hints(&store);
    let out = registry::push(
        &client,
        &repository,
        &root,
        &BlobDir::new(&args.layout),
        &tags,
        Some(&hints),
    )?;
    if args.json {
        let summary = registry::PushSummary::new(&out, &tags);
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{}", out.pinned);
    }
    Ok(ExitCode::SUCCESS)
}

/// An OCI layout's `index.json`, as far as a push needs it.
#[derive(serde::Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

/// The one image of an OCI layout's `index.json`.
fn layout_root(dir: &std::path::Path) -> anyhow::Result<Descriptor> {
    let path = dir.join("index.json");
    let text = std::fs::read(&path).with_context(|| {
        format!(
            "`{}` is not an OCI image layout (no readable index.json)",
            dir.display()
        )
    })?;
    let index: Index = serde_json::from_slice(&text)
        .with_context(|| format!("`{}` is not a valid OCI index", path.display()))?;
    match index.manifests.as_slice() {
        [one] => {
            let mut d = one.clone();
            d.annotations.clear();
            Ok(d)
        }
        [] => anyhow::bail!("the OCI layout `{}` holds no image", dir.display()),
        _ => anyhow::bail!(
            "the OCI layout `{}` holds {} images; hoist pushes layouts with one (as `hoist build --output` writes them)",
            dir.display(),
            index.manifests.len()
        ),
    }
}
