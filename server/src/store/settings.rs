//! Settings changed in the browser, over defaults from the configuration.

use std::collections::HashMap;

use super::Store;
use super::Result;

impl Store {
    pub async fn settings(&self) -> Result<HashMap<String, String>> {
        on_pool!(self, pool => {
            let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(pool).await?;
            Ok(rows.into_iter().collect())
        })
    }

    pub async fn save_setting(&self, key: &str, value: &str) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}
