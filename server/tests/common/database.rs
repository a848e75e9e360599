//! Which database a test's Lakeline uses: SQLite in its data directory, or, when
//! `LAKELINE_TEST_POSTGRES` names a PostgreSQL server (`make test-postgres`), a fresh PostgreSQL
//! database per data directory, remembered in it so that a restart on that directory finds it.

use std::path::Path;

use lakeline::store::{test_database, Location, Store};

/// The file in a data directory that remembers its test database.
const REMEMBERED: &str = "test-database-url";

/// The database of the Lakeline whose data directory is `data_dir`.
pub fn location(data_dir: &Path) -> Location {
    let Some(server) = test_database::server() else { return Location::Sqlite(data_dir.join("lakeline.db")) };
    let remembered = data_dir.join(REMEMBERED);
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Location::Postgres(url);
    }
    let url = test_database::create(&server);
    std::fs::write(&remembered, &url).expect("the test database is remembered");
    Location::Postgres(url)
}

/// The PostgreSQL URL to give Lakeline for `data_dir`, if tests run on PostgreSQL.
pub fn url(data_dir: &Path) -> Option<String> {
    match location(data_dir) {
        Location::Postgres(url) => Some(url),
        Location::Sqlite(_) => None,
    }
}

/// The store of the Lakeline whose data directory is `data_dir`, opened beside it.
pub async fn store(data_dir: &Path) -> Store {
    Store::connect(&location(data_dir)).await.expect("the store opens")
}
