//! Lakeline's domain model, shared by the server (store, tracker, lineage) and the UI (pages):
//! the pipeline's stages and the states of pipeline runs, job runs and deployments. Every state
//! is an enum; text appears only at the edges (the database, the wire, the page).

mod alert;
mod batch;
mod change;
mod deployment;
mod pipeline;
mod quality_gate;
mod role;
mod run_request;
mod setup;
mod stage;

pub use alert::{Alert, AlertEvent, WebhookKind};
pub use batch::{trained_by, BatchFigures, TrainedRange, PSI_DRIFT};
pub use change::{Change, ChangeKind};
pub use deployment::DeploymentState;
pub use pipeline::{PipelineStatus, RunSource, StageOutcome, NEXT_STAGE_GRACE};
pub use quality_gate::{check_margin, GateDecision, QualityGate};
pub use role::Role;
pub use run_request::{RunRequest, RunRequestError};
pub use setup::{JobCheck, JobCheckState, PipelineSettings};
pub use stage::Stage;

/// A job run's state: CML's `EngineStatus`.
pub use cml_api::EngineStatus as JobRunState;

/// A value that is not one of an enum's names, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a {}; use one of {}", self.name, self.kind, self.expected.join(", "))
    }
}

impl std::error::Error for UnknownName {}

/// Implements `as_str`, `FromStr`, `Display`, `TryFrom<String>` and serde as the names given.
macro_rules! named_enum {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err($crate::UnknownName { kind: $kind, name: other.to_string(), expected: Self::NAMES }),
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::UnknownName;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = String::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }

        /// In an OpenAPI document: a string, one of the names.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::NAMES.iter().copied()))
                    .description(Some(concat!("A ", $kind, ".")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}
    };
}
pub(crate) use named_enum;
