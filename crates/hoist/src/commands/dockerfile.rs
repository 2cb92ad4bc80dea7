//! `hoist dockerfile`: a Dockerfile and .dockerignore that build the app's image with docker.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_render::DockerfileInput;

use crate::cli::DockerfileArgs;

/// Writes `Dockerfile` and `.dockerignore` into `--out` (default: the project directory).
pub fn run(args: &DockerfileArgs) -> anyhow::Result<ExitCode> {
    let app = super::load_app(&args.dir, None)?;
    let go_version = match &args.go_version {
        Some(v) => v.trim_start_matches("go").to_owned(),
        None => installed_go_version()?,
    };
    let files = hoist_render::dockerfile(&app, &DockerfileInput { go_version });
    let out = args.out.as_deref().unwrap_or(&args.dir);
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create directory `{}`", out.display()))?;
    write(&out.join("Dockerfile"), &files.dockerfile)?;
    write(&out.join(".dockerignore"), &files.dockerignore)?;
    Ok(ExitCode::SUCCESS)
}

/// `go env GOVERSION` without the `go` prefix, e.g. `1.26.8`.
fn installed_go_version() -> anyhow::Result<String> {
    let out = std::process::Command::new("go")
        .args(["env", "GOVERSION"])
        .output()
        .context(
            "cannot run `go env GOVERSION` to choose the builder image; pass `--go-version 1.x.y`",
        )?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let version = version.strip_prefix("go").unwrap_or(&version);
    // A development toolchain (`devel go1.27-…`) has no image: the user must choose one.
    if !out.status.success()
        || version.is_empty()
        || !version.starts_with(|c: char| c.is_ascii_digit())
    {
        anyhow::bail!(
            "cannot tell the installed Go release from `go env GOVERSION` (`{version}`); pass `--go-version 1.x.y`"
        );
    }
    Ok(version.to_owned())
}

/// Writes beside, then renames into place.
fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".hoist-dockerfile-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
