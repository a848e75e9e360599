//! A model deployment's state, in CML's words (`ModelDeployment.status`).

use crate::named_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentState {
    Pending,
    Deploying,
    Deployed,
    Stopping,
    Stopped,
    Failed,
}

named_enum!(DeploymentState, "deployment state", {
    Pending => "pending",
    Deploying => "deploying",
    Deployed => "deployed",
    Stopping => "stopping",
    Stopped => "stopped",
    Failed => "failed",
});

impl DeploymentState {
    /// Reads CML's word leniently: case and surrounding space do not matter; an unknown word is
    /// `None` (shown raw by the caller rather than guessed).
    pub fn from_cml(word: &str) -> Option<DeploymentState> {
        word.trim().to_ascii_lowercase().parse().ok()
    }

    /// Whether the deployment answers (or is about to).
    pub fn is_live(self) -> bool {
        matches!(self, DeploymentState::Deployed | DeploymentState::Deploying | DeploymentState::Pending)
    }
}
