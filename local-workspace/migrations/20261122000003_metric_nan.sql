-- Metric values read back exactly as they were logged.
-- * SQLite stores a NaN REAL as NULL: as in MLflow's SQL store, a NaN is kept as value 0 with
--   is_nan set.
-- * A column of REAL affinity stores integral values as integers, which turns -0.0 into 0: the
--   value column has no declared type (no affinity), so a double is stored as the double sent.
CREATE TABLE run_metrics_exact (
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     NOT NULL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO run_metrics_exact (run_id, key, value, timestamp, step) SELECT run_id, key, value, timestamp, step FROM run_metrics;
DROP TABLE run_metrics;
ALTER TABLE run_metrics_exact RENAME TO run_metrics;
CREATE INDEX run_metrics_run ON run_metrics (run_id, key);
