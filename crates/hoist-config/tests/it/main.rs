//! hoist-config's integration tests, one binary: each module is one area of the file format
//! (`cargo test -p hoist-config --test it errors::` runs one). None needs a service.

mod canary;
mod defaults;
mod errors;
mod manifests;
mod overlay;
mod roundtrip;

use hoist_config::load_str_with;

/// The error message of `body` after a minimal valid `[app]`, loaded with environment `env` and
/// `--set` values `sets`: every error test starts from a valid file and breaks one thing.
fn error_with(body: &str, env: Option<&str>, sets: &[&str]) -> String {
    let src = format!("[app]\nname = \"hello\"\n{body}");
    let sets: Vec<String> = sets.iter().map(|s| (*s).to_owned()).collect();
    match load_str_with("hoist.toml", &src, env, &sets) {
        Ok(app) => panic!("loaded {app:?} from\n{src}"),
        Err(e) => e.to_string(),
    }
}

/// [`error_with`] of the base file alone.
fn error(body: &str) -> String {
    error_with(body, None, &[])
}
