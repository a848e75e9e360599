//! The store's error: what failed in Lakeline's database. The store returns it; the tracker
//! wraps it; server functions log it and show the user only that the database failed.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `database` is the file, or the PostgreSQL URL without its password.
    #[error("the database {database} cannot be opened: {source}")]
    Open { database: String, source: sqlx::Error },

    #[error("the database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
