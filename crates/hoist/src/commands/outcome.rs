//! What a deploy or rollback ended as, and the exit status that says so: scripts and CI can
//! tell "deployed" from "failed, but the previous revision still serves" without parsing text.

use std::process::ExitCode;

use serde::Serialize;

/// How a rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new revision serves. Exit status 0.
    Deployed,
    /// The new revision failed and the previous one serves again. Exit status 2.
    RolledBack,
    /// The new revision failed and there was nothing to roll back to, or the rollback failed
    /// too. Exit status 3.
    Failed,
}

impl Outcome {
    /// The process exit status for this outcome. (1 is every error before a rollout started:
    /// bad input, an unreachable agent or cluster, a failed build; nothing was changed.)
    pub fn exit_code(self) -> ExitCode {
        match self {
            Self::Deployed => ExitCode::SUCCESS,
            Self::RolledBack => ExitCode::from(2),
            Self::Failed => ExitCode::from(3),
        }
    }

    /// The worst of several (per cluster) outcomes.
    pub fn worst(outcomes: impl IntoIterator<Item = Self>) -> Self {
        outcomes
            .into_iter()
            .max_by_key(|o| match o {
                Self::Deployed => 0,
                Self::RolledBack => 1,
                Self::Failed => 2,
            })
            .unwrap_or(Self::Deployed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_wins() {
        use Outcome::*;
        assert_eq!(Outcome::worst([Deployed, RolledBack, Deployed]), RolledBack);
        assert_eq!(Outcome::worst([Failed, RolledBack]), Failed);
        assert_eq!(Outcome::worst([]), Deployed);
    }
}
