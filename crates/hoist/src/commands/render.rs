//! `hoist render`: Kubernetes manifests for the app, on stdout or one file per object.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_core::App;
use hoist_gobuild::GitFacts;
use hoist_render::{Object, PinnedImage, RenderInput};

use super::last_build::LastBuild;
use crate::cli::RenderArgs;

/// Why there is no image reference to render (the hint tells the user how to get one).
#[derive(Debug, thiserror::Error)]
pub enum ImageMissing {
    /// No `--image`, and no build of this directory and environment to take it from.
    #[error(
        "no image to run: no `hoist build` of this directory and environment yet, and no `--image`"
    )]
    NotGiven,
    /// `--image sha256:…` without `image.repository` to put it in.
    #[error("`--image {digest}` names no repository, and hoist.toml sets no `image.repository`")]
    NoRepository {
        /// The digest given.
        digest: String,
    },
    /// The last build was not pushed, and there is no `image.repository` to name it in.
    #[error(
        "the last `hoist build` of this directory and environment ({digest}) was not pushed, and hoist.toml sets no `image.repository`, so no cluster could pull it"
    )]
    NotPushed {
        /// The digest built.
        digest: String,
    },
}

/// Renders the manifests and prints them (or writes them to `--out`).
pub fn run(args: &RenderArgs) -> anyhow::Result<ExitCode> {
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    let (app, dir) = (&project.app, &project.dir);
    let last = super::build::open_store().ok().and_then(|store| {
        super::last_build::recall(store.root(), dir, args.environment.as_deref())
    });
    let image = image(app, args.image.as_deref(), last.as_ref())?;
    let version = GitFacts::read(dir).map_or_else(|| "dev".to_owned(), |f| f.describe);
    let objects = hoist_render::render(app, &RenderInput { image, version })?;
    match &args.out {
        None => print!("{}", hoist_render::to_yaml_stream(&objects)?),
        Some(dir) => write_files(dir, &objects)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `--image REF`, else the last build's pushed reference or digest; a bare `sha256:…` is
/// completed with `image.repository`.
pub(super) fn image(
    app: &App,
    given: Option<&str>,
    last: Option<&LastBuild>,
) -> anyhow::Result<PinnedImage> {
    let from_last = last.map(|l| l.pushed.clone().unwrap_or_else(|| l.digest.clone()));
    let flag = given.is_some();
    let given = given
        .map(str::to_owned)
        .or(from_last)
        .ok_or(ImageMissing::NotGiven)?;
    let given = given.as_str();
    if given.starts_with("sha256:") {
        let repository = app.image.repository.as_deref().ok_or_else(|| {
            let digest = given.to_owned();
            if flag {
                ImageMissing::NoRepository { digest }
            } else {
                ImageMissing::NotPushed { digest }
            }
        })?;
        return Ok(PinnedImage::parse(&format!("{repository}@{given}"))?);
    }
    Ok(PinnedImage::parse(given)?)
}

/// One `<kind>.yaml` per object in `dir`, each written beside and renamed into place; files of
/// kinds this render no longer produces (say, `horizontalpodautoscaler.yaml` after autoscale
/// was removed) are deleted, so `kubectl apply -f DIR` matches the config.
fn write_files(dir: &Path, objects: &[Object]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory `{}`", dir.display()))?;
    let mut written = Vec::new();
    for object in objects {
        let name = object.file_name();
        let text = hoist_render::to_yaml(object)?;
        let path = dir.join(&name);
        // 0666 less the umask, as any file the user writes (a temporary file alone is 0600).
        let mut tmp = tempfile::Builder::new()
            .prefix(".hoist-render-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .with_context(|| format!("cannot write in `{}`", dir.display()))?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        tmp.persist(&path)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        eprintln!("wrote {}", path.display());
        written.push(name);
    }
    for stale in hoist_render::FILE_NAMES {
        let path = dir.join(stale);
        if !written.iter().any(|w| w == stale) && path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove `{}`", path.display()))?;
            eprintln!("removed {}", path.display());
        }
    }
    Ok(())
}
