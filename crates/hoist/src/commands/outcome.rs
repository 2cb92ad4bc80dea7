//! The exit status of every command: scripts and CI tell "deployed" from "failed, but the
//! previous revision still serves" and from a typo without parsing text.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (deployed) |
//! | 1 | an error before anything changed: a failed build, an unreachable agent, cluster or registry |
//! | 2 | a usage or configuration error: an unknown flag, a bad value, an invalid hoist.toml |
//! | 3 | the new revision failed and was rolled back: the previous one serves |
//! | 4 | the new revision failed with nothing to roll back to, or the rollback failed too |
//! | 130 | interrupted (Ctrl-C); a rollout already handed to the agent goes on there |

use std::process::ExitCode;

pub use hoist_core::Outcome;

/// Exit status of an error before anything changed.
pub const ERROR: u8 = 1;
/// Exit status of a usage or configuration error (clap's own, too).
pub const USAGE: u8 = 2;
/// Exit status of a rollout rolled back.
pub const ROLLED_BACK: u8 = 3;
/// Exit status of a rollout that failed with nothing serving its revision's place.
pub const FAILED: u8 = 4;
/// Exit status after Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// The process exit status for `outcome`.
pub fn exit_code(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Deployed => ExitCode::SUCCESS,
        Outcome::RolledBack => ExitCode::from(ROLLED_BACK),
        Outcome::Failed => ExitCode::from(FAILED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_never_reads_as_a_rollout_outcome() {
        assert_ne!(USAGE, ROLLED_BACK);
        assert_ne!(USAGE, FAILED);
        assert_eq!(exit_code(Outcome::RolledBack), ExitCode::from(3));
        assert_eq!(exit_code(Outcome::Failed), ExitCode::from(4));
    }
}
