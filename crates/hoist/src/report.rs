//! The edge where typed errors become a report for a person: the error, its causes, and a hint
//! that says what to do.

use std::process::ExitCode;

use console::style;
use hoist_gobuild::GoBuildError;
use hoist_image::ImageError;

use crate::env_vars;

/// Sets up hoist's own diagnostics on stderr: warnings by default (`info` with timestamps for
/// the agent, whose stderr is its log), debug with `-v`, or the filter in HOIST_LOG.
pub fn init_logging(verbose: bool, agent: bool) {
    // kube's client logs each failed request at ERROR; hoist reports it itself.
    let default = match (verbose, agent) {
        (true, _) => "debug",
        (false, true) => "info",
        // rustls' certificate verifier logs every refusal at ERROR; hoist reports it itself.
        (false, false) => "warn,kube_client=off,rustls_platform_verifier=off",
    };
    let filter = env_vars::get(env_vars::HOIST_LOG).unwrap_or_else(|| default.to_owned());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(console::colors_enabled_stderr());
    let _ = if agent {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// Prints `error: …`, each `Caused by:` line, and a `hint:` when one is known for an error in
/// the chain. Returns the exit code: 2 for an invalid configuration (as clap's usage errors),
/// else 1 (see `commands::outcome`).
pub fn print_error(err: &anyhow::Error) -> ExitCode {
    let mut chain = err.chain();
    if let Some(top) = chain.next() {
        eprintln!("{} {top}", style("error:").red().bold());
    }
    let causes: Vec<String> = chain.map(ToString::to_string).collect();
    if let Some(snippet) = err
        .chain()
        .find_map(|e| e.downcast_ref::<hoist_config::ConfigError>())
        .and_then(hoist_config::ConfigError::snippet)
    {
        eprintln!("{snippet}");
    }
    if !causes.is_empty() {
        eprintln!("\nCaused by:");
        for c in &causes {
            eprintln!("    {c}");
        }
    }
    if let Some(h) = hint(err) {
        eprintln!("\n{} {h}", style("hint:").cyan().bold());
    }
    let config = err
        .chain()
        .any(|e| e.downcast_ref::<hoist_config::ConfigError>().is_some());
    ExitCode::from(if config {
        crate::commands::outcome::USAGE
    } else {
        crate::commands::outcome::ERROR
    })
}

/// What the user can do about the first error in the chain that we know a remedy for.
pub fn hint(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|e| {
        if let Some(hoist_pipeline::ProjectError::Infer { source, .. }) = e.downcast_ref() {
            return Some(match source {
                GoBuildError::SeveralMainPackages { .. } => "choose one: run the command in that package's directory, or write a hoist.toml that names it with `hoist init --main ./cmd/NAME`".to_owned(),
                GoBuildError::NotAModule { .. } => "run hoist in a Go module (a directory with go.mod, or below one), or create one with `go mod init <module path>`".to_owned(),
                other => go_hint(other)?,
            });
        }
        if let Some(g) = e.downcast_ref::<GoBuildError>() {
            return go_hint(g);
        }
        if let Some(b) = e.downcast_ref::<hoist_pipeline::BuildError>() {
            return build_hint(b);
        }
        if let Some(i) = e.downcast_ref::<ImageError>() {
            return image_hint(i);
        }
        if let Some(c) = e.downcast_ref::<hoist_config::ConfigError>() {
            return config_hint(c);
        }
        if let Some(r) = e.downcast_ref::<hoist_render::RenderError>() {
            return render_hint(r);
        }
        if let Some(m) = e.downcast_ref::<crate::commands::render::ImageMissing>() {
            return Some(image_missing_hint(m));
        }
        if let Some(r) = e.downcast_ref::<hoist_registry::RegistryError>() {
            return crate::commands::registry::hint(r);
        }
        // Its source is boxed, which a downcast of the next link would not see through.
        if let Some(
            hoist_pipeline::PublishError::Push { source, .. }
            | hoist_pipeline::PublishError::Tag { source, .. },
        ) = e.downcast_ref::<hoist_pipeline::PublishError>()
        {
            return crate::commands::registry::hint(source);
        }
        if let Some(k) = e.downcast_ref::<hoist_kube::KubeError>() {
            return crate::commands::kube::hint::hint(k);
        }
        if let Some(r) = e.downcast_ref::<crate::commands::local::AgentRefused>() {
            return r.hint.clone();
        }
        if let Some(hoist_runtime::client::ClientError::NotRunning { .. }) =
            e.downcast_ref::<hoist_runtime::client::ClientError>()
        {
            return Some("start it with `hoist agent` (in the foreground), or let `hoist deploy` start it; `--state-dir`/`HOIST_STATE_DIR` must name the same directory".to_owned());
        }
        if let Some(a) = e.downcast_ref::<hoist_runtime::agent::AgentError>() {
            return Some(crate::commands::agent::hint(a));
        }
        None
    })
}

fn build_hint(e: &hoist_pipeline::BuildError) -> Option<String> {
    use hoist_pipeline::BuildError as B;
    Some(match e {
        B::Go(g) => return go_hint(g),
        B::NeedsCgo { .. } => "use a pure-Go replacement (for SQLite, `modernc.org/sqlite`), or set `cgo = true` under `[build]` in hoist.toml: hoist then builds with this machine's C toolchain and puts the shared libraries the program links into the image".to_owned(),
        B::CgoCrossCompile { host, .. } => format!("build for {host} (`--platform {host}`), or drop `build.cgo` and the C dependency to cross-compile"),
        B::Epoch(_) => "unset SOURCE_DATE_EPOCH or give it a number of seconds, like `SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)`".to_owned(),
        _ => return None,
    })
}

fn go_hint(e: &GoBuildError) -> Option<String> {
    Some(match e {
        GoBuildError::GoNotFound => "install Go (https://go.dev/doc/install, or `apt-get install golang-go`) and make sure `go version` works in this shell".to_owned(),
        GoBuildError::NotAModule { .. } => "run hoist in a Go module, or create one with `go mod init <module path>`".to_owned(),
        GoBuildError::NoMainPackage { .. } | GoBuildError::NotAMainPackage { .. } => "point `app.main` in hoist.toml (or `hoist init --main`) at the package with `func main()`".to_owned(),
        GoBuildError::SeveralMainPackages { .. } | GoBuildError::UnknownMainPackage { .. } => "pass `--main ./path/to/package`".to_owned(),
        GoBuildError::CompileFailed { .. } => "fix the compile errors above; `go build` in the module shows the same".to_owned(),
        _ => return None,
    })
}

fn image_hint(e: &ImageError) -> Option<String> {
    Some(match e {
        ImageError::BasePlatform { .. } | ImageError::BaseLayerCount { .. } => {
            "the base image is not what its reference promised; check it with `hoist inspect REF`, or pin another one in `build.base`".to_owned()
        }
        ImageError::BaseLayerMediaType { .. } => {
            "choose a base whose layers are gzipped (most images are), or use `build.base = \"static\"`".to_owned()
        }
        ImageError::NotALayout { .. } => {
            "choose an empty or new directory for `--output oci:DIR`".to_owned()
        }
        _ => return None,
    })
}

fn config_hint(e: &hoist_config::ConfigError) -> Option<String> {
    match e {
        hoist_config::ConfigError::UnknownEnvironment { .. } => None,
        _ => Some(
            "every key of hoist.toml is described in docs/config.md (`hoist docs config`)"
                .to_owned(),
        ),
    }
}

fn render_hint(e: &hoist_render::RenderError) -> Option<String> {
    use hoist_render::RenderError;
    Some(match e {
        RenderError::ImageNotPinned { .. } | RenderError::InvalidImageName { .. } => {
            "pass the image by digest, like `--image registry.example.com/hello@sha256:…`, or `--image \"$(hoist build)\"` with `image.repository` set".to_owned()
        }
        RenderError::InvalidLabelValue { .. } => {
            "the version label comes from `git describe --tags --always --dirty`: use a tag of letters, digits, `-`, `_` and `.`".to_owned()
        }
        RenderError::Yaml { .. } => return None,
    })
}

fn image_missing_hint(e: &crate::commands::render::ImageMissing) -> String {
    use crate::commands::render::ImageMissing;
    match e {
        ImageMissing::NotGiven => "run `hoist build --push` (or `hoist build`, with `image.repository` set) for this directory and `--env` first, or pass the image pinned by digest: `--image REPOSITORY@sha256:DIGEST`".to_owned(),
        ImageMissing::NoRepository { .. } => "set `image.repository` in hoist.toml (or `--set image.repository=…`), or pass the full `--image REPOSITORY@sha256:DIGEST`".to_owned(),
        ImageMissing::NotPushed { .. } => "push it: `hoist build --push --repository REGISTRY/REPO` (or set `image.repository` in hoist.toml and run `hoist build --push`), or pass `--image REPOSITORY@sha256:DIGEST`".to_owned(),
    }
}
