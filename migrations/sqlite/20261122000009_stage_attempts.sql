-- Retries: a stage may run several times in one pipeline run, each attempt its own job run with
-- its own status, times and log. The pipeline run's status follows the latest attempt at each
-- stage. SQLite cannot change a primary key in place: the table is rebuilt.
CREATE TABLE stage_attempts (
    pipeline_run_id INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    stage           INTEGER NOT NULL,                -- 0 New Batch, 1 Retrain, 2 Redeploy
    attempt         INTEGER NOT NULL DEFAULT 1,      -- 1 the chain's own run, 2.. retries
    job_id          TEXT NOT NULL,
    job_run_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,                   -- CML's EngineStatus
    created_at      TEXT NOT NULL,
    running_at      TEXT,
    finished_at     TEXT,
    log_path        TEXT,
    log_tail        TEXT,
    log_final       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pipeline_run_id, stage, attempt)
);
INSERT INTO stage_attempts (pipeline_run_id, stage, attempt, job_id, job_run_id, status, created_at, running_at, finished_at, log_path, log_tail, log_final)
    SELECT pipeline_run_id, stage, 1, job_id, job_run_id, status, created_at, running_at, finished_at, log_path, log_tail, log_final FROM stage_runs;
DROP TABLE stage_runs;
ALTER TABLE stage_attempts RENAME TO stage_runs;
