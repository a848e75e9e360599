-- MLflow tracking (what real `mlflow` clients log), the model registry, models, builds and
-- deployments.
CREATE TABLE experiments (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
    tags              TEXT NOT NULL DEFAULT '{}',
    creator           TEXT NOT NULL,
    created_at        INTEGER NOT NULL,  -- epoch ms, as MLflow keeps them
    updated_at        INTEGER NOT NULL
);

CREATE TABLE experiment_runs (
    id              TEXT PRIMARY KEY,
    experiment_id   TEXT NOT NULL REFERENCES experiments (id),
    name            TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL,       -- MLflow's RUNNING / SCHEDULED / FINISHED / FAILED / KILLED
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX experiment_runs_experiment ON experiment_runs (experiment_id, start_time);

CREATE TABLE run_params (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE run_tags (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE run_metrics (
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     REAL NOT NULL,
    timestamp INTEGER NOT NULL,
    step      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX run_metrics_run ON run_metrics (run_id, key);

CREATE TABLE logged_models (
    id                TEXT PRIMARY KEY,
    experiment_id     TEXT NOT NULL,
    name              TEXT NOT NULL,
    source_run_id     TEXT NOT NULL DEFAULT '',
    model_type        TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    artifact_location TEXT NOT NULL,
    tags              TEXT NOT NULL DEFAULT '{}',
    params            TEXT NOT NULL DEFAULT '{}',
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX logged_models_run ON logged_models (source_run_id);

CREATE TABLE registered_models (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    creator     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE model_versions (
    id              TEXT PRIMARY KEY,
    model_id        TEXT NOT NULL REFERENCES registered_models (id),
    number          INTEGER NOT NULL,
    project_id      TEXT NOT NULL,
    experiment_id   TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    model_path      TEXT NOT NULL,
    -- The model's files, copied at registration so the version never changes.
    artifact_dir    TEXT NOT NULL,
    status          TEXT NOT NULL,
    notes           TEXT NOT NULL DEFAULT '',
    creator         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (model_id, number)
);

CREATE TABLE models (
    id                  TEXT PRIMARY KEY,
    project_id          TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    access_key          TEXT NOT NULL UNIQUE,
    auth_enabled        INTEGER NOT NULL,
    registered_model_id TEXT NOT NULL DEFAULT '',
    creator             TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE model_builds (
    id                          TEXT PRIMARY KEY,
    model_id                    TEXT NOT NULL REFERENCES models (id),
    project_id                  TEXT NOT NULL,
    registered_model_version_id TEXT NOT NULL,
    runtime_identifier          TEXT NOT NULL,
    comment                     TEXT NOT NULL DEFAULT '',
    status                      TEXT NOT NULL,
    message                     TEXT NOT NULL DEFAULT '',
    creator                     TEXT NOT NULL,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL,
    built_at                    TEXT
);
CREATE INDEX model_builds_model ON model_builds (model_id, created_at);

CREATE TABLE model_deployments (
    id          TEXT PRIMARY KEY,
    model_id    TEXT NOT NULL REFERENCES models (id),
    build_id    TEXT NOT NULL REFERENCES model_builds (id),
    project_id  TEXT NOT NULL,
    cpu         REAL NOT NULL,
    memory      REAL NOT NULL,
    replicas    INTEGER NOT NULL,
    environment TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    deployer    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    stopped_at  TEXT
);
CREATE INDEX model_deployments_build ON model_deployments (build_id, created_at);
