//! Whether one of the pipeline's jobs exists in the workspace as its definition says.

use crate::named_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobCheckState {
    /// The job exists and matches its definition.
    Matches,
    /// No job of that name exists.
    Missing,
    /// The job exists but differs (script, resources, runtime, parent, environment).
    Drifted,
}

named_enum!(JobCheckState, "job check state", {
    Matches => "matches",
    Missing => "missing",
    Drifted => "drifted",
});
