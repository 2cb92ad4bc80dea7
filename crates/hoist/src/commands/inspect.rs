//! `hoist inspect REF`: an image's platforms, manifests, config and sizes, from the registry.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_registry::Reference;

use super::registry;
use crate::cli::InspectArgs;

/// Prints the inspection (JSON with `--json`) on stdout.
pub fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let reference: Reference = args.reference.parse()?;
    let client = registry::client(&args.registry, &reference.repository.registry)?;
    let info = client
        .inspect(&reference)
        .with_context(|| format!("cannot inspect `{reference}`"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", info.reference);
    println!("media type: {}", info.media_type);
    for image in &info.images {
        println!();
        println!("platform:   {}", image.platform);
        println!("manifest:   {}", image.digest);
        println!("config:     {}", image.config_digest);
        if let Some(c) = &image.created {
            println!("created:    {c}");
        }
        let field = |k: &str| {
            let v = &image.config[k];
            (!v.is_null()).then(|| v.to_string())
        };
        for (label, key) in [
            ("entrypoint", "Entrypoint"),
            ("cmd", "Cmd"),
            ("user", "User"),
        ] {
            if let Some(v) = field(key) {
                println!("{label:<11} {v}");
            }
        }
        println!(
            "size:       {} in {} layers",
            registry::mb(image.size),
            image.layers.len()
        );
        for l in &image.layers {
            println!("  {} {}", l.digest, registry::mb(l.size));
        }
    }
    Ok(ExitCode::SUCCESS)
}
