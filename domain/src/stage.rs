//! The pipeline's three stages, in chain order.

use crate::named_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    NewBatch,
    RetrainXgboost,
    ApiRedeployment,
}

named_enum!(Stage, "stage", {
    NewBatch => "new_batch",
    RetrainXgboost => "train_xgboost",
    ApiRedeployment => "api_redeployment",
});

impl Stage {
    /// The stage's position in the chain: 0, 1, 2 (how the database stores it).
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(index: usize) -> Option<Stage> {
        Stage::ALL.get(index).copied()
    }

    /// The job's name as the lab has it (the owner suffix is added by the pipeline definition).
    pub fn title(self) -> &'static str {
        match self {
            Stage::NewBatch => "New Batch",
            Stage::RetrainXgboost => "Retrain XGBoost",
            Stage::ApiRedeployment => "API Redeployment",
        }
    }

    /// The job's script in the project.
    pub fn script(self) -> &'static str {
        match self {
            Stage::NewBatch => "new_batch.py",
            Stage::RetrainXgboost => "train_xgboost.py",
            Stage::ApiRedeployment => "api_redeployment.py",
        }
    }

    /// Where the job's own log and summary go in the project: `logs/<folder>/<run id>.{log,json}`.
    pub fn log_folder(self) -> &'static str {
        self.as_str()
    }

    /// The stage before this one in the chain (its job is this one's parent).
    pub fn previous(self) -> Option<Stage> {
        self.index().checked_sub(1).and_then(Stage::from_index)
    }

    pub fn next(self) -> Option<Stage> {
        Stage::from_index(self.index() + 1)
    }

    pub fn is_last(self) -> bool {
        self.next().is_none()
    }
}

/// The database keeps a stage as its index.
impl TryFrom<i64> for Stage {
    type Error = crate::UnknownName;
    fn try_from(index: i64) -> Result<Self, Self::Error> {
        usize::try_from(index).ok().and_then(Stage::from_index).ok_or(crate::UnknownName { kind: "stage index", name: index.to_string(), expected: &["0", "1", "2"] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_chain_in_order() {
        assert_eq!(Stage::ALL.iter().map(|s| s.index()).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(Stage::NewBatch.previous(), None);
        assert_eq!(Stage::RetrainXgboost.previous(), Some(Stage::NewBatch));
        assert_eq!(Stage::RetrainXgboost.next(), Some(Stage::ApiRedeployment));
        assert!(Stage::ApiRedeployment.is_last());
        assert_eq!(Stage::from_index(3), None);
    }

    #[test]
    fn names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>(), Ok(*stage));
        }
        assert_eq!(Stage::ALL.iter().map(|s| s.script()).collect::<Vec<_>>(), ["new_batch.py", "train_xgboost.py", "api_redeployment.py"]);
        assert!("retrain".parse::<Stage>().unwrap_err().to_string().contains("new_batch, train_xgboost, api_redeployment"));
    }
}
