//! `hoist chaos APP`: faults injected into one revision on this machine for a while.

use std::process::ExitCode;

use anyhow::Context as _;
use hoist_runtime::api::{ChaosReport, ChaosRequest};
use hoist_runtime::proxy::faults::ProxyFault;

use super::connect::connect;
use super::deploy::refused;
use crate::cli::ChaosArgs;
use crate::commands::kube::parse_duration;

/// Sends the faults to the agent and says what it injected.
pub fn run(app: &str, args: &ChaosArgs) -> anyhow::Result<ExitCode> {
    let req = request(args)?;
    let dir = super::dir_of(&args.agent)?;
    let report: ChaosReport = super::runtime()?.block_on(async {
        connect(&dir)
            .await?
            .post(&format!("/v1/apps/{app}/chaos"), &req)
            .await
            .map_err(|e| refused(e, "cannot inject the faults"))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprintln!(
            "revision {} of `{app}` for {}s: {}",
            report.revision,
            report.seconds,
            report.injected.join("; ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn request(args: &ChaosArgs) -> anyhow::Result<ChaosRequest> {
    let seconds = parse_duration(&args.duration)
        .context("invalid `--for`")?
        .as_secs()
        .max(1);
    let latency = args
        .latency
        .as_deref()
        .map(parse_duration)
        .transpose()
        .context("invalid `--latency`")?;
    let (abort_percent, abort_status) = match args.abort.as_deref() {
        None => (0, None),
        Some(text) => {
            let (p, status) = text
                .split_once(':')
                .map_or((text, None), |(p, s)| (p, Some(s)));
            let status = status
                .map(|s| {
                    s.parse::<u16>()
                        .ok()
                        .filter(|c| (400..600).contains(c))
                        .with_context(|| {
                            format!("invalid `--abort {text}`: the status is 400 to 599")
                        })
                })
                .transpose()?;
            (percent(p, "--abort")?, status)
        }
    };
    Ok(ChaosRequest {
        revision: args.revision,
        seconds,
        kill: args.kill,
        cpu_percent: args.cpu.as_deref().map_or(Ok(0), |p| percent(p, "--cpu"))?,
        proxy: ProxyFault {
            latency,
            abort_percent,
            abort_status,
            reset_percent: args
                .reset
                .as_deref()
                .map_or(Ok(0), |p| percent(p, "--reset"))?,
        },
    })
}

/// `10%` → 10.
fn percent(text: &str, flag: &str) -> anyhow::Result<u8> {
    text.strip_suffix('%')
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=100).contains(n))
        .with_context(|| format!("invalid `{flag} {text}`: write a share like `10%` (1% to 100%)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_need_their_sign_and_a_range() {
        assert_eq!(percent("10%", "--abort").unwrap(), 10);
        for bad in ["10", "0%", "101%", "x%"] {
            let e = percent(bad, "--abort").unwrap_err().to_string();
            assert!(e.contains(&format!("`--abort {bad}`")), "{e}");
        }
    }
}
