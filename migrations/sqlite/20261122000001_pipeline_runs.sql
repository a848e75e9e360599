-- Pipeline runs: a New Batch job run and the Retrain and Redeploy runs it caused, with the
-- lineage Lakeline resolved for them. CML keeps the job runs; Lakeline keeps the grouping.
CREATE TABLE pipeline_runs (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    status                 TEXT NOT NULL,            -- running, succeeded, failed, stopped, timedout, incomplete
    triggered_by           TEXT NOT NULL,
    source                 TEXT NOT NULL,            -- lakeline | external
    created_at             TEXT NOT NULL,
    finished_at            TEXT,
    updated_at             TEXT NOT NULL,
    snapshot_id            TEXT,
    parent_snapshot_id     TEXT,
    snapshot_committed_at  TEXT,
    rows_added             INTEGER,
    source_table           TEXT,
    experiment_id          TEXT,
    experiment_run_id      TEXT,
    accuracy               REAL,
    recall                 REAL,
    row_count              TEXT,
    registered_model_id    TEXT,
    model_version_id       TEXT,
    model_version_number   INTEGER,
    model_id               TEXT,
    build_id               TEXT,
    deployment_id          TEXT,
    deployment_status      TEXT,
    -- Set once the lineage of a finished run has been resolved (or found unresolvable).
    lineage_resolved       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX pipeline_runs_created ON pipeline_runs (created_at DESC);
CREATE INDEX pipeline_runs_status ON pipeline_runs (status, created_at DESC);
CREATE INDEX pipeline_runs_snapshot ON pipeline_runs (snapshot_id);

CREATE TABLE stage_runs (
    pipeline_run_id INTEGER NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    stage           INTEGER NOT NULL,                -- 0 New Batch, 1 Retrain, 2 Redeploy
    job_id          TEXT NOT NULL,
    job_run_id      TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL,                   -- CML's EngineStatus
    created_at      TEXT NOT NULL,
    running_at      TEXT,
    finished_at     TEXT,
    PRIMARY KEY (pipeline_run_id, stage)
);

-- Settings changed in the browser (owner suffix, runtime lookup, quality keys).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
