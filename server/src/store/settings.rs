//! Settings changed in the browser, over defaults from the configuration.

use std::collections::HashMap;

use domain::PipelineSettings;

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

    /// The pipeline's settings: those saved in the browser over `defaults` (the configuration's).
    pub async fn merged_settings(&self, defaults: &PipelineSettings) -> Result<PipelineSettings> {
        let saved = self.settings().await?;
        let get = |key: &str, default: &str| saved.get(key).cloned().unwrap_or_else(|| default.to_string());
        Ok(PipelineSettings {
            owner_suffix: get("owner_suffix", &defaults.owner_suffix),
            runtime_kernel: get("runtime_kernel", &defaults.runtime_kernel),
            runtime_editor: get("runtime_editor", &defaults.runtime_editor),
            runtime_edition: get("runtime_edition", &defaults.runtime_edition),
            accuracy_key: get("accuracy_key", &defaults.accuracy_key),
            recall_key: get("recall_key", &defaults.recall_key),
            gate_accuracy_margin: get("gate_accuracy_margin", &defaults.gate_accuracy_margin),
            gate_recall_margin: get("gate_recall_margin", &defaults.gate_recall_margin),
        })
    }
}
