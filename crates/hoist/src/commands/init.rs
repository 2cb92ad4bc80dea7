//! `hoist init`: a commented hoist.toml for an existing Go module.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::InitArgs;

/// Finds the module's main packages with `go list`, picks one, and writes hoist.toml next to
/// the directory given. Never overwrites: an existing file is an error.
pub fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let path = args.dir.join(hoist_config::FILE_NAME);
    if path.exists() {
        anyhow::bail!(
            "`{}` already exists; hoist init never overwrites it (edit it, or delete it first)",
            path.display()
        );
    }
    let module = hoist_gobuild::find_module(&args.dir)?;
    let mains = hoist_gobuild::list_main_packages(&module)?;
    // In `cmd/server` of a module with several programs, that one is meant.
    let chosen = hoist_pipeline::project::choose(&module, &mains, &args.dir, args.main.as_deref())?;
    let (port, app_args, found) = hoist_pipeline::project::listening(&module.dir, &chosen.relative);
    let text = hoist_config::init_template(&hoist_config::InitParams {
        name: hoist_pipeline::project::app_name(&module, &mains, chosen),
        main: main_relative_to(&args.dir, &module.dir, &chosen.relative),
        port,
        args: app_args,
        found: found.clone(),
        // This machine's platform: the one a local deploy runs; the template shows how to add
        // another.
        platforms: vec![hoist_core::Platform::host().to_string()],
    });
    // create_new: the check above and the write must not race into an overwrite.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    eprintln!(
        "wrote {} (main package {})",
        path.display(),
        chosen.relative
    );
    if let Some(found) = found {
        eprintln!("found in {found}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The package path as seen from the directory holding hoist.toml, which `go build` runs in.
fn main_relative_to(
    config_dir: &std::path::Path,
    module_dir: &std::path::Path,
    rel: &str,
) -> String {
    let config_dir = std::path::absolute(config_dir).unwrap_or_else(|_| config_dir.to_path_buf());
    let pkg_dir = match rel {
        "." => module_dir.to_path_buf(),
        _ => module_dir.join(rel.trim_start_matches("./")),
    };
    match pkg_dir.strip_prefix(&config_dir) {
        Ok(p) if p.as_os_str().is_empty() => ".".to_owned(),
        Ok(p) => format!("./{}", p.display()),
        Err(_) => rel.to_owned(),
    }
}
