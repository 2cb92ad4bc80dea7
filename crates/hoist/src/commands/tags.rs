//! `hoist tags`: the tags a push of this checkout writes, from the same code `hoist build
//! --push` uses, so CI and a person at a terminal see one answer.

use std::process::ExitCode;

use hoist_core::TagPolicy;
use serde::Serialize;

use crate::cli::TagsArgs;

/// What `--json` prints.
#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    tags: &'a hoist_pipeline::Tags,
    /// The push target, when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<String>,
    /// `repository:tag` for each tag, when there is a repository.
    references: Vec<String>,
}

/// Prints one tag per line (or the summary); with no tag, says why on stderr.
pub fn run(args: &TagsArgs) -> anyhow::Result<ExitCode> {
    let app = if hoist_pipeline::project::find_config(&args.dir).is_some() {
        Some(super::load_app(&args.dir, args.environment.as_deref())?)
    } else {
        None
    };
    let policy = app
        .as_ref()
        .map_or(TagPolicy::DEFAULT, |a| a.image.tags.as_slice());
    let tags = hoist_pipeline::Tags::read(Some(policy), &args.dir, &args.extra)?;
    let repository = crate::env_vars::get(crate::env_vars::HOIST_IMAGE_REPOSITORY)
        .or_else(|| app.as_ref().and_then(|a| a.image.repository.clone()));
    if args.json {
        let summary = Summary {
            references: repository
                .iter()
                .flat_map(|r| tags.tags.iter().map(move |t| format!("{r}:{t}")))
                .collect(),
            tags: &tags,
            repository,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        for t in &tags.tags {
            println!("{t}");
        }
        if let Some(why) = &tags.untagged {
            eprintln!("no tag: {why}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
