-- MLflow keeps one copy of a metric point: logging the same (key, value, timestamp, step) again
-- — as MLflow 3's log_model does when it links the run's metrics to the logged model — adds
-- nothing to the run's history. Copies logged before this are removed.
DELETE FROM run_metrics WHERE rowid NOT IN (SELECT MIN(rowid) FROM run_metrics GROUP BY run_id, key, value, is_nan, timestamp, step);
CREATE UNIQUE INDEX run_metrics_point ON run_metrics (run_id, key, timestamp, step, value, is_nan);

-- Metrics linked to a logged model (a metric logged with a model_id), as MLflow's store keeps them.
CREATE TABLE logged_model_metrics (
    model_id  TEXT NOT NULL,
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     NOT NULL,
    is_nan    INTEGER NOT NULL DEFAULT 0,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (model_id, run_id, key, timestamp, step, value, is_nan)
);
