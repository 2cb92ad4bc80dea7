//! `hoist ci github|gitlab`: writes the CI pipeline for the project, from hoist.toml's `[ci]` and its
//! environments, into the repository that holds it. A file hoist wrote is updated; a file
//! edited by hand (or never hoist's) is kept unless `--force`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_ci::header::{self, Existing};
use hoist_ci::{Environment, Install, Pipeline};
use hoist_core::Ci;

use crate::cli::{CiArgs, CiPlatform};

/// Writes (or prints, with `--stdout`) the pipeline file.
pub fn run(args: &CiArgs) -> anyhow::Result<ExitCode> {
    let pipeline = pipeline(args)?;
    let (command, rel, body) = match args.platform {
        CiPlatform::Github => (
            "hoist ci github",
            hoist_ci::github::PATH,
            hoist_ci::github::workflow(&pipeline.pipeline),
        ),
        CiPlatform::Gitlab => (
            "hoist ci gitlab",
            hoist_ci::gitlab::PATH,
            hoist_ci::gitlab::pipeline(&pipeline.pipeline),
        ),
    };
    let text = header::stamp(command, &body);
    if args.stdout {
        print!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let path = pipeline.root.join(rel);
    let deploys: Vec<String> = pipeline
        .pipeline
        .ci
        .deploy
        .iter()
        .map(|r| format!("{} -> {}", r.on, r.environment))
        .collect();
    let report = |written: bool| -> anyhow::Result<()> {
        if args.json {
            let r = serde_json::json!({
                "path": path,
                "written": written,
                "deploys": deploys,
            });
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        Ok(())
    };
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => {
            eprintln!("{} is up to date", path.display());
            report(false)?;
            return Ok(ExitCode::SUCCESS);
        }
        Ok(existing) if !args.force => match header::classify(&existing) {
            Existing::Generated => {}
            Existing::Edited => anyhow::bail!(
                "`{}` was written by `{command}` and changed by hand since; kept. Pass `--force` to replace it (see the difference with `{command} --stdout | diff {} -`)",
                path.display(),
                path.display()
            ),
            Existing::Foreign => anyhow::bail!(
                "`{}` exists and was not written by hoist; kept. Pass `--force` to replace it, or `--stdout` to print hoist's version",
                path.display()
            ),
        },
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("cannot read `{}`", path.display())));
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(&path, &text).with_context(|| format!("cannot write `{}`", path.display()))?;
    eprintln!("wrote {}", path.display());
    if deploys.is_empty() {
        eprintln!(
            "it tests and builds every change and deploys nothing; map refs to environments with `[ci] deploy = {{ main = \"staging\" }}` in hoist.toml"
        );
    } else {
        eprintln!("deploys {}", deploys.join(", "));
    }
    report(true)?;
    Ok(ExitCode::SUCCESS)
}

/// The pipeline and the repository root it is written into.
struct Located {
    pipeline: Pipeline,
    root: PathBuf,
}

fn pipeline(args: &CiArgs) -> anyhow::Result<Located> {
    let config = hoist_pipeline::project::find_config(&args.dir);
    let project_dir = match &config {
        Some(c) => c.parent().unwrap_or(Path::new(".")).to_path_buf(),
        None => hoist_gobuild::find_module(&args.dir)?.dir,
    };
    let project_dir = std::path::absolute(&project_dir).unwrap_or(project_dir);
    let root = git_root(&project_dir)?;
    let module = hoist_gobuild::find_module(&project_dir)?;
    let (ci, environments) = match &config {
        Some(path) => {
            let base = hoist_config::load(path, None)?;
            let mut environments = Vec::new();
            for name in hoist_config::environments(path)? {
                let app = hoist_config::load(path, Some(&name))?;
                environments.push(Environment {
                    name,
                    kubernetes: app.kubernetes.is_some(),
                    repository: app.image.repository.is_some(),
                });
            }
            (base.ci.unwrap_or_default(), environments)
        }
        None => (Ci::default(), Vec::new()),
    };
    let rel = |dir: &Path| -> String {
        dir.strip_prefix(&root)
            .ok()
            .map(|r| r.display().to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| ".".to_owned())
    };
    let rev = args
        .hoist_rev
        .clone()
        .or_else(|| option_env!("HOIST_GIT_COMMIT").map(str::to_owned))
        .context("this hoist was built outside a git checkout, so the commit CI should build it from is unknown; pass `--hoist-rev COMMIT` (40 hex)")?;
    if rev.len() != 40 || !rev.chars().all(|c| c.is_ascii_hexdigit()) {
        anyhow::bail!(
            "`--hoist-rev {rev}`: a full commit hash (40 hex) is needed, so CI builds exactly that source"
        );
    }
    Ok(Located {
        pipeline: Pipeline {
            ci,
            environments,
            default_branch: hoist_pipeline::publish::default_branch(&root)
                .unwrap_or_else(|| "main".to_owned()),
            dir: rel(&project_dir),
            module_dir: rel(&module.dir),
            go_sum: module.dir.join("go.sum").is_file(),
            go_version: go_line(&module.dir.join("go.mod"))?,
            install: Install {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                git: args.hoist_git.clone(),
                rev,
            },
        },
        root,
    })
}

/// go.mod's `go` line (`1.22`, `1.24.3`): the Go CI images are named by it.
fn go_line(go_mod: &Path) -> anyhow::Result<String> {
    hoist_gobuild::go_directive(go_mod).with_context(|| {
        format!(
            "`{}` has no `go` line (or cannot be read); add one (`go mod edit -go=1.22`) so CI knows which Go to use",
            go_mod.display()
        )
    })
}

/// The top of the git work tree holding `dir`: where `.github/` goes.
fn git_root(dir: &Path) -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .context("cannot run git (CI pipelines live in a git repository)")?;
    if !out.status.success() {
        anyhow::bail!(
            "`{}` is not in a git repository: a CI pipeline runs on pushes to one; `git init` first",
            dir.display()
        );
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
