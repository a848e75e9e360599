use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A job run's status (`EngineStatus`). Unknown values read as `Unknown`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EngineStatus {
    #[default]
    Scheduling,
    Starting,
    Running,
    Stopping,
    Stopped,
    Unknown,
    Succeeded,
    Failed,
    TimedOut,
    Skipped,
}

impl EngineStatus {
    pub const ALL: [EngineStatus; 10] = [
        Self::Scheduling,
        Self::Starting,
        Self::Running,
        Self::Stopping,
        Self::Stopped,
        Self::Unknown,
        Self::Succeeded,
        Self::Failed,
        Self::TimedOut,
        Self::Skipped,
    ];

    /// The wire name, e.g. `ENGINE_RUNNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduling => "ENGINE_SCHEDULING",
            Self::Starting => "ENGINE_STARTING",
            Self::Running => "ENGINE_RUNNING",
            Self::Stopping => "ENGINE_STOPPING",
            Self::Stopped => "ENGINE_STOPPED",
            Self::Unknown => "ENGINE_UNKNOWN",
            Self::Succeeded => "ENGINE_SUCCEEDED",
            Self::Failed => "ENGINE_FAILED",
            Self::TimedOut => "ENGINE_TIMEDOUT",
            Self::Skipped => "ENGINE_SKIPPED",
        }
    }

    pub fn parse(s: &str) -> Self {
        Self::ALL.into_iter().find(|v| v.as_str() == s).unwrap_or(Self::Unknown)
    }

    /// The lower-case word CML uses in search filters and its UI: `running`, `succeeded`, …
    pub fn word(self) -> &'static str {
        match self {
            Self::Scheduling => "scheduling",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Unknown => "unknown",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timedout",
            Self::Skipped => "skipped",
        }
    }

    /// Whether the run may still change (`ENGINE_UNKNOWN` counts as not finished).
    pub fn is_active(self) -> bool {
        !self.is_terminal()
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped | Self::Succeeded | Self::Failed | Self::TimedOut | Self::Skipped)
    }
}

/// Stored names read back leniently, like the wire's.
impl From<String> for EngineStatus {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl std::fmt::Display for EngineStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EngineStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EngineStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// In an OpenAPI document: a string, one of the wire names.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for EngineStatus {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Self::ALL.iter().map(|s| s.as_str())))
            .description(Some("A job run's state, in CML's words (`EngineStatus`)."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for EngineStatus {
    fn name() -> std::borrow::Cow<'static, str> {
        "JobRunState".into()
    }
}
