//! `hoist config`: the merged configuration, as hoist will use it.

use std::process::ExitCode;

use crate::cli::ConfigArgs;

/// Prints the merged app spec as TOML (or JSON with `--json`, the same keys and values) on
/// stdout.
pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let app = super::load_app_with(&args.dir, args.environment.as_deref(), &args.sets)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&hoist_config::to_table(&app))?
        );
    } else {
        print!("{}", hoist_config::to_toml(&app));
    }
    Ok(ExitCode::SUCCESS)
}
